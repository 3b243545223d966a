//! The consent page (`GET /connect`, `GET /connect/{code}`) as one answer.
//!
//! `index.html` stays a plain page that loads its style sheet and its module
//! script from `/assets/` (any static server can serve it as it is). The
//! broker writes those files into the page instead ([`inline_head`]): a
//! `<style>` and a `<script type="module">` whose SHA-256 hashes the page's
//! Content-Security-Policy names, so nothing but exactly that text runs
//! (`'unsafe-inline'` is never used). On `/connect/{code}` the page also
//! carries the answer the page would fetch first, `GET /v1/connect/{code}`
//! (same limits, same JSON, errors included), as a JSON data block
//! ([`island`]): the browser then has everything the review needs in the
//! first response, instead of waiting for three more (script, style sheet,
//! look-up) and for the hops between them (bench/consent.mjs).
//!
//! The inlined page is built once per version of its files and kept, with
//! its text up to the data block compressed once (brotli and gzip at their
//! best, on a blocking thread started when the broker starts; a request that
//! comes first waits for it, bounded). A request's answer is that compressed
//! text and the rest (the data block and the page's last tags) compressed on
//! its own, joined without compressing the page again ([`brotli_cat`],
//! [`gzip_join`]). That body carries no secret: the look-up
//! answer is what anyone with the code may read, and nothing of the request
//! but the code of its own URL is reflected in it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::api::{ClientIp, connect_lookup};
use crate::app::App;
use crate::assets::{Coding, GzipHead, WARM_WAIT, brotli_cat, brotli_part, gzip_head, gzip_join, negotiate_among};
use crate::store::Store;
use crate::web::{content_type, head_preloads, safe_name, tag_attributes};

/// Content-Security-Policy of the page, before the hashes of what it inlines.
const CSP_SCRIPT: &str = "script-src 'self' 'wasm-unsafe-eval'";
/// See [`CSP_SCRIPT`].
const CSP_STYLE: &str = "style-src 'self'";
/// Id of the page's data block (read by `www/main.js`).
pub const ISLAND_ID: &str = "sp-lookup";
/// brotli quality of what is compressed per request (the data block and the
/// last tags, ~0.7 KB): 19 us there, where 5 takes 29 us for the same bytes.
const TAIL_BROTLI_QUALITY: i32 = 4;
/// brotli quality of the page's text, compressed once per version.
const HEAD_BROTLI_QUALITY: i32 = 11;
/// Largest file written into the page; a larger one stays a `src`/`href`.
const INLINE_MAX: usize = 256 * 1024;

/// `index.html` with what its head loads from `/assets/` written into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inlined {
    /// The page up to where its data block goes: before `</body>` (else at
    /// the end). Module scripts, inlined or not, run once the document is
    /// parsed, so they find it; and so the page's text is one long first
    /// part for [`brotli_cat`], compressed with brotli's dictionary.
    pub before: String,
    /// The rest of the page.
    pub after: String,
    /// `'sha256-…'` sources of the inlined scripts, in document order.
    pub scripts: Vec<String>,
    /// `'sha256-…'` sources of the inlined style sheets, in document order.
    pub styles: Vec<String>,
}

impl Inlined {
    /// The page's Content-Security-Policy: `base` with the hashes of what was inlined.
    pub fn csp(&self, base: &str) -> String {
        let add = |csp: String, directive: &str, hashes: &[String]| {
            if hashes.is_empty() {
                return csp;
            }
            csp.replacen(directive, &format!("{directive} {}", hashes.join(" ")), 1)
        };
        let csp = add(base.to_owned(), CSP_SCRIPT, &self.scripts);
        add(csp, CSP_STYLE, &self.styles)
    }
}

/// One tag of the head: where it starts and ends (after its end tag for a
/// `<script>`), its name and attributes.
struct Tag {
    start: usize,
    end: usize,
    name: String,
    attrs: Vec<(String, String)>,
    /// A `<script>` with nothing but white space before its end tag.
    empty: bool,
}

impl Tag {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    fn rel(&self, token: &str) -> bool {
        self.attr("rel").unwrap_or("").split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case(token))
    }

    /// The file name of an `/assets/NAME` URL in `key`.
    fn asset(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(|u| u.strip_prefix("/assets/")).filter(|n| safe_name(n))
    }

    /// `<link rel=stylesheet href=/assets/NAME>` with no media condition.
    fn stylesheet(&self) -> Option<&str> {
        let all = self.attr("media").is_none_or(|m| m.trim().eq_ignore_ascii_case("all"));
        (self.name == "link" && self.rel("stylesheet") && all).then(|| self.asset("href")).flatten()
    }

    /// `<script type=module src=/assets/NAME></script>` (nothing between the tags).
    fn module(&self) -> Option<&str> {
        let module = self.attr("type").is_some_and(|t| t.eq_ignore_ascii_case("module"));
        let only = self.attrs.iter().all(|(n, _)| ["type", "src", "crossorigin"].contains(&n.as_str()));
        (self.name == "script" && module && self.empty && only).then(|| self.asset("src")).flatten()
    }
}

/// The tags of the head of `html`, in order.
fn head_tags(html: &str) -> Vec<Tag> {
    let lower = html.to_ascii_lowercase();
    let head_end = lower.find("</head").unwrap_or(html.len());
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = html[at..head_end].find('<') {
        let start = at + p;
        let rest = &html[start + 1..head_end];
        let name_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        let Some(close) = rest.find('>') else { break };
        let name = rest[..name_len].to_ascii_lowercase();
        let attrs = tag_attributes(&rest[name_len..close]);
        let mut end = start + 1 + close + 1;
        let mut empty = false;
        if name == "script" {
            // A script's text runs to its end tag.
            let Some(q) = lower[end..head_end].find("</script") else { break };
            empty = html[end..end + q].trim().is_empty();
            end = lower[end + q..head_end].find('>').map_or(head_end, |r| end + q + r + 1);
        }
        out.push(Tag { start, end, name, attrs, empty });
        at = end;
    }
    out
}

/// The `/assets/` files the head of `html` would load that [`inline_head`] may write into it.
pub fn inlinable(html: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for t in head_tags(html) {
        if let Some(n) = t.stylesheet().or_else(|| t.module())
            && !names.iter().any(|m| m == n)
        {
            names.push(n.to_owned());
        }
    }
    names
}

/// Text that must not be written into a `<script>` (it would end it or
/// change how it is parsed) or, for `</style`, into a `<style>`.
fn unsafe_inside(text: &str, element: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    match element {
        "style" => lower.contains("</style"),
        _ => lower.contains("</script") || lower.contains("<!--") || lower.contains("<script"),
    }
}

fn hash_source(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// `html` with its head's `/assets/` style sheets and module scripts written
/// into it (`files`: name → text; a file missing there, too large or holding
/// text that would end its element stays as it was), the `rel=preload` and
/// `rel=modulepreload` hints for what was inlined dropped, and the place of
/// the data block (before `</body>`) marked.
pub fn inline_head(html: &str, files: &HashMap<String, String>) -> Inlined {
    let tags = head_tags(html);
    let usable = |name: &str, element: &str| {
        files.get(name).filter(|t| t.len() <= INLINE_MAX && !unsafe_inside(t, element)).map(String::as_str)
    };
    let mut inlined: Vec<&str> = Vec::new();
    for t in &tags {
        if let Some(n) = t.stylesheet().filter(|n| usable(n, "style").is_some()) {
            inlined.push(n);
        } else if let Some(n) = t.module().filter(|n| usable(n, "script").is_some()) {
            inlined.push(n);
        }
    }
    let mut out = String::with_capacity(html.len() + files.values().map(String::len).sum::<usize>());
    let (mut scripts, mut styles) = (Vec::new(), Vec::new());
    let mut copied = 0;
    for t in &tags {
        let replacement = if let Some((n, text)) = t.stylesheet().and_then(|n| usable(n, "style").map(|x| (n, x))) {
            styles.push(hash_source(text));
            Some(format!("<style data-href=\"/assets/{n}\">{text}</style>"))
        } else if let Some(text) = t.module().and_then(|n| usable(n, "script")) {
            scripts.push(hash_source(text));
            Some(format!("<script type=\"module\">{text}</script>"))
        } else if t.name == "link"
            && (t.rel("preload") || t.rel("modulepreload"))
            && t.asset("href").is_some_and(|n| inlined.contains(&n))
        {
            Some(String::new())
        } else {
            None
        };
        let Some(replacement) = replacement else { continue };
        out.push_str(&html[copied..t.start]);
        out.push_str(&replacement);
        copied = t.end;
        // A dropped hint takes its line with it.
        if replacement.is_empty() && html[copied..].starts_with('\n') {
            copied += 1;
        }
    }
    out.push_str(&html[copied..]);
    let at = out.to_ascii_lowercase().rfind("</body").unwrap_or(out.len());
    let after = out.split_off(at);
    Inlined { before: out, after, scripts, styles }
}

/// The data block: `GET /v1/connect/{code}`'s answer as the page would get
/// it (`status`, `retryAfter` seconds or null, `body` the JSON answer or
/// null), in a `<script type="application/json">` (never run; the policy has
/// nothing to say about it). `<`, `>` and `&` are written as `\u003c` etc.:
/// they can only occur inside JSON strings, and so no text of the request
/// can end the element.
pub fn island(status: u16, retry_after: Option<u64>, body: &[u8]) -> String {
    let body = std::str::from_utf8(body).ok().filter(|b| serde_json::from_str::<serde::de::IgnoredAny>(b).is_ok());
    let retry = retry_after.map_or_else(|| "null".to_owned(), |s| s.to_string());
    let json = format!(r#"{{"status":{status},"retryAfter":{retry},"body":{}}}"#, body.unwrap_or("null"));
    let json = json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    format!("<script type=\"application/json\" id=\"{ISLAND_ID}\">{json}</script>\n")
}

/// The inlined page, kept per version of its files.
#[derive(Debug, Default)]
pub struct PageCache(Mutex<Option<(String, Arc<Built>)>>);

/// One version of the inlined page.
#[derive(Debug)]
struct Built {
    inlined: Inlined,
    csp: String,
    /// `Link` entries for what the inlined head still loads.
    link: String,
    /// `before` compressed, made once.
    head: tokio::sync::OnceCell<Option<Head>>,
}

/// [`Inlined::before`] compressed: a brotli part for [`brotli_cat`] and the
/// start of a gzip member for [`gzip_join`].
#[derive(Debug)]
struct Head {
    brotli: Vec<u8>,
    gzip: GzipHead,
}

impl Built {
    /// The page's text compressed: on a blocking thread by the first caller
    /// (~0.1 s), awaited by the others.
    async fn head(self: &Arc<Self>) -> Option<&Head> {
        let me = self.clone();
        let job = || async move {
            tokio::task::spawn_blocking(move || compress_head(&me.inlined.before)).await.ok().flatten()
        };
        self.head.get_or_init(job).await.as_ref()
    }
}

/// `text` compressed for [`answer`] (blocking).
fn compress_head(text: &str) -> Option<Head> {
    Some(Head { brotli: brotli_part(text.as_bytes(), HEAD_BROTLI_QUALITY, true)?, gzip: gzip_head(text.as_bytes())? })
}

/// The page in `coding`: `head`'s text and then `tail`, of which only `tail`
/// is compressed now. `None` for identity.
fn answer(head: &Head, tail: &str, coding: Coding) -> Option<Vec<u8>> {
    match coding {
        Coding::Identity => None,
        Coding::Gzip => gzip_join(&head.gzip, tail.as_bytes()),
        // An empty part is never joined (see `brotli_part`).
        Coding::Brotli if tail.is_empty() => brotli_cat(&[&head.brotli]),
        Coding::Brotli => brotli_cat(&[&head.brotli, &brotli_part(tail.as_bytes(), TAIL_BROTLI_QUALITY, false)?]),
    }
}

/// The inlined page for the current files, or `None` when there is no `index.html`.
async fn built<S: Store>(app: &App<S>) -> Option<Arc<Built>> {
    const NAME: &str = "index.html";
    let page = app.www.get(NAME, content_type(NAME)).await?;
    // Which files this version of the page would take in, found once per version.
    let names = page.derived(|b| inlinable(&String::from_utf8_lossy(b)).join("\n"));
    let mut key = page.etag(Coding::Identity);
    let mut sources = Vec::new();
    for name in names.lines() {
        if let Some(f) = app.www.get(name, content_type(name)).await {
            key.push_str(&f.etag(Coding::Identity));
            sources.push((name.to_owned(), f));
        }
    }
    if let Ok(cache) = app.page.0.lock()
        && let Some((k, b)) = cache.as_ref()
        && *k == key
    {
        return Some(b.clone());
    }
    // A new version: its texts are read (copied) only now.
    let html = String::from_utf8_lossy(&page.bytes);
    let files: HashMap<String, String> = sources
        .into_iter()
        .filter_map(|(name, f)| Some((name, std::str::from_utf8(&f.bytes).ok()?.to_owned())))
        .collect();
    let inlined = inline_head(&html, &files);
    let csp = inlined.csp(crate::web::CSP);
    let link = head_preloads(format!("{}{}", inlined.before, inlined.after).as_bytes());
    let built = Arc::new(Built { inlined, csp, link, head: tokio::sync::OnceCell::new() });
    if let Ok(mut cache) = app.page.0.lock() {
        // A request that built the same version meanwhile: its copy, already being compressed.
        if let Some((k, b)) = cache.as_ref()
            && *k == key
        {
            return Some(b.clone());
        }
        *cache = Some((key, built.clone()));
    }
    // Compressed now, not on the first brotli request.
    let compressing = built.clone();
    drop(tokio::spawn(async move { compressing.head().await.is_some() }));
    Some(built)
}

/// Build the page (and start compressing it) before its first request.
pub async fn warm<S: Store>(app: Arc<App<S>>) {
    let _ = built(&app).await;
}

/// The look-up's answer for the data block, as `GET /v1/connect/{code}` gives it.
async fn lookup<S: Store>(app: &App<S>, ip: IpAddr, code: &str) -> String {
    let res = match connect_lookup(app, ip, code).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let status = res.status().as_u16();
    let retry = res.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()?.trim().parse().ok());
    let body = axum::body::to_bytes(res.into_body(), 64 * 1024).await.unwrap_or_default();
    island(status, retry, &body)
}

/// `GET /connect` and `GET /connect/{code}`: the consent page, its files
/// written into it and, with a code, the look-up's answer in it. Never
/// stored (`no-store`: it holds the state of one request). Its `Link`
/// header preloads what it still loads (the WASM and its glue); without an
/// `index.html` there is no page (404).
pub async fn page<S: Store>(
    State(app): State<Arc<App<S>>>,
    ClientIp(ip): ClientIp,
    code: Option<Path<String>>,
    headers: HeaderMap,
) -> Response {
    let Some(built) = built(&app).await else {
        return crate::web::not_found().into_response();
    };
    let island = match &code {
        Some(Path(code)) => lookup(&app, ip, code).await,
        None => String::new(),
    };
    let accept: Vec<&str> = headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).collect();
    let coding = negotiate_among(&accept, |_| true);
    let tail = format!("{island}{}", built.inlined.after);
    // The page's text compressed once (waited for, bounded), the rest now: microseconds.
    let compressed = if coding == Coding::Identity {
        None
    } else {
        tokio::time::timeout(WARM_WAIT, built.head()).await.ok().flatten().and_then(|h| answer(h, &tail, coding))
    };
    let (coding, body) = match compressed {
        Some(z) => (coding, z),
        None => (Coding::Identity, [built.inlined.before.as_bytes(), tail.as_bytes()].concat()),
    };
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type("index.html")));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(token) = coding.token() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
    }
    if let Ok(v) = HeaderValue::from_str(&built.csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    // What the page still loads (the WASM and its glue); the look-up is in it.
    if let Ok(v) = HeaderValue::from_str(&built.link)
        && !built.link.is_empty()
    {
        h.insert(header::LINK, v);
    }
    res
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect()
    }

    #[test]
    fn inlines_only_plain_same_directory_sheets_and_empty_module_scripts() {
        let html = "<!doctype html><html><HEAD>\n\
<LINK REL=Stylesheet HREF=/assets/a.css>\n\
<link rel=\"stylesheet\" href=\"/assets/../x.css\">\n\
<link rel=\"stylesheet\" href=\"https://cdn.example/a.css\">\n\
<script type=module src='/assets/m.js' crossorigin></script>\n\
<script type=module src=/assets/n.js defer></script>\n\
<script src=/assets/classic.js></script>\n\
<script type=module>import '/assets/m.js';</script>\n\
<link rel=modulepreload href=/assets/m.js>\n\
</head><body><link rel=stylesheet href=/assets/b.css></body></html>";
        assert_eq!(inlinable(html), ["a.css", "m.js"]);
        let all = files(&[("a.css", "a{}"), ("m.js", "m()"), ("n.js", "n()"), ("classic.js", "c()"), ("b.css", "b{}")]);
        let out = inline_head(html, &all);
        let page = format!("{}{}", out.before, out.after);
        assert!(page.contains("<style data-href=\"/assets/a.css\">a{}</style>\n"), "{page}");
        assert!(page.contains("<script type=\"module\">m()</script>\n"), "{page}");
        // A dropped hint takes its line with it.
        assert!(page.contains("import '/assets/m.js';</script>\n</head>"), "{page}");
        for kept in [
            "/assets/../x.css",
            "https://cdn.example/a.css",
            "src=/assets/n.js defer",
            "src=/assets/classic.js",
            "href=/assets/b.css",
        ] {
            assert!(page.contains(kept), "{kept}: {page}");
        }
        assert_eq!(out.scripts, [hash_source("m()")]);
        assert_eq!(out.styles, [hash_source("a{}")]);
        // The data block goes before </body>, after the scripts that read it
        // (module scripts: they run once the document is parsed).
        assert_eq!(out.after, "</body></html>");
        // Nothing to inline: the page as it is.
        let out = inline_head(html, &HashMap::new());
        assert_eq!(format!("{}{}", out.before, out.after), html);
        assert!(out.after.starts_with("</body>"));
        // No </body>: at the end.
        let out = inline_head("<head><title>t</title></head><p>x", &HashMap::new());
        assert_eq!((out.before.as_str(), out.after.as_str()), ("<head><title>t</title></head><p>x", ""));
        assert_eq!(out.csp(crate::web::CSP), crate::web::CSP);
    }

    #[test]
    fn text_that_would_end_its_element_is_not_inlined() {
        let html =
            "<head><link rel=stylesheet href=/assets/a.css><script type=module src=/assets/m.js></script></head>";
        for (css, js) in
            [("x{}</STYLE>", "a()"), ("x{}", "a('</Script')"), ("x{}", "a('<!--')"), ("x{}", "a('<script')")]
        {
            let out = inline_head(html, &files(&[("a.css", css), ("m.js", js)]));
            let page = format!("{}{}", out.before, out.after);
            let css_ok = !css.to_ascii_lowercase().contains("</style");
            assert_eq!(page.contains("<style"), css_ok, "{page}");
            let js_ok = js == "a()";
            assert_eq!(page.contains("<script type=\"module\">a"), js_ok, "{page}");
            assert_eq!(page.contains("src=/assets/m.js"), !js_ok, "{page}");
        }
    }

    #[test]
    fn data_block_escapes_markup_and_refuses_what_is_not_json() {
        let block = island(200, None, br#"{"display_name":"</script><b>&amp;"}"#);
        assert_eq!(
            block,
            "<script type=\"application/json\" id=\"sp-lookup\">{\"status\":200,\"retryAfter\":null,\"body\":\
{\"display_name\":\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026amp;\"}}</script>\n"
        );
        let json = block.trim_end().trim_start_matches("<script type=\"application/json\" id=\"sp-lookup\">");
        let v: serde_json::Value = serde_json::from_str(json.trim_end_matches("</script>")).unwrap();
        assert_eq!(v["body"]["display_name"], "</script><b>&amp;");
        assert!(island(429, Some(60), b"not json").contains(r#"{"status":429,"retryAfter":60,"body":null}"#));
    }

    #[test]
    fn compressed_answer_is_the_page_and_its_data_block() {
        use std::io::Read;
        let start = "<!doctype html><html><head><link rel=stylesheet href=/assets/a.css>\n\
<script type=module src=/assets/m.js></script>\n</head><body><p>page</p>";
        let css = "body { color: #222; background: #fafafa; }\n".repeat(40);
        let js = "export function draw(state) { return state.code + ' ' + state.fingerprint; }\n".repeat(40);
        let decode = |z: &[u8], coding: Coding| {
            let mut out = String::new();
            match coding {
                Coding::Brotli => brotli::Decompressor::new(z, 4096).read_to_string(&mut out).unwrap(),
                Coding::Gzip => flate2::read::GzDecoder::new(z).read_to_string(&mut out).unwrap(),
                Coding::Identity => unreachable!(),
            };
            out
        };
        // With </body>, and without (an empty tail: once a brotli stream that did not decode).
        for html in [format!("{start}</body></html>\n"), start.to_owned(), format!("{start}\n")] {
            let inlined = inline_head(&html, &files(&[("a.css", &css), ("m.js", &js)]));
            let compressed = compress_head(&inlined.before).unwrap();
            for block in [String::new(), island(200, None, br#"{"code":"ABCD-1234"}"#), island(404, None, b"null")] {
                let tail = format!("{block}{}", inlined.after);
                for coding in [Coding::Brotli, Coding::Gzip] {
                    let z = answer(&compressed, &tail, coding).unwrap();
                    assert_eq!(decode(&z, coding), format!("{}{tail}", inlined.before), "{coding:?}");
                    // Far smaller than the page: its text was compressed, not stored.
                    assert!(z.len() * 5 < inlined.before.len(), "{coding:?}: {} of {}", z.len(), inlined.before.len());
                }
                assert_eq!(answer(&compressed, &tail, Coding::Identity), None);
            }
        }
    }

    #[test]
    fn csp_names_each_hash_in_its_directive() {
        let out = Inlined {
            before: String::new(),
            after: String::new(),
            scripts: vec!["'sha256-A'".into()],
            styles: vec!["'sha256-B'".into(), "'sha256-C'".into()],
        };
        let csp = out.csp(crate::web::CSP);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-A';"), "{csp}");
        assert!(csp.contains("style-src 'self' 'sha256-B' 'sha256-C';"), "{csp}");
        assert_eq!(csp.replace(" 'sha256-A'", "").replace(" 'sha256-B' 'sha256-C'", ""), crate::web::CSP);
    }
}
