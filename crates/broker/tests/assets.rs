//! Static files over real HTTP: content codings, ETags and 304s, cache policy,
//! API answers never compressed, and the bytes the consent page costs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Broker, CSP, Resp, TempDir, decode, http};
use serde_json::json;

fn get(b: &Broker, path: &str, headers: &[(&str, &str)]) -> Resp {
    http(&b.addr, "GET", path, headers, None)
}

/// GET with `Accept-Encoding: accept` until the answer has that coding (large
/// files get their brotli variant in the background).
fn get_until_coded(b: &Broker, path: &str, accept: &str, coding: &str) -> Resp {
    let start = Instant::now();
    loop {
        let r = get(b, path, &[("Accept-Encoding", accept)]);
        if r.header("content-encoding") == Some(coding) || start.elapsed() > Duration::from_secs(60) {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_common_headers(r: &Resp) {
    assert_eq!(r.header("content-security-policy"), Some(CSP), "{:?}", r.headers);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

/// Text that compresses like source code, and bytes that compress like WebAssembly.
fn fixture_files(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>, Vec<u8>) {
    let www = dir.join("www");
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::create_dir_all(&pkg).unwrap();
    let mut js = String::new();
    for i in 0..1500 {
        js.push_str(&format!("export function f{i}(a, b) {{ return a * {i} + b - {}; }}\n", i % 17));
    }
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while wasm.len() < 150_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Skewed bytes: compressible, but not trivially.
        wasm.push(b"\0\0\0\x01\x02\x20\x41\x0b\x6a\x7f"[(x % 10) as usize]);
    }
    let html = format!(
        "<!doctype html><title>consent</title><script type=module src=/assets/app.js></script>{}",
        "<p class=\"note\">Your secret is encrypted in this page.</p>\n".repeat(20)
    );
    std::fs::write(www.join("index.html"), html).unwrap();
    std::fs::write(www.join("app.js"), &js).unwrap();
    std::fs::write(www.join("logo.png"), b"\x89PNG\r\n\x1a\n not really a png, never compressed").unwrap();
    std::fs::write(pkg.join("sealpost_wasm_bg.wasm"), &wasm).unwrap();
    (www, pkg, js.into_bytes(), wasm)
}

#[test]
fn content_codings_decode_to_the_exact_file_bytes() {
    let dir = TempDir::new("codings");
    let (www, pkg, js, wasm) = fixture_files(&dir.0);
    let b = Broker::start(&dir.0, &["--www-dir", www.to_str().unwrap(), "--bundle-dir", pkg.to_str().unwrap()]);
    for (path, original, ty) in [
        ("/assets/app.js", &js, "text/javascript; charset=utf-8"),
        ("/pkg/sealpost_wasm_bg.wasm", &wasm, "application/wasm"),
    ] {
        // Not asked: the bytes as they are.
        for headers in [&[][..], &[("Accept-Encoding", "identity")][..], &[("Accept-Encoding", "gzip;q=0, br;q=0")][..]]
        {
            let r = get(&b, path, headers);
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.header("content-encoding"), None, "{path} {headers:?}");
            assert_eq!(&r.raw, original, "{path}");
            assert_eq!(r.header("content-length"), Some(original.len().to_string().as_str()));
            assert_eq!(r.header("vary"), Some("accept-encoding"));
            assert_eq!(r.header("content-type"), Some(ty));
        }
        // gzip when asked.
        let r = get(&b, path, &[("Accept-Encoding", "gzip")]);
        assert_eq!(r.header("content-encoding"), Some("gzip"), "{path}");
        assert_eq!(r.header("vary"), Some("accept-encoding"));
        assert_eq!(r.header("content-type"), Some(ty));
        assert_eq!(r.header("content-length"), Some(r.raw.len().to_string().as_str()));
        assert!(r.raw.len() < original.len() / 2, "{path}: {} of {}", r.raw.len(), original.len());
        assert_eq!(&decode(&r), original, "{path}");
        assert_common_headers(&r);
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        // brotli when asked (what browsers send), possibly after the background job.
        let r = get_until_coded(&b, path, "gzip, deflate, br, zstd", "br");
        assert_eq!(r.header("content-encoding"), Some("br"), "{path}");
        assert_eq!(&decode(&r), original, "{path}");
        assert_common_headers(&r);
        // The client's weights win over the server's preference.
        let r = get(&b, path, &[("Accept-Encoding", "br;q=0.5, gzip;q=0.9")]);
        assert_eq!(r.header("content-encoding"), Some("gzip"));
    }
    // Already-compressed types are sent as they are.
    let r = get(&b, "/assets/logo.png", &[("Accept-Encoding", "gzip, br")]);
    assert_eq!((r.status, r.header("content-encoding")), (200, None));
    // The page itself (tests/page.rs: what is written into it): every coding
    // decodes to the same document, never stored.
    let plain = get(&b, "/connect/ABCD-1234", &[]);
    assert_eq!(plain.header("content-encoding"), None);
    for (accept, coding) in [("gzip", "gzip"), ("gzip, deflate, br, zstd", "br")] {
        let r = get(&b, "/connect/ABCD-1234", &[("Accept-Encoding", accept)]);
        assert_eq!(r.header("content-encoding"), Some(coding));
        assert!(r.raw.len() < plain.raw.len() / 2, "{coding}: {} of {}", r.raw.len(), plain.raw.len());
        assert_eq!(decode(&r), plain.raw);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("etag"), None);
    }
    // HEAD: same headers, no body.
    let r = http(&b.addr, "HEAD", "/assets/app.js", &[("Accept-Encoding", "gzip")], None);
    assert_eq!((r.status, r.header("content-encoding")), (200, Some("gzip")));
    assert!(r.raw.is_empty());
}

#[test]
fn etag_revalidation_and_304() {
    let dir = TempDir::new("etag");
    let (www, pkg, _, _) = fixture_files(&dir.0);
    let b = Broker::start(&dir.0, &["--www-dir", www.to_str().unwrap(), "--bundle-dir", pkg.to_str().unwrap()]);
    let plain = get(&b, "/assets/app.js", &[]);
    let gz = get(&b, "/assets/app.js", &[("Accept-Encoding", "gzip")]);
    let etag = plain.header("etag").unwrap().to_owned();
    let etag_gz = gz.header("etag").unwrap().to_owned();
    // Strong, quoted, one per representation, stable across requests.
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_ne!(etag, etag_gz);
    assert_eq!(get(&b, "/assets/app.js", &[]).header("etag"), Some(etag.as_str()));

    for (accept, tag) in [("identity", &etag), ("gzip", &etag_gz)] {
        for inm in [tag.clone(), format!("W/{tag}"), format!("\"nope\", {tag}"), "*".to_owned()] {
            let r = get(&b, "/assets/app.js", &[("Accept-Encoding", accept), ("If-None-Match", &inm)]);
            assert_eq!(r.status, 304, "{accept} {inm}");
            assert!(r.raw.is_empty());
            assert_eq!(r.header("etag"), Some(tag.as_str()));
            assert_eq!(r.header("cache-control"), Some("no-cache"));
            assert_eq!(r.header("vary"), Some("accept-encoding"));
            assert_eq!(r.header("content-encoding"), None);
            assert_common_headers(&r);
        }
    }
    // The identity tag does not validate the gzip representation, nor an unknown tag.
    let r = get(&b, "/assets/app.js", &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)]);
    assert_eq!((r.status, r.header("content-encoding")), (200, Some("gzip")));
    assert_eq!(get(&b, "/assets/app.js", &[("If-None-Match", "\"other\"")]).status, 200);
    // The page (one request's state written into it) is never revalidated.
    let page = get(&b, "/connect", &[]);
    assert_eq!((page.header("etag"), page.header("cache-control")), (None, Some("no-store")));
    assert_eq!(get(&b, "/connect/ABCD-1234", &[("If-None-Match", "*")]).status, 200);

    // A new deploy (the file changes on disk): new ETag, full answer.
    std::fs::write(www.join("app.js"), "export const changed = true;\n").unwrap();
    let r = get(&b, "/assets/app.js", &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "export const changed = true;\n");
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // Missing files are still 404, whatever the validators.
    let r = get(&b, "/assets/gone.js", &[("If-None-Match", "*"), ("Accept-Encoding", "gzip")]);
    r.problem(404, "ERR_NOT_FOUND");
}

#[test]
fn api_answers_are_never_compressed_nor_stored() {
    let dir = TempDir::new("api-plain");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    let ae = ("Accept-Encoding", "gzip, deflate, br, zstd");
    let check = |r: &Resp, what: &str| {
        assert_eq!(r.header("content-encoding"), None, "{what}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
        assert!(r.header("etag").is_none(), "{what}");
        assert_common_headers(r);
    };
    // Big enough that any compressing layer would compress it.
    let body =
        json!({"public_key": common::public_key_wire(), "template": "api_key", "reason": "x".repeat(900)}).to_string();
    let r = http(&b.addr, "POST", "/v1/sessions", &[("Content-Type", "application/json"), ae], Some(body.as_bytes()));
    assert_eq!(r.status, 201, "{}", r.body);
    check(&r, "create");
    let s = r.json();
    let code = s["code"].as_str().unwrap();
    let r = get(&b, &format!("/v1/connect/{code}"), &[ae]);
    assert_eq!(r.status, 200);
    check(&r, "connect");
    let ct = b.confirm(code);
    let ciphertext = "Q".repeat(20_000);
    let complete = json!({"ciphertext": ciphertext, "algorithm": "JWE", "connect_token": ct}).to_string();
    let r = http(
        &b.addr,
        "POST",
        &format!("/v1/connect/{code}/complete"),
        &[("Content-Type", "application/json"), ae],
        Some(complete.as_bytes()),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    // The answer that carries the ciphertext.
    let auth = format!("Bearer {}", s["poll_token"].as_str().unwrap());
    let r = get(&b, &format!("/v1/sessions/{}", s["session_id"].as_str().unwrap()), &[("Authorization", &auth), ae]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ciphertext"], ciphertext.as_str());
    check(&r, "poll with ciphertext");
    // Problems and health too.
    let r = get(&b, "/v1/connect/ZZZZ-0000", &[ae]);
    r.problem(404, "ERR_SESSION_NOT_FOUND");
    check(&r, "problem");
    check(&get(&b, "/healthz", &[ae]), "healthz");
}

/// Repository root: `SEALPOST_ROOT`, else two levels above this crate.
fn repo_root() -> PathBuf {
    std::env::var_os("SEALPOST_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// `href="/..."` and `src="/..."` of the page (its stylesheets and modules).
fn page_urls(html: &str) -> Vec<String> {
    let mut urls = vec!["/connect/ABCD-1234".to_owned()];
    for attr in ["href=\"/", "src=\"/"] {
        for (i, _) in html.match_indices(attr) {
            // Not `data-href`: the name of a style sheet written into the page.
            if html[..i].ends_with('-') {
                continue;
            }
            let rest = &html[i + attr.len() - 1..];
            if let Some(end) = rest.find('"') {
                urls.push(rest[..end].to_owned());
            }
        }
    }
    urls.sort();
    urls.dedup();
    urls
}

/// What the consent page costs on the wire (status lines, headers and bodies of
/// the page and every asset and bundle file it loads), with and without
/// compression, against the real `www/` and `dist/seal/`.
#[test]
fn consent_page_bytes_on_the_wire() {
    let root = repo_root();
    let www = root.join("www");
    let seal = std::env::var_os("SEALPOST_DIST").map(PathBuf::from).unwrap_or_else(|| root.join("dist")).join("seal");
    if !seal.join("sealpost_wasm_bg.wasm").is_file() || !www.join("index.html").is_file() {
        eprintln!("consent page size: skipped, no {} (run `cargo xtask build`)", seal.display());
        return;
    }
    let dir = TempDir::new("page-bytes");
    let b = Broker::start(&dir.0, &["--www-dir", www.to_str().unwrap(), "--bundle-dir", seal.to_str().unwrap()]);
    // What the served page loads (its style sheet and script are in it).
    let html = String::from_utf8(decode(&get(&b, "/connect/ABCD-1234", &[]))).unwrap();
    let mut urls = page_urls(&html);
    assert!(!urls.iter().any(|u| u.starts_with("/assets/")), "{urls:?}");
    // The seal bundle is loaded by the page's script once the review is drawn
    // (www/main.js; no preload names it in the HTML): its two files count too.
    for bundle in ["/pkg/sealpost_wasm.js", "/pkg/sealpost_wasm_bg.wasm"] {
        assert!(html.contains(&format!("\"{bundle}\"")), "the page's script no longer loads {bundle}");
        urls.push(bundle.to_owned());
    }
    urls.sort();
    urls.dedup();
    let browser = "gzip, deflate, br, zstd";
    let mut totals = [0usize; 3];
    eprintln!("{:<32} {:>9} {:>9} {:>9}", "consent page", "identity", "gzip", "br");
    for url in &urls {
        let plain = get(&b, url, &[]);
        assert_eq!(plain.status, 200, "{url}");
        assert_eq!(plain.header("content-encoding"), None);
        let gz = get(&b, url, &[("Accept-Encoding", "gzip")]);
        assert_eq!(decode(&gz), plain.raw, "{url}");
        let br = get_until_coded(&b, url, browser, "br");
        assert_eq!(decode(&br), plain.raw, "{url}");
        let row = [plain.wire_len, gz.wire_len, br.wire_len];
        eprintln!("{url:<32} {:>9} {:>9} {:>9}", row[0], row[1], row[2]);
        for (t, n) in totals.iter_mut().zip(row) {
            *t += n;
        }
    }
    eprintln!("{:<32} {:>9} {:>9} {:>9}", "total (bytes on the wire)", totals[0], totals[1], totals[2]);
    assert!(totals[1] < 120_000, "gzip total {} >= 120,000 bytes", totals[1]);
    assert!(totals[2] <= totals[1]);
}

/// Built with `embed` and no directories given: the embedded page is served
/// with the same codings and validators.
#[cfg(feature = "embed")]
#[test]
fn embedded_files_are_compressed_and_revalidated() {
    let dir = TempDir::new("embedded");
    let b = Broker::start(&dir.0, &[]);
    let plain = get(&b, "/connect", &[]);
    if plain.status == 404 {
        eprintln!("embedded page: skipped, nothing was embedded");
        return;
    }
    assert_eq!(plain.status, 200);
    let gz = get(&b, "/connect", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(decode(&gz), plain.raw);
    let br = get_until_coded(&b, "/connect", "br", "br");
    assert_eq!(decode(&br), plain.raw);
    assert_eq!(gz.header("cache-control"), Some("no-store"));
    // What the page loads is revalidated like any file.
    let r = get(&b, "/assets/consent.css", &[("Accept-Encoding", "gzip")]);
    let tag = r.header("etag").unwrap();
    let r = get(&b, "/assets/consent.css", &[("Accept-Encoding", "gzip"), ("If-None-Match", tag)]);
    assert_eq!(r.status, 304);
    assert_common_headers(&r);
}

/// Every file is compressed at start: even a large file (brotli of files over
/// 64 KiB used to run in the background after the first request) is sent as
/// brotli on the very first request, which waits for it if need be.
#[test]
fn brotli_from_the_first_request() {
    let dir = TempDir::new("first-br");
    let (www, pkg, js, wasm) = fixture_files(&dir.0);
    let b = Broker::start(&dir.0, &["--www-dir", www.to_str().unwrap(), "--bundle-dir", pkg.to_str().unwrap()]);
    let browser = "gzip, deflate, br, zstd";
    for (path, original) in [("/pkg/sealpost_wasm_bg.wasm", &wasm), ("/assets/app.js", &js)] {
        let r = get(&b, path, &[("Accept-Encoding", browser)]);
        assert_eq!((r.status, r.header("content-encoding")), (200, Some("br")), "{path}");
        assert_eq!(&decode(&r), original, "{path}");
    }
}

/// `/jwt`: the inspector page under its own policy (`connect-src 'none'`), the
/// full bundle (the `full` directory next to the seal bundle's) under `/jwt/`,
/// and its .wasm as a script module of base64; 404 without a full bundle.
#[test]
fn jwt_inspector_page_and_full_bundle() {
    const CSP_JWT: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'none'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    let dir = TempDir::new("jwt");
    let (www, pkg, _, wasm) = fixture_files(&dir.0);
    std::fs::write(www.join("jwt.html"), "<!doctype html><title>JWT inspector</title>").unwrap();
    let args = ["--www-dir", www.to_str().unwrap(), "--bundle-dir", pkg.to_str().unwrap()];
    {
        let b = Broker::start(&dir.0, &args);
        assert_eq!(get(&b, "/jwt", &[]).status, 404, "no full bundle: no inspector");
        assert_eq!(get(&b, "/jwt/sealpost_wasm.js", &[]).status, 404);
    }
    let full = dir.0.join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("sealpost_wasm.js"), "export default async function init() {}\n").unwrap();
    std::fs::write(full.join("sealpost_wasm_bg.wasm"), &wasm).unwrap();
    let b = Broker::start(&dir.0, &args);
    let page = get(&b, "/jwt", &[("Accept-Encoding", "gzip")]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-security-policy"), Some(CSP_JWT));
    assert_eq!(page.header("cache-control"), Some("private, no-cache"));
    assert!(String::from_utf8(decode(&page)).unwrap().contains("JWT inspector"));
    // The same file under /assets/ keeps the strict policy; everything else keeps the common one.
    assert_eq!(get(&b, "/assets/jwt.html", &[]).header("content-security-policy"), Some(CSP_JWT));
    assert_common_headers(&get(&b, "/jwt/sealpost_wasm.js", &[]));
    let page = get(&b, "/connect", &[]);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'sha256-"), "{csp}");
    // The .wasm as a module: compressed, with an ETag, 304 on revalidation.
    let m = get_until_coded(&b, "/jwt/sealpost_wasm_bg.wasm.js", "gzip, br", "br");
    assert_eq!(m.status, 200);
    assert_eq!(m.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert_eq!(m.header("content-encoding"), Some("br"));
    let text = String::from_utf8(decode(&m)).unwrap();
    let b64 = text.split("export default \"").nth(1).and_then(|t| t.split('"').next()).unwrap();
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), wasm);
    let etag = m.header("etag").unwrap().to_owned();
    let r = get(&b, "/jwt/sealpost_wasm_bg.wasm.js", &[("Accept-Encoding", "gzip, br"), ("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    // Only names of the bundle directory.
    for bad in ["/jwt/..%2Fpkg%2Fsealpost_wasm_bg.wasm", "/jwt/nope.js", "/jwt/.hidden"] {
        assert_eq!(get(&b, bad, &[]).status, 404, "{bad}");
    }
}
