//! The consent page as one answer (src/page.rs): its style sheet and module
//! script written into it under a CSP that names their hashes, and on
//! `/connect/{code}` the look-up's answer in a JSON data block, with the same
//! limits as `GET /v1/connect/{code}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use base64::Engine;
use common::{Broker, Resp, TempDir, http};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CSS: &str = ":root { color: #123; }\n.x::after { content: \"a > b\"; }\n";
const JS: &str = "const a = 1 < 2 && 3 > 2;\ndocument.body.dataset.ran = String(a);\n";

fn page_files(dir: &Path) -> PathBuf {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let html = "<!doctype html>\n<html><head>\n<meta charset=\"utf-8\">\n<title>consent</title>\n\
<link rel=\"preload\" href=\"/assets/app.js\" as=\"script\" crossorigin>\n\
<script type=\"module\" src=\"/assets/app.js\"></script>\n\
<link rel=\"modulepreload\" href=\"/pkg/sealpost_wasm.js\">\n\
<link rel=\"stylesheet\" href=\"/assets/page.css\">\n\
<link rel=\"stylesheet\" href=\"/assets/print.css\" media=\"print\">\n\
<script type=\"module\" src=\"/assets/ends.js\"></script>\n\
</head><body><main id=\"consent\"></main></body></html>\n";
    std::fs::write(www.join("index.html"), html).unwrap();
    std::fs::write(www.join("app.js"), JS).unwrap();
    std::fs::write(www.join("page.css"), CSS).unwrap();
    std::fs::write(www.join("print.css"), "body { color: black; }").unwrap();
    // Text that would end its element: stays a file of its own.
    std::fs::write(www.join("ends.js"), "console.log('</script>');").unwrap();
    www
}

fn start(dir: &TempDir, extra: &[&str]) -> Broker {
    let www = page_files(&dir.0);
    let mut args = vec!["--www-dir", www.to_str().unwrap()];
    args.extend_from_slice(extra);
    Broker::start(&dir.0, &args)
}

fn decode(r: &Resp) -> String {
    String::from_utf8(common::decode(r)).unwrap()
}

fn sha256_source(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// The data block of a page: its JSON, parsed.
fn island(html: &str) -> Option<Value> {
    let open = "<script type=\"application/json\" id=\"sp-lookup\">";
    let start = html.find(open)? + open.len();
    let end = start + html[start..].find("</script>")?;
    Some(serde_json::from_str(&html[start..end]).unwrap())
}

#[test]
fn style_sheet_and_module_are_written_into_the_page_under_their_hashes() {
    let dir = TempDir::new("page-inline");
    let b = start(&dir, &[]);
    let r = http(&b.addr, "GET", "/connect", &[("Accept-Encoding", "gzip, deflate, br, zstd")], None);
    assert_eq!((r.status, r.header("content-encoding")), (200, Some("br")));
    let html = decode(&r);
    assert!(html.contains(&format!("<style data-href=\"/assets/page.css\">{CSS}</style>")), "{html}");
    assert!(html.contains(&format!("<script type=\"module\">{JS}</script>")), "{html}");
    // The hint for what is now in the page is gone; the others stay, and so
    // does what is not inlined (a media-conditioned sheet, a script whose
    // text would end its element).
    assert!(!html.contains("href=\"/assets/app.js\""), "{html}");
    assert!(!html.contains("<script type=\"module\" src=\"/assets/app.js\""), "{html}");
    assert!(html.contains("<link rel=\"modulepreload\" href=\"/pkg/sealpost_wasm.js\">"));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/print.css\" media=\"print\">"));
    assert!(html.contains("<script type=\"module\" src=\"/assets/ends.js\"></script>"));
    assert!(!html.contains("console.log"));
    // No data block without a code.
    assert_eq!(island(&html), None);
    // The policy allows exactly that text, and still no inline anything else.
    let csp = r.header("content-security-policy").unwrap();
    assert_eq!(
        csp,
        format!(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self' {}; connect-src 'self'; \
img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            sha256_source(JS),
            sha256_source(CSS)
        )
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        r.header("link"),
        Some(
            "</assets/print.css>; rel=preload; as=style, </pkg/sealpost_wasm.js>; rel=modulepreload, </assets/ends.js>; rel=modulepreload"
        )
    );
    // The files themselves are still served as they are.
    assert_eq!(b.get("/assets/app.js").body, JS);
    // An edited file is picked up: new text, new hash.
    let www = dir.0.join("www");
    std::fs::write(www.join("app.js"), "document.title = 'v2';\n").unwrap();
    let r = b.get("/connect");
    assert!(decode(&r).contains("<script type=\"module\">document.title = 'v2';\n</script>"));
    assert!(r.header("content-security-policy").unwrap().contains(&sha256_source("document.title = 'v2';\n")));
}

#[test]
fn the_page_carries_the_lookup_the_api_gives() {
    let dir = TempDir::new("page-island");
    let b = start(&dir, &[]);
    let title = "</script><script>alert(1)</script> & <!-- \"x\"";
    let s = b.create(json!({"display_name": title, "reason": "Needs <b>it</b>."}));
    let code = s["user_code"].as_str().unwrap().to_owned();
    let r = b.get(&format!("/connect/{code}"));
    assert_eq!(r.status, 200);
    let html = decode(&r);
    // The agent's text cannot end the data block or start markup.
    let block = &html[html.find("id=\"sp-lookup\">").unwrap()..];
    let block = &block[..block.find("</script>").unwrap()];
    for bad in ["<", ">", "&"] {
        assert!(!block["id=\"sp-lookup\">".len()..].contains(bad), "{block}");
    }
    assert!(!html.contains("alert(1)</script>"));
    let data = island(&html).unwrap();
    let api = b.get(&format!("/v1/connect/{code}"));
    assert_eq!(api.status, 200);
    assert_eq!(data, json!({"status": 200, "retryAfter": null, "body": api.json()}));
    assert_eq!(data["body"]["display_name"], title);
    // The page no longer preloads the look-up it already holds.
    assert!(!r.header("link").unwrap_or("").contains("/v1/connect/"), "{:?}", r.header("link"));
    // It sits at the end of the body, after the page's module script, which
    // runs once the document is parsed (tests/e2e: the review is drawn from it).
    let at = html.find("id=\"sp-lookup\"").unwrap();
    assert!(html.find("<script type=\"module\">").unwrap() < at);
    let tail: String = html[at..].split_whitespace().collect();
    assert!(tail.ends_with("</script></body></html>"), "{tail}");

    // An unknown code: the API's problem, as the page would have fetched it.
    let html = decode(&b.get("/connect/ZZZZ-0000"));
    let data = island(&html).unwrap();
    assert_eq!(data["status"], 404);
    assert_eq!(data["body"]["code"], "ERR_SESSION_NOT_FOUND");
    // Confirmed: the page is locked for any other viewer, as the API is.
    b.confirm(&code);
    let data = island(&decode(&b.get(&format!("/connect/{code}")))).unwrap();
    assert_eq!((data["status"].as_u64(), data["body"]["code"].as_str()), (Some(404), Some("ERR_SESSION_NOT_FOUND")));
    // Nothing of the request is logged with its code.
    assert!(!b.log_text().contains(&code), "the code is in the log");
}

#[test]
fn the_page_draws_on_the_same_attempt_budget_as_the_api() {
    let dir = TempDir::new("page-limit");
    let b = start(&dir, &["--connect-rate", "3"]);
    let s = b.create(json!({}));
    let code = s["user_code"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for i in 0..4 {
        let data = if i % 2 == 0 {
            island(&decode(&b.get(&format!("/connect/{code}")))).unwrap()["status"].as_u64().unwrap()
        } else {
            u64::from(b.get(&format!("/v1/connect/{code}")).status)
        };
        statuses.push(data);
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let data = island(&decode(&b.get(&format!("/connect/{code}")))).unwrap();
    assert_eq!(data["status"], 429);
    assert!(data["retryAfter"].as_u64().unwrap() > 0, "{data}");
    assert_eq!(data["body"]["code"], "ERR_RATE_LIMITED");
}
