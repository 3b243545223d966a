//! Static files (the consent page and the seal-only bundle) prepared once per
//! content: a strong ETag (SHA-256 of the bytes), and gzip and brotli variants
//! for compressible types, kept in memory next to the original bytes.
//!
//! Only these files are ever compressed. API responses are not: they mix
//! secrets (tokens, ciphertext) with attacker-influenced input in one body,
//! which is what BREACH-style length oracles need. The files here are the same
//! for every client and carry nothing secret.
//!
//! Every file of the directory is prepared at start ([`Assets::new`], on a
//! background thread, smallest files first): gzip (level 9) and brotli
//! (quality 11) are ready before the first visit, and a request for a file
//! still being prepared waits for it rather than getting a lesser coding.
//! Files on disk are re-checked (length and modification time) on every
//! request, so an edited page is picked up without a restart; a new version is
//! prepared on its first request (gzip and, for small files, brotli at once;
//! brotli of larger files in the background, served as soon as it is ready).
//! Embedded files never change. [`Assets::lazy`] skips the start-time work
//! (a directory whose files few visits need).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use axum::body::Bytes;
use base64::Engine;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};

/// Files up to this size are brotli-compressed before the first answer.
const BROTLI_INLINE_MAX: usize = 64 * 1024;
/// Files larger than this are served uncompressed (nothing in the page comes close).
const COMPRESS_MAX: usize = 16 * 1024 * 1024;
/// brotli quality: the best ratio; the work is done once per file version.
const BROTLI_QUALITY: i32 = 11;
/// brotli window (log2), the encoder's default and what every browser supports.
const BROTLI_LGWIN: i32 = 22;
/// Longest a request waits for the start-time preparation of its file.
pub(crate) const WARM_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Where the files come from.
#[derive(Debug, Clone)]
pub enum AssetDir {
    /// Files read from this directory (re-checked on each request).
    Disk(PathBuf),
    /// Files embedded in the binary at build time (`embed` feature).
    Embedded(&'static [(&'static str, &'static [u8])]),
}

/// Content coding of a served variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// The file bytes as they are.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: br`.
    Brotli,
}

impl Coding {
    /// The `Content-Encoding` token (`None` for identity).
    pub fn token(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// One version of one file, with its compressed variants.
#[derive(Debug)]
pub struct Prepared {
    /// The file bytes.
    pub bytes: Bytes,
    /// gzip of `bytes`, when the type compresses and the result is smaller.
    pub gzip: Option<Bytes>,
    /// brotli of `bytes` once computed (`Some(None)`: not worth it or not compressible).
    pub brotli: OnceLock<Option<Bytes>>,
    /// Base of the ETags: unpadded base64url of the first 16 bytes of SHA-256(bytes).
    hash: String,
    /// Length and modification time of the file on disk (`None` when embedded).
    validator: Option<(u64, Option<SystemTime>)>,
    /// Something derived from `bytes` once (which files the consent page takes in, `page.rs`; see [`Prepared::derived`]).
    derived: OnceLock<String>,
}

impl Prepared {
    /// The variant to send for `coding`, if it exists.
    pub fn variant(&self, coding: Coding) -> Option<&Bytes> {
        match coding {
            Coding::Identity => Some(&self.bytes),
            Coding::Gzip => self.gzip.as_ref(),
            Coding::Brotli => self.brotli.get().and_then(Option::as_ref),
        }
    }

    /// `derive(bytes)`, computed on first use and kept with this version of the file.
    pub fn derived(&self, derive: impl FnOnce(&[u8]) -> String) -> &str {
        self.derived.get_or_init(|| derive(&self.bytes))
    }

    /// Strong ETag of the variant: each content coding is its own representation.
    pub fn etag(&self, coding: Coding) -> String {
        match coding {
            Coding::Identity => format!("\"{}\"", self.hash),
            Coding::Gzip => format!("\"{}.gz\"", self.hash),
            Coding::Brotli => format!("\"{}.br\"", self.hash),
        }
    }
}

/// Media types worth compressing (text, JSON, SVG, WebAssembly).
pub fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/wasm")
        || content_type.starts_with("image/svg+xml")
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 2), flate2::Compression::best());
    enc.write_all(data).ok()?;
    enc.finish().ok()
}

/// brotli of `data` at [`BROTLI_QUALITY`], window [`BROTLI_LGWIN`].
fn brotli(data: &[u8]) -> Option<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_LGWIN,
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(data.len() / 2);
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
    Some(out)
}

/// brotli of `data` (quality 0-11, window [`BROTLI_LGWIN`]) as one part of a
/// stream that [`brotli_cat`] joins: the `first` part may use brotli's
/// built-in dictionary and takes others after it; a later part is compressed
/// on its own and without that dictionary, so that its distances mean the
/// same wherever it lands. `None` for empty `data`: joined, an empty part
/// can leave a stream that does not decode (`brotli` 8.0.4), so there is
/// none to join.
pub(crate) fn brotli_part(data: &[u8], quality: i32, first: bool) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    let mut params =
        brotli::enc::BrotliEncoderParams { quality, lgwin: BROTLI_LGWIN, size_hint: data.len(), ..Default::default() };
    params.appendable = true;
    params.catable = !first;
    params.use_dictionary = first;
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
    Some(out)
}

/// One brotli stream of the data of `parts` in order, each made by
/// [`brotli_part`] (the first with `first`): their bytes are copied, not
/// compressed again (only the bits at each seam move). `None` if a part was
/// not made for it.
pub(crate) fn brotli_cat(parts: &[&[u8]]) -> Option<Vec<u8>> {
    use brotli::concat::{BroCatli, BroCatliResult};
    let mut cat = BroCatli::new();
    // The output is at most the parts and a few bytes per seam.
    let mut out = vec![0u8; parts.iter().map(|p| p.len() + 8).sum::<usize>() + 8];
    let mut written = 0;
    for part in parts {
        cat.new_brotli_file();
        let mut read = 0;
        while read < part.len() {
            let before = read;
            match cat.stream(part, &mut read, &mut out, &mut written) {
                BroCatliResult::NeedsMoreInput if read > before => {}
                _ => return None,
            }
        }
    }
    match cat.finish(&mut out, &mut written) {
        BroCatliResult::Success => {
            out.truncate(written);
            Some(out)
        }
        _ => None,
    }
}

/// The start of a gzip member made in two steps: `data` deflated once (best
/// level) and flushed to a byte boundary without a last block, with its
/// CRC-32 and length; [`gzip_join`] adds the rest of the text per use.
#[derive(Debug)]
pub(crate) struct GzipHead {
    deflate: Vec<u8>,
    crc: u32,
    len: u64,
}

/// [`GzipHead`] of `data`.
pub(crate) fn gzip_head(data: &[u8]) -> Option<GzipHead> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::with_capacity(data.len() / 3), flate2::Compression::best());
    enc.write_all(data).ok()?;
    // A sync flush: everything so far, byte-aligned, and no last block.
    enc.flush().ok()?;
    let deflate = std::mem::take(enc.get_mut());
    Some(GzipHead { deflate, crc: crc32fast::hash(data), len: data.len() as u64 })
}

/// One gzip member of `head`'s text followed by `tail` (compressed now, at
/// the default level, as blocks of their own).
pub(crate) fn gzip_join(head: &GzipHead, tail: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc =
        flate2::write::DeflateEncoder::new(Vec::with_capacity(tail.len() / 2 + 16), flate2::Compression::default());
    enc.write_all(tail).ok()?;
    let rest = enc.finish().ok()?;
    // The head's CRC-32 carried on over the tail.
    let mut crc = crc32fast::Hasher::new_with_initial_len(head.crc, head.len);
    crc.update(tail);
    // Modulo 2^32, as gzip's ISIZE.
    let len = (head.len + tail.len() as u64) as u32;
    // ID1 ID2, deflate, no flags, no time, no extra flags, unknown OS.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.reserve(head.deflate.len() + rest.len() + 8);
    out.extend_from_slice(&head.deflate);
    out.extend_from_slice(&rest);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    Some(out)
}

/// Keep a compressed variant only when it is smaller than the original.
fn smaller(original: usize, compressed: Option<Vec<u8>>) -> Option<Bytes> {
    compressed.filter(|c| c.len() < original).map(Bytes::from)
}

/// Hash and gzip `bytes` (and brotli when small, or always with `full`);
/// blocking, run off the async workers.
fn prepare(bytes: Bytes, compress: bool, validator: Option<(u64, Option<SystemTime>)>) -> Prepared {
    prepare_with(bytes, compress, validator, false)
}

fn prepare_with(bytes: Bytes, compress: bool, validator: Option<(u64, Option<SystemTime>)>, full: bool) -> Prepared {
    let digest = Sha256::digest(&bytes);
    let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    let compress = compress && bytes.len() <= COMPRESS_MAX && !bytes.is_empty();
    let gzip = if compress { smaller(bytes.len(), gzip(&bytes)) } else { None };
    let brotli_cell = OnceLock::new();
    if !compress {
        let _ = brotli_cell.set(None);
    } else if full || bytes.len() <= BROTLI_INLINE_MAX {
        let _ = brotli_cell.set(smaller(bytes.len(), brotli(&bytes)));
    }
    Prepared { bytes, gzip, brotli: brotli_cell, hash, validator, derived: OnceLock::new() }
}

/// A directory of static files and the prepared versions served so far.
#[derive(Debug)]
pub struct Assets {
    dir: AssetDir,
    cache: Arc<Mutex<HashMap<String, Arc<Prepared>>>>,
    /// One background brotli job at a time (the machine may be small).
    background: Arc<Semaphore>,
    /// Files the start-time preparation has not reached yet, and its wake-up.
    warming: Arc<(Mutex<HashSet<String>>, Notify)>,
}

impl Assets {
    /// Serve the files of `dir`, all of them prepared (gzip and brotli) at
    /// once on a background thread.
    pub fn new(dir: AssetDir) -> Self {
        let assets = Self::lazy(dir);
        assets.warm();
        assets
    }

    /// Serve the files of `dir`, each prepared on its first request.
    pub fn lazy(dir: AssetDir) -> Self {
        Self {
            dir,
            cache: Arc::new(Mutex::new(HashMap::new())),
            background: Arc::new(Semaphore::new(1)),
            warming: Arc::new((Mutex::new(HashSet::new()), Notify::new())),
        }
    }

    /// Prepare every servable file of the directory, smallest first, on a thread.
    fn warm(&self) {
        let mut files: Vec<(String, u64)> = match &self.dir {
            AssetDir::Embedded(files) => files.iter().map(|(n, b)| ((*n).to_owned(), b.len() as u64)).collect(),
            AssetDir::Disk(dir) => std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter_map(|e| {
                            let meta = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
                            Some((e.file_name().into_string().ok()?, meta.len()))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        files.retain(|(n, _)| crate::web::safe_name(n));
        if files.is_empty() {
            return;
        }
        files.sort_by_key(|(n, len)| (*len, n.clone()));
        if let Ok(mut pending) = self.warming.0.lock() {
            pending.extend(files.iter().map(|(n, _)| n.clone()));
        }
        let (dir, cache, warming) = (self.dir.clone(), self.cache.clone(), self.warming.clone());
        let spawned = std::thread::Builder::new().name("assets-warm".into()).spawn(move || {
            let started = std::time::Instant::now();
            for (name, _) in &files {
                if let Some(prepared) = read_sync(&dir, name) {
                    let prepared = Arc::new(prepared);
                    if let Ok(mut cache) = cache.lock() {
                        // A request that prepared the same version meanwhile has no brotli yet: replace it.
                        cache.insert(name.clone(), prepared);
                    }
                }
                if let Ok(mut pending) = warming.0.lock() {
                    pending.remove(name);
                }
                warming.1.notify_waiters();
            }
            tracing::debug!(
                files = files.len(),
                millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "static files prepared"
            );
        });
        if spawned.is_err() {
            // No thread: each file is prepared on its first request instead.
            if let Ok(mut pending) = self.warming.0.lock() {
                pending.clear();
            }
        }
    }

    /// Wait (bounded) until the start-time preparation has done `name`.
    async fn warmed(&self, name: &str) {
        let (pending, notify) = &*self.warming;
        let wait = async {
            loop {
                let notified = notify.notified();
                if !pending.lock().map(|p| p.contains(name)).unwrap_or(false) {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(WARM_WAIT, wait).await;
    }

    /// Where the files come from.
    pub fn dir(&self) -> &AssetDir {
        &self.dir
    }

    fn cached(&self, name: &str) -> Option<Arc<Prepared>> {
        self.cache.lock().ok()?.get(name).cloned()
    }

    /// The prepared file `name` (a single, already validated path segment) of
    /// media type `content_type`; `None` if there is no such regular file.
    pub async fn get(&self, name: &str, content_type: &str) -> Option<Arc<Prepared>> {
        self.get_as(name, name, content_type, None).await
    }

    /// The file `source` (a WebAssembly module) as the JavaScript module
    /// `export default "<base64 of the bytes>";`, prepared and cached like a
    /// file of its own under `name`: a page whose CSP has `connect-src 'none'`
    /// imports it as a script (script-src 'self') instead of fetching the .wasm.
    pub async fn wasm_as_module(&self, name: &str, source: &str) -> Option<Arc<Prepared>> {
        self.get_as(name, source, "text/javascript; charset=utf-8", Some(wasm_module_text)).await
    }

    async fn get_as(
        &self,
        name: &str,
        source: &str,
        content_type: &str,
        transform: Option<fn(&[u8]) -> Vec<u8>>,
    ) -> Option<Arc<Prepared>> {
        self.warmed(name).await;
        let (bytes, validator) = match &self.dir {
            AssetDir::Embedded(files) => {
                if let Some(p) = self.cached(name) {
                    return Some(p);
                }
                let (_, b) = files.iter().find(|(n, _)| *n == source)?;
                (Bytes::from_static(b), None)
            }
            AssetDir::Disk(dir) => {
                let path = dir.join(source);
                // Regular files only: no directories, devices or fifos.
                let meta = tokio::fs::metadata(&path).await.ok()?;
                if !meta.is_file() {
                    return None;
                }
                let validator = Some((meta.len(), meta.modified().ok()));
                if let Some(p) = self.cached(name).filter(|p| p.validator == validator) {
                    return Some(p);
                }
                let bytes = tokio::fs::read(&path).await.ok()?;
                // Stamp the version with the metadata seen before the read: if the
                // file changes meanwhile, the next request sees new metadata.
                (Bytes::from(bytes), validator)
            }
        };
        let compress = compressible(content_type);
        let prepared = tokio::task::spawn_blocking(move || {
            let bytes = match transform {
                Some(f) => Bytes::from(f(&bytes)),
                None => bytes,
            };
            prepare(bytes, compress, validator)
        })
        .await
        .ok()?;
        let prepared = Arc::new(prepared);
        let winner = {
            let mut cache = self.cache.lock().ok()?;
            match cache.get(name) {
                // Another request prepared the same version meanwhile: keep one.
                Some(existing) if existing.validator == prepared.validator && existing.hash == prepared.hash => {
                    existing.clone()
                }
                _ => {
                    cache.insert(name.to_owned(), prepared.clone());
                    prepared
                }
            }
        };
        if winner.brotli.get().is_none() {
            self.brotli_in_background(winner.clone());
        }
        Some(winner)
    }

    fn brotli_in_background(&self, prepared: Arc<Prepared>) {
        let semaphore = self.background.clone();
        // Outside a runtime (unit tests) there is nothing to spawn on: identity/gzip only.
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        handle.spawn(async move {
            let Ok(_permit) = semaphore.acquire_owned().await else { return };
            if prepared.brotli.get().is_some() {
                return;
            }
            let job = prepared.clone();
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || smaller(job.bytes.len(), brotli(&job.bytes))).await;
            let result = result.unwrap_or(None);
            tracing::debug!(
                bytes = prepared.bytes.len(),
                brotli = result.as_ref().map(Bytes::len),
                millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "brotli variant ready"
            );
            let _ = prepared.brotli.set(result);
        });
    }
}

/// `export default "<standard base64 of wasm>";` (see [`Assets::wasm_as_module`]).
fn wasm_module_text(wasm: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(wasm);
    format!(
        "// The WebAssembly module, base64 (served by the broker from the .wasm file).\nexport default \"{b64}\";\n"
    )
    .into_bytes()
}

/// Read and fully prepare (brotli included) the file `name` of `dir`; blocking.
fn read_sync(dir: &AssetDir, name: &str) -> Option<Prepared> {
    let compress = compressible(crate::web::content_type(name));
    match dir {
        AssetDir::Embedded(files) => {
            let (_, b) = files.iter().find(|(n, _)| *n == name)?;
            Some(prepare_with(Bytes::from_static(b), compress, None, true))
        }
        AssetDir::Disk(dir) => {
            let path = dir.join(name);
            let meta = std::fs::metadata(&path).ok().filter(std::fs::Metadata::is_file)?;
            let validator = Some((meta.len(), meta.modified().ok()));
            let bytes = std::fs::read(&path).ok()?;
            Some(prepare_with(Bytes::from(bytes), compress, validator, true))
        }
    }
}

/// Parse `Accept-Encoding` values: the quality given to `coding` (0 when absent).
fn quality(values: &[&str], coding: &str) -> f32 {
    let mut explicit = None;
    let mut star = None;
    for element in values.iter().flat_map(|v| v.split(',')) {
        let mut parts = element.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                // An unreadable weight counts as "not acceptable".
                q = v.trim().parse::<f32>().ok().filter(|q| q.is_finite()).unwrap_or(0.0).clamp(0.0, 1.0);
            }
        }
        let matches = token.eq_ignore_ascii_case(coding) || (coding == "gzip" && token.eq_ignore_ascii_case("x-gzip"));
        if matches {
            explicit = Some(explicit.map_or(q, |e: f32| e.max(q)));
        } else if token == "*" {
            star = Some(q);
        }
    }
    explicit.or(star).unwrap_or(0.0)
}

/// The coding to answer with: the client's preferred one among the variants
/// that exist, brotli before gzip on equal weight; identity otherwise.
pub fn negotiate(accept_encoding: &[&str], prepared: &Prepared) -> Coding {
    negotiate_among(accept_encoding, |c| prepared.variant(c).is_some())
}

/// The client's preferred coding among those `available` says can be sent,
/// brotli before gzip on equal weight; identity otherwise.
pub fn negotiate_among(accept_encoding: &[&str], available: impl Fn(Coding) -> bool) -> Coding {
    let mut best = (0.0f32, Coding::Identity);
    for coding in [Coding::Brotli, Coding::Gzip] {
        let Some(token) = coding.token() else { continue };
        if !available(coding) {
            continue;
        }
        let q = quality(accept_encoding, token);
        if q > best.0 {
            best = (q, coding);
        }
    }
    best.1
}

/// Whether an `If-None-Match` header (values as sent) matches `etag` (weak comparison).
pub fn none_match(values: &[&str], etag: &str) -> bool {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(n: usize) -> Bytes {
        Bytes::from("export const greeting = 'hello, sealpost';\n".repeat(n))
    }

    #[test]
    fn variants_decode_to_the_original() {
        use std::io::Read;
        let p = prepare(text(100), true, None);
        let gz = p.gzip.as_ref().unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, p.bytes);
        let br = p.brotli.get().unwrap().as_ref().unwrap();
        let mut out = Vec::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut out).unwrap();
        assert_eq!(out, p.bytes);
        assert!(br.len() < gz.len() && gz.len() < p.bytes.len());
    }

    fn unbrotli(data: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        brotli::Decompressor::new(data, 4096).read_to_end(&mut out).unwrap();
        out
    }

    mod brotli_join {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            /// Parts joined by `brotli_cat` decode to their data in order,
            /// whatever the parts (one byte, text that repeats across a seam,
            /// noise) and qualities. (30,000 cases of it passed once.)
            #[test]
            fn brotli_parts_join_into_one_stream(
                parts in proptest::collection::vec(
                    prop_oneof![
                        proptest::collection::vec(any::<u8>(), 1..300),
                        (1usize..400).prop_map(|n| "<p>the same words on each side of a seam</p>\n".repeat(n).into_bytes()),
                    ],
                    1..5,
                ),
                qualities in proptest::collection::vec(0i32..=11, 5),
            ) {
                let coded: Vec<Vec<u8>> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| brotli_part(p, qualities[i], i == 0).unwrap())
                    .collect();
                let refs: Vec<&[u8]> = coded.iter().map(Vec::as_slice).collect();
                let joined = brotli_cat(&refs).unwrap();
                prop_assert_eq!(unbrotli(&joined), parts.concat());
                prop_assert!(joined.len() <= coded.iter().map(Vec::len).sum::<usize>() + 2);
            }
        }
    }

    #[test]
    fn gzip_head_and_tail_make_one_member() {
        use std::io::Read;
        let page = "<p>the same words on each side of the seam</p>\n".repeat(300);
        let head = gzip_head(page.as_bytes()).unwrap();
        for tail in ["", "x", "<p>the same words on each side of the seam</p>\n<script>{\"status\":404}</script>\n"] {
            let z = gzip_join(&head, tail.as_bytes()).unwrap();
            // One member (a decoder of the first member alone sees it all), CRC and length checked by the decoder.
            let mut out = String::new();
            flate2::read::GzDecoder::new(&z[..]).read_to_string(&mut out).unwrap();
            assert_eq!(out, format!("{page}{tail}"));
            assert!(z.len() * 10 < page.len(), "{} of {}", z.len(), page.len());
        }
        // A wrong CRC would be refused: the check is real.
        let mut z = gzip_join(&head, b"tail").unwrap();
        let at = z.len() - 8;
        z[at] ^= 1;
        assert!(flate2::read::GzDecoder::new(&z[..]).read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn brotli_cat_refuses_parts_not_made_for_it() {
        let page = "<p>a page that is long enough to compress</p>\n".repeat(50);
        // A later part made as a whole stream (with the dictionary, a last block).
        let whole = {
            let params = brotli::enc::BrotliEncoderParams { quality: 5, lgwin: BROTLI_LGWIN, ..Default::default() };
            let mut out = Vec::new();
            brotli::BrotliCompress(&mut page.as_bytes(), &mut out, &params).unwrap();
            out
        };
        let first = brotli_part(page.as_bytes(), 5, true).unwrap();
        assert_eq!(brotli_cat(&[&first, &whole]), None);
        // A first part made as a whole stream takes nothing after it.
        let later = brotli_part(page.as_bytes(), 5, false).unwrap();
        assert_eq!(brotli_cat(&[&whole, &later]), None);
        // No empty part: joined after this one, it left a stream that did not decode.
        let text = "<p>the same words on each side of a seam</p>\n".repeat(288);
        assert_eq!(brotli_part(b"", 0, false), None);
        assert_eq!(brotli_part(b"", 5, true), None);
        assert_eq!(unbrotli(&brotli_cat(&[&brotli_part(text.as_bytes(), 0, true).unwrap()]).unwrap()), text.as_bytes());
        // Garbage is refused, not a panic.
        assert_eq!(brotli_cat(&[&first, &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]), None);
        // The first part's dictionary use does not leak into a joined stream's meaning.
        let second = brotli_part(page.as_bytes(), 11, false).unwrap();
        assert_eq!(unbrotli(&brotli_cat(&[&first, &second]).unwrap()), [page.as_bytes(), page.as_bytes()].concat());
    }

    #[test]
    fn incompressible_or_tiny_files_have_no_variants() {
        let p = prepare(text(100), false, None);
        assert!(p.gzip.is_none() && p.brotli.get() == Some(&None));
        let p = prepare(Bytes::from_static(b"x"), true, None);
        assert!(p.gzip.is_none(), "gzip of one byte is larger");
        assert!(compressible("application/wasm") && compressible("text/html; charset=utf-8"));
        assert!(!compressible("image/png") && !compressible("font/woff2") && !compressible("application/octet-stream"));
    }

    #[test]
    fn etags_are_strong_per_coding_and_follow_the_content() {
        let a = prepare(text(10), true, None);
        let b = prepare(text(11), true, None);
        assert_ne!(a.etag(Coding::Identity), b.etag(Coding::Identity));
        assert_eq!(a.etag(Coding::Identity), prepare(text(10), true, None).etag(Coding::Identity));
        let tags = [a.etag(Coding::Identity), a.etag(Coding::Gzip), a.etag(Coding::Brotli)];
        assert!(tags.iter().all(|t| t.starts_with('"') && t.ends_with('"') && !t.starts_with("W/")));
        assert!(tags[0] != tags[1] && tags[1] != tags[2]);
    }

    #[test]
    fn accept_encoding_negotiation() {
        let p = prepare(text(100), true, None);
        let pick = |v: &[&str]| negotiate(v, &p);
        assert_eq!(pick(&[]), Coding::Identity);
        assert_eq!(pick(&["identity"]), Coding::Identity);
        assert_eq!(pick(&["gzip"]), Coding::Gzip);
        assert_eq!(pick(&["x-gzip"]), Coding::Gzip);
        assert_eq!(pick(&["gzip, deflate, br, zstd"]), Coding::Brotli);
        assert_eq!(pick(&["gzip", "br"]), Coding::Brotli);
        assert_eq!(pick(&["br;q=0.5, gzip;q=0.8"]), Coding::Gzip);
        assert_eq!(pick(&["br;q=0, gzip"]), Coding::Gzip);
        assert_eq!(pick(&["gzip;q=0, br;q=0"]), Coding::Identity);
        assert_eq!(pick(&["*"]), Coding::Brotli);
        assert_eq!(pick(&["*;q=0, gzip"]), Coding::Gzip);
        assert_eq!(pick(&["GZIP; Q=1"]), Coding::Gzip);
        assert_eq!(pick(&["gzip;q=bogus"]), Coding::Identity);
        assert_eq!(pick(&["deflate"]), Coding::Identity);
        // A variant that does not exist is never chosen.
        let plain = prepare(text(100), false, None);
        assert_eq!(negotiate(&["br, gzip"], &plain), Coding::Identity);
    }

    #[test]
    fn if_none_match_forms() {
        let etag = "\"abc\"";
        assert!(none_match(&["\"abc\""], etag));
        assert!(none_match(&["W/\"abc\""], etag));
        assert!(none_match(&["\"x\", \"abc\""], etag));
        assert!(none_match(&["\"x\"", "\"abc\""], etag));
        assert!(none_match(&["*"], etag));
        assert!(!none_match(&["\"abc.gz\""], etag));
        assert!(!none_match(&["abc"], etag));
        assert!(!none_match(&[], etag));
    }
}
