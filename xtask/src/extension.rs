//! Packaging of the browser extension (`extension/`), the last step of
//! `cargo xtask build` and all of `cargo xtask extension` (re-package only,
//! no WASM build, when `dist/full` exists).
//!
//! Each package (`dist/extension/chromium/`, `dist/extension/firefox/`) holds:
//! - everything in `extension/` except `README.md`, tests and dot files;
//! - every `www/*.js` and `www/*.css` except `main.js`, under `www/` (the
//!   consent modules the answer page imports);
//! - the full WASM bundle (`dist/full/sealpost_wasm.js` + `_bg.wasm`) under `pkg/`
//!   (the JWT inspector);
//! - the seal-only bundle (`dist/seal/…`, a third of the size: seal, sealJwe,
//!   fingerprint, userCode) under `pkg-seal/`, for the popup and the answer
//!   page, which load it on every open.
//!
//! `extension/manifest.json` is the one manifest source, in its Chromium form;
//! the Firefox manifest is derived from it here ([`firefox_manifest`]). Both
//! directories are also written as deterministic zips (sorted entries, fixed
//! timestamps): `dist/sealpost-extension-chromium.zip` and
//! `dist/sealpost-extension-firefox.zip`.

use crate::build::{STEM, file_len};
use crate::{Args, Result, root};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use serde_json::{Value, json};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The Firefox add-on id (`browser_specific_settings.gecko.id`).
pub const GECKO_ID: &str = "sealpost@sealpost.dev";
/// The oldest Firefox that has every API and manifest key the extension uses:
/// `data_collection_permissions` (140) is the newest; MV3 `background.scripts`
/// with `type: "module"`, `optional_host_permissions`, host permissions granted
/// at install (127), `action`, `alarms` with a 30 s period, `notifications`,
/// `contextMenus`, `activeTab` and `storage.local` are all older.
pub const FIREFOX_MIN_VERSION: &str = "140.0";
/// Firefox for Android reads `data_collection_permissions` from 142 on.
pub const FIREFOX_ANDROID_MIN_VERSION: &str = "142.0";
/// Manifest keys only Chromium reads (Firefox's linter warns on them).
const CHROMIUM_ONLY_KEYS: &[&str] = &["key", "minimum_chrome_version"];

/// `cargo xtask extension [--dist DIR]`: re-package from `extension/`, `www/` and
/// an existing `DIR/full` (default `dist/`) without building WASM.
pub fn cmd_extension(args: &[String]) -> Result<()> {
    let mut args = Args::new(args);
    let dist = args.value("--dist")?.map(PathBuf::from).unwrap_or_else(|| root().join("dist"));
    args.finish()?;
    package(&dist).map(|_| ())
}

/// One written package: its directory, its zip and the zip's size.
#[derive(Debug)]
pub struct Package {
    pub browser: &'static str,
    pub dir: PathBuf,
    pub zip: PathBuf,
    pub zip_len: u64,
    pub files: usize,
}

impl Package {
    pub fn line(&self) -> String {
        format!(
            "extension {}: {} ({} files), {} ({} bytes)",
            self.browser,
            self.dir.display(),
            self.files,
            self.zip.display(),
            self.zip_len
        )
    }
}

/// Writes both packages and zips under `dist` from `dist/full` and `dist/seal`; prints their sizes.
pub fn package(dist: &Path) -> Result<Vec<Package>> {
    let src = root().join("extension");
    let bundles = [("pkg", dist.join("full"), "full"), ("pkg-seal", dist.join("seal"), "seal")];
    for (_, bundle, only) in &bundles {
        for f in [format!("{STEM}.js"), format!("{STEM}_bg.wasm")] {
            if !bundle.join(&f).is_file() {
                return Err(format!(
                    "{} missing: build the WASM bundle first (`cargo xtask build --only {only}`)",
                    bundle.join(f).display()
                ));
            }
        }
    }
    let manifest_text = read_to_string(&src.join("manifest.json"))?;
    let manifest: Value = serde_json::from_str(&manifest_text).map_err(|e| format!("extension/manifest.json: {e}"))?;
    check_manifest(&manifest)?;

    // (path inside the package, source file), sorted by package path.
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    collect(&src, &src, &mut files)?;
    files.retain(|(rel, _)| rel != "manifest.json");
    let www = root().join("www");
    for entry in read_dir_sorted(&www)? {
        let name = file_name(&entry);
        if entry.is_file() && (name.ends_with(".js") || name.ends_with(".css")) && name != "main.js" {
            files.push((format!("www/{name}"), entry));
        }
    }
    for (into, bundle, _) in &bundles {
        for f in [format!("{STEM}.js"), format!("{STEM}_bg.wasm")] {
            files.push((format!("{into}/{f}"), bundle.join(f)));
        }
    }
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("two files would land at `{}` in the extension package", w[0].0));
    }

    let firefox = serde_json::to_string_pretty(&firefox_manifest(&manifest)?)
        .map_err(|e| format!("firefox manifest: {e}"))?
        + "\n";
    let mut out = Vec::new();
    for (browser, manifest_bytes) in [("chromium", manifest_text.into_bytes()), ("firefox", firefox.into_bytes())] {
        let dir = dist.join("extension").join(browser);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| format!("clean {}: {e}", dir.display()))?;
        }
        let mut entries: Vec<(String, Vec<u8>)> = vec![("manifest.json".to_owned(), manifest_bytes)];
        for (rel, from) in &files {
            entries.push((rel.clone(), fs::read(from).map_err(|e| format!("read {}: {e}", from.display()))?));
        }
        for (rel, bytes) in &entries {
            let to = dir.join(rel);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
            }
            fs::write(&to, bytes).map_err(|e| format!("write {}: {e}", to.display()))?;
        }
        let zip = dist.join(format!("sealpost-extension-{browser}.zip"));
        fs::write(&zip, zip_bytes(&entries)?).map_err(|e| format!("write {}: {e}", zip.display()))?;
        let zip_len = file_len(&zip)?;
        let p = Package { browser, dir, zip, zip_len, files: entries.len() };
        println!("{}", p.line());
        out.push(p);
    }
    Ok(out)
}

/// The rules the packaging relies on, checked so a manifest edit cannot quietly
/// widen what the extension may do.
fn check_manifest(m: &Value) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    if m["manifest_version"] != 3 {
        return Err("extension/manifest.json: manifest_version must be 3".into());
    }
    if m["version"] != version {
        return Err(format!("extension/manifest.json: version must be the workspace version {version}"));
    }
    if m["background"]["service_worker"].as_str().is_none() {
        return Err(
            "extension/manifest.json: background.service_worker missing (the Chromium form is the source)".into()
        );
    }
    let csp = m["content_security_policy"]["extension_pages"].as_str().unwrap_or_default();
    if csp != "script-src 'self' 'wasm-unsafe-eval'; object-src 'none'" {
        return Err(format!("extension/manifest.json: unexpected extension_pages CSP `{csp}`"));
    }
    for key in ["permissions", "host_permissions", "optional_host_permissions"] {
        for p in m[key].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap_or_default();
            if p == "<all_urls>" || p == "tabs" || p == "*://*/*" {
                return Err(format!("extension/manifest.json: `{p}` in {key} is wider than the extension needs"));
            }
        }
    }
    Ok(())
}

/// The Firefox form of the manifest: `background.scripts` instead of
/// `background.service_worker`, the gecko id, the minimum versions (desktop
/// and Android) and the data-collection declaration, without Chromium-only keys.
pub fn firefox_manifest(chromium: &Value) -> Result<Value> {
    let mut m = chromium.clone();
    let obj = m.as_object_mut().ok_or("manifest is not a JSON object")?;
    for k in CHROMIUM_ONLY_KEYS {
        obj.remove(*k);
    }
    let bg = obj.get_mut("background").and_then(Value::as_object_mut).ok_or("manifest has no background")?;
    let worker = bg.remove("service_worker").ok_or("manifest background has no service_worker")?;
    bg.insert("scripts".into(), json!([worker]));
    obj.insert(
        "browser_specific_settings".into(),
        json!({
            "gecko": {
                "id": GECKO_ID,
                "strict_min_version": FIREFOX_MIN_VERSION,
                "data_collection_permissions": { "required": ["none"] }
            },
            "gecko_android": { "strict_min_version": FIREFOX_ANDROID_MIN_VERSION }
        }),
    );
    Ok(m)
}

/// Every file under `dir`, as (path relative to `base` with `/`, absolute path);
/// skips dot files, `README.md` at the top and any `tests`/`test` directory.
fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    for entry in read_dir_sorted(dir)? {
        let name = file_name(&entry);
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            if name == "tests" || name == "test" {
                continue;
            }
            collect(base, &entry, out)?;
        } else if entry.is_file() {
            let rel = entry
                .strip_prefix(base)
                .map_err(|e| format!("{}: {e}", entry.display()))?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if rel == "README.md" {
                continue;
            }
            out.push((rel, entry));
        }
    }
    Ok(())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn read_to_string(p: &Path) -> Result<String> {
    fs::read_to_string(p).map_err(|e| format!("read {}: {e}", p.display()))
}

/// A zip archive of `entries` (deflate, or stored when deflate does not help),
/// with a fixed timestamp so the same inputs give the same bytes.
fn zip_bytes(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    // 1980-01-01 00:00:00 in DOS format.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out: Vec<u8> = Vec::new();
    let mut central: Vec<u8> = Vec::new();
    for (name, data) in entries {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        enc.write_all(data).map_err(|e| format!("deflate {name}: {e}"))?;
        let deflated = enc.finish().map_err(|e| format!("deflate {name}: {e}"))?;
        let (method, body): (u16, &[u8]) = if deflated.len() < data.len() { (8, &deflated) } else { (0, data) };
        let size = u32::try_from(data.len()).map_err(|_| format!("{name} too large for a zip"))?;
        let csize = u32::try_from(body.len()).map_err(|_| format!("{name} too large for a zip"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| format!("{name}: name too long"))?;
        let offset = u32::try_from(out.len()).map_err(|_| "zip too large".to_string())?;

        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0x0800u16.to_le_bytes()); // flags: UTF-8 names
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&DOS_TIME.to_le_bytes());
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&csize.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix, 3.0
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&0x0800u16.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&DOS_TIME.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&csize.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // external: -rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let count = u16::try_from(entries.len()).map_err(|_| "too many files for a zip".to_string())?;
    let cd_offset = u32::try_from(out.len()).map_err(|_| "zip too large".to_string())?;
    let cd_len = u32::try_from(central.len()).map_err(|_| "zip too large".to_string())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firefox_manifest_swaps_background_and_adds_gecko() {
        let src: Value =
            serde_json::from_str(&fs::read_to_string(root().join("extension/manifest.json")).unwrap()).unwrap();
        check_manifest(&src).unwrap();
        let ff = firefox_manifest(&src).unwrap();
        assert!(ff.get("key").is_none());
        assert!(ff.get("minimum_chrome_version").is_none());
        assert_eq!(ff["background"]["scripts"], json!(["background.js"]));
        assert!(ff["background"].get("service_worker").is_none());
        assert_eq!(ff["background"]["type"], "module");
        assert_eq!(ff["browser_specific_settings"]["gecko"]["id"], GECKO_ID);
        assert_eq!(
            ff["browser_specific_settings"]["gecko"]["data_collection_permissions"]["required"],
            json!(["none"])
        );
        assert_eq!(ff["permissions"], src["permissions"]);
    }

    #[test]
    fn check_manifest_refuses_wide_permissions() {
        let mut m: Value =
            serde_json::from_str(&fs::read_to_string(root().join("extension/manifest.json")).unwrap()).unwrap();
        m["permissions"].as_array_mut().unwrap().push(json!("tabs"));
        assert!(check_manifest(&m).unwrap_err().contains("tabs"));
    }
}
