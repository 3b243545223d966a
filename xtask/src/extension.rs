//! Packaging of the browser extension (`extension/`), the last step of
//! `cargo xtask build` and all of `cargo xtask extension` (re-package only,
//! no WASM build, when `dist/full` exists).
//!
//! Each package (`dist/extension/chromium/`, `dist/extension/firefox/`) holds:
//! - everything in `extension/` except `README.md`, tests and dot files;
//! - every `www/*.js` and `www/*.css` except the broker pages' own entry
//!   points (`main.js` and its bundle `consent-page.js`, `jwt-page.*`), under `www/` (the consent and inspector
//!   modules and styles the extension pages import);
//! - the full WASM bundle (`dist/full/sealpost_wasm.js` + `_bg.wasm`) under `pkg/`
//!   (the JWT inspector);
//! - the seal-only bundle (`dist/seal/…`, a third of the size: seal, sealJwe,
//!   fingerprint, userCode) under `pkg-seal/`, for the answer page and the
//!   background (which computes the popup's fingerprints); their bundles
//!   inline its glue and load its `.wasm` from there.
//!
//! Each page's module script, and the module background, is then bundled with
//! its imports into one file by esbuild ([`bundle_scripts`]): a page loads one
//! script instead of a serial waterfall of ES modules. `extension/` keeps the
//! sources as plain ES modules, which also work unbundled. Last, every script,
//! style sheet and `.wasm` that nothing loads any more (the modules and sheets
//! inlined into the pages, `www/` files only the broker's pages use, the seal
//! glue) is left out ([`prune_unreferenced`]).
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

/// The WASM bundle directories whose glue stays a separate module file when a
/// script imports it (the full bundle: the JWT pages' glue finds its `.wasm`
/// from `import.meta.url`). The seal bundle's glue (`pkg-seal/`) is bundled
/// into the scripts that import it (the answer page, the background), which
/// hand it their `.wasm` (a URL or a compiled module): one request and one
/// run-time `import()` fewer on every answer page.
const EXTERNAL_BUNDLES: &[&str] = &["pkg"];

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
        let broker_page = name == "main.js" || name == "consent-page.js" || name.starts_with("jwt-page.");
        if entry.is_file() && (name.ends_with(".js") || name.ends_with(".css")) && !broker_page {
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

    let mut common: Vec<(String, Vec<u8>)> = Vec::with_capacity(files.len());
    for (rel, from) in &files {
        common.push((rel.clone(), fs::read(from).map_err(|e| format!("read {}: {e}", from.display()))?));
    }
    bundle_scripts(&mut common, &manifest, EXTERNAL_BUNDLES)?;
    prune_unreferenced(&mut common, &manifest);

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
        entries.extend(common.iter().cloned());
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

/// Bundles each extension page's module scripts, and a module background, into
/// one file each with esbuild (npm, `node_modules/.bin/esbuild`), so a page
/// loads one script instead of a serial import waterfall of ES modules.
///
/// - Entries: every `<script type="module" src=…>` of every `.html` in the
///   package, and `background.service_worker` when `background.type` is
///   `"module"`. Each bundle replaces its entry file (same path), so the HTML
///   and the manifest keep their references.
/// - A page script whose bundle imports nothing statically (only dynamic
///   `import()`s, if any, of a WASM bundle's glue) becomes a **classic**
///   script (`--format=iife`) and its tag loses `type="module"` (a tag
///   without `async` gets `defer`, the module default): an extension page
///   runs a classic script sooner than a module one. `import.meta.url` is
///   `undefined` in a classic bundle: extension pages name their files with
///   `runtime.getURL`, and code that would resolve a URL from it fails loudly.
///   The background and pages that import a WASM bundle statically stay ES
///   modules.
/// - The WASM bundle directories in `externals` (`pkg/`) stay separate files:
///   their glue finds its `.wasm` from `import.meta.url`. Any other glue
///   (`pkg-seal/`) is bundled like any module: its importer must pass its
///   init function the `.wasm` (in a classic bundle `import.meta.url` is
///   undefined, and in a module bundle it names the bundle, not the glue).
/// - The `<link rel="modulepreload">` hints to modules that were inlined are
///   dropped; the modules themselves, and the inlined style sheets, then go
///   too when nothing else names them ([`prune_unreferenced`]).
/// - Each page's style sheets from the package are inlined as `<style>`
///   (one request fewer each; the CSP restricts scripts, not styles), except a
///   sheet with `url(`/`@import` (relative to the sheet) or a `media` attribute.
/// - The output is plain ES2022+ for the minimum browser versions, not
///   minified (readable in a store review), with no eval or `new Function`
///   (the MV3 CSP forbids both; the bundler adds neither).
///
/// `extension/` keeps its sources as ES modules that work unbundled.
fn bundle_scripts(files: &mut [(String, Vec<u8>)], manifest: &Value, externals: &[&str]) -> Result<()> {
    let mut entry_points: Vec<String> = Vec::new();
    let mut page_entries: Vec<String> = Vec::new();
    for (rel, bytes) in files.iter() {
        if !rel.ends_with(".html") {
            continue;
        }
        let html = String::from_utf8_lossy(bytes);
        for tag in tags(&html, "script") {
            let a = attrs(tag.text);
            if attr(&a, "type") != Some("module") {
                continue;
            }
            let Some(src) = attr(&a, "src") else { continue };
            let target = resolve_href(rel, src)
                .ok_or_else(|| format!("{rel}: module script `{src}` is not a file in the package"))?;
            if !entry_points.contains(&target) {
                entry_points.push(target.clone());
            }
            if !page_entries.contains(&target) {
                page_entries.push(target);
            }
        }
    }
    let mut worker_entry = None;
    if manifest["background"]["type"] == "module"
        && let Some(worker) = manifest["background"]["service_worker"].as_str()
    {
        let worker = resolve_href("", worker).ok_or_else(|| format!("background `{worker}` is not a package path"))?;
        if !entry_points.contains(&worker) {
            entry_points.push(worker.clone());
        }
        worker_entry = Some(worker);
    }
    if entry_points.is_empty() {
        return Ok(());
    }
    for e in &entry_points {
        if !files.iter().any(|(rel, _)| rel == e) {
            return Err(format!("`{e}` is loaded by the extension but not in the package"));
        }
    }
    entry_points.sort();

    let stage = std::env::temp_dir().join(format!(
        "sealpost-ext-bundle-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
    ));
    let result = run_esbuild(&stage, files, &entry_points, manifest, externals, |e| {
        page_entries.iter().any(|p| p == e) && worker_entry.as_deref() != Some(e)
    });
    let _ = fs::remove_dir_all(&stage);
    let Bundled { outputs, inlined, classic } = result?;

    let text_of = |ext: &str| -> Vec<(String, String)> {
        files
            .iter()
            .filter(|(rel, _)| rel.ends_with(ext))
            .map(|(rel, b)| (rel.clone(), String::from_utf8_lossy(b).into_owned()))
            .collect()
    };
    let css = text_of(".css");
    let svg = text_of(".svg");
    for (rel, bytes) in files.iter_mut() {
        if let Some(out) = outputs.iter().find(|(e, _)| e == rel) {
            *bytes = out.1.clone();
        } else if rel.ends_with(".html") {
            let html = drop_preloads(rel, &String::from_utf8_lossy(bytes), &inlined);
            let html = classic_script_tags(rel, &html, &classic);
            let html = inline_svg_images(rel, &html, &svg)?;
            *bytes = inline_styles(rel, &html, &css)?.into_bytes();
        }
    }
    Ok(())
}

/// What [`run_esbuild`] made: (entry, bundled bytes), the inlined modules, the
/// entries bundled as classic scripts.
struct Bundled {
    outputs: Vec<(String, Vec<u8>)>,
    inlined: Vec<String>,
    classic: Vec<String>,
}

/// Runs esbuild on `entry_points` (package paths) in a staging copy of the
/// package's scripts, as ES modules; then again, as classic scripts, on the
/// entries that `may_be_classic` allows and whose module bundle has no static
/// import left.
fn run_esbuild(
    stage: &Path,
    files: &[(String, Vec<u8>)],
    entry_points: &[String],
    manifest: &Value,
    externals: &[&str],
    may_be_classic: impl Fn(&str) -> bool,
) -> Result<Bundled> {
    let src = stage.join("src");
    for (rel, bytes) in files {
        if rel.ends_with(".js") || rel.ends_with(".mjs") {
            let to = src.join(rel);
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
            }
            fs::write(&to, bytes).map_err(|e| format!("write {}: {e}", to.display()))?;
        }
    }
    let bin = ensure_esbuild()?;
    let chrome = manifest["minimum_chrome_version"].as_str().unwrap_or("120");
    let firefox = FIREFOX_MIN_VERSION.split('.').next().unwrap_or(FIREFOX_MIN_VERSION);
    let esbuild = |entries: &[String], classic: bool| -> Result<Value> {
        let (format, out, meta) =
            if classic { ("iife", "out-classic", "meta-classic.json") } else { ("esm", "out", "meta.json") };
        let mut cmd = std::process::Command::new(&bin);
        cmd.current_dir(&src)
            .args(entries)
            .args([
                "--bundle",
                "--charset=utf8",
                "--outbase=.",
                "--log-level=warning",
                "--log-override:empty-import-meta=error",
            ])
            .arg(format!("--format={format}"))
            .arg(format!("--outdir=../{out}"))
            .arg(format!("--metafile=../{meta}"))
            .arg(format!("--target=chrome{chrome},firefox{firefox}"));
        if classic {
            cmd.arg("--define:import.meta.url=undefined");
        }
        for dir in externals {
            cmd.arg(format!("--external:./{dir}/*"));
        }
        crate::run_cmd(&mut cmd)?;
        serde_json::from_str(&read_to_string(&stage.join(meta))?).map_err(|e| format!("esbuild metafile: {e}"))
    };
    let meta = esbuild(entry_points, false)?;
    let inputs: Vec<String> = meta["inputs"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    for i in &inputs {
        if externals.iter().any(|d| i.starts_with(&format!("{d}/"))) {
            return Err(format!(
                "`{i}` would be bundled into a page script: import a WASM bundle as `./{{pkg}}/…` from a top-level file"
            ));
        }
    }
    let mut outputs = Vec::new();
    let mut classic = Vec::new();
    for e in entry_points {
        let out = stage.join("out").join(e);
        outputs.push((e.clone(), fs::read(&out).map_err(|err| format!("esbuild output {}: {err}", out.display()))?));
        // Every import left in the bundle must name a file of the package.
        let key = format!("../out/{e}");
        let mut static_import = false;
        for imp in meta["outputs"][&key]["imports"].as_array().into_iter().flatten() {
            let path = imp["path"].as_str().unwrap_or_default();
            let ok = resolve_href(e, path).is_some_and(|p| files.iter().any(|(rel, _)| *rel == p));
            if !ok {
                return Err(format!("bundled `{e}` imports `{path}`, which is not a file in the package"));
            }
            static_import |= imp["kind"].as_str() != Some("dynamic-import");
        }
        if !static_import && may_be_classic(e) {
            classic.push(e.clone());
        }
    }
    if !classic.is_empty() {
        esbuild(&classic, true)?;
        for e in &classic {
            let out = stage.join("out-classic").join(e);
            let bytes = fs::read(&out).map_err(|err| format!("esbuild output {}: {err}", out.display()))?;
            if let Some(slot) = outputs.iter_mut().find(|(x, _)| x == e) {
                slot.1 = bytes;
            }
        }
    }
    let inlined = inputs.into_iter().filter(|i| !entry_points.contains(i)).collect();
    Ok(Bundled { outputs, inlined, classic })
}

/// `html` with its module script tags for the `classic` entries made classic:
/// `type="module"` dropped, `defer` added when the tag has neither `async`
/// nor `defer` (a module script is deferred by default).
fn classic_script_tags(rel: &str, html: &str, classic: &[String]) -> String {
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for tag in tags(html, "script") {
        let a = attrs(tag.text);
        let src = attr(&a, "src").and_then(|s| resolve_href(rel, s));
        if attr(&a, "type") != Some("module") || !src.is_some_and(|s| classic.contains(&s)) {
            continue;
        }
        let mut t = String::from("<script");
        for (name, value) in &a {
            if name == "type" {
                continue;
            }
            if value.is_empty() {
                t.push_str(&format!(" {name}"));
            } else {
                t.push_str(&format!(" {name}=\"{value}\""));
            }
        }
        if attr(&a, "async").is_none() && attr(&a, "defer").is_none() {
            t.push_str(" defer");
        }
        t.push('>');
        out.push_str(&html[at..tag.start]);
        out.push_str(&t);
        at = tag.end;
    }
    out.push_str(&html[at..]);
    out
}

/// `html` with each `<link rel="stylesheet" href=…>` to a package style sheet
/// in `css` replaced by a `<style>` with its text; left as a link: a sheet
/// with `url(` or `@import` (they resolve from the sheet's own path), a link
/// with a `media` attribute, anything not in the package.
fn inline_styles(rel: &str, html: &str, css: &[(String, String)]) -> Result<String> {
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for tag in tags(html, "link") {
        let a = attrs(tag.text);
        let sheet =
            attr(&a, "rel").is_some_and(|r| r.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("stylesheet")));
        if !sheet || attr(&a, "media").is_some() {
            continue;
        }
        let Some(target) = attr(&a, "href").and_then(|h| resolve_href(rel, h)) else { continue };
        let Some((_, text)) = css.iter().find(|(p, _)| *p == target) else { continue };
        let lower = text.to_ascii_lowercase();
        if lower.contains("url(") || lower.contains("@import") {
            continue;
        }
        if lower.contains("</style") {
            return Err(format!("{target}: `</style` in a style sheet cannot be inlined into {rel}"));
        }
        out.push_str(&html[at..tag.start]);
        out.push_str(&format!("<style>/* {target} */\n{}</style>", text.trim_end_matches('\n').to_owned() + "\n"));
        at = tag.end;
    }
    out.push_str(&html[at..]);
    Ok(out)
}

/// `html` with each `<img src=…>` naming an SVG file of the package replaced by
/// that drawing as inline `<svg>` (the logo: one source file, `icons/icon.svg`,
/// and no image request or separate SVG document on any page's start). The
/// `<svg>` keeps the file's `xmlns` and `viewBox` and takes the `<img>`'s
/// `class`, `width` and `height`; `alt=""` makes it `aria-hidden` (and not
/// focusable), any other `alt` its `aria-label` with `role="img"`. The file's
/// `<title>` is left out (it would name a decorative image), and the
/// whitespace between its tags. An SVG with a script or an event attribute is
/// refused (the CSP would block it inline anyway).
fn inline_svg_images(rel: &str, html: &str, svg: &[(String, String)]) -> Result<String> {
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for tag in tags(html, "img") {
        let a = attrs(tag.text);
        let Some(target) = attr(&a, "src").and_then(|s| resolve_href(rel, s)) else { continue };
        let Some((_, text)) = svg.iter().find(|(p, _)| *p == target) else { continue };
        out.push_str(&html[at..tag.start]);
        out.push_str(&svg_markup(&target, text, &a)?);
        at = tag.end;
    }
    out.push_str(&html[at..]);
    Ok(out)
}

/// The inline form of the SVG file `name` for an `<img>` with attributes `img` (see [`inline_svg_images`]).
fn svg_markup(name: &str, text: &str, img: &[(String, String)]) -> Result<String> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("<script") || tags(text, "svg").is_empty() || attrs_with_events(text) {
        return Err(format!("{name}: not a plain SVG drawing that can be inlined"));
    }
    let start = lower.find("<svg").unwrap_or(0);
    let end = lower.rfind("</svg>").map(|e| e + "</svg>".len()).ok_or_else(|| format!("{name}: no </svg>"))?;
    let mut body = text[start..end].to_owned();
    if let (Some(t), Some(e)) = (body.find("<title"), body.find("</title>")) {
        body.replace_range(t..e + "</title>".len(), "");
    }
    let body: String = body.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    let body = body.replace("> <", "><");
    let root_end = body.find('>').ok_or_else(|| format!("{name}: unterminated <svg>"))?;
    let root = attrs(&body[1..root_end]);
    let mut tag = String::from("<svg");
    for (k, v) in root.iter().filter(|(k, _)| k == "xmlns" || k == "viewbox") {
        let k = if k == "viewbox" { "viewBox" } else { k.as_str() };
        tag.push_str(&format!(" {k}=\"{v}\""));
    }
    for k in ["class", "width", "height"] {
        if let Some(v) = attr(img, k) {
            tag.push_str(&format!(" {k}=\"{v}\""));
        }
    }
    match attr(img, "alt") {
        Some(alt) if !alt.is_empty() => tag.push_str(&format!(" role=\"img\" aria-label=\"{alt}\"")),
        _ => tag.push_str(" aria-hidden=\"true\" focusable=\"false\""),
    }
    tag.push('>');
    Ok(tag + &body[root_end + 1..])
}

/// Whether any start tag in `text` has an `on…` (event handler) attribute.
fn attrs_with_events(text: &str) -> bool {
    let mut i = 0;
    while let Some(off) = text[i..].find('<') {
        let start = i + off + 1;
        let end = text[start..].find('>').map_or(text.len(), |e| start + e);
        if attrs(&text[start..end]).iter().any(|(k, _)| k.starts_with("on")) {
            return true;
        }
        i = end;
    }
    false
}

/// `node_modules/.bin/esbuild` (npm devDependency, pinned in package.json); runs `npm ci` when missing.
pub(crate) fn ensure_esbuild() -> Result<PathBuf> {
    let bin = root().join("node_modules/.bin/esbuild");
    if !bin.exists() {
        crate::run_cmd(
            std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(root()),
        )?;
    }
    if bin.exists() { Ok(bin) } else { Err(format!("{} missing after npm ci", bin.display())) }
}

/// One start tag in an HTML text: where it is and its text without `<` and `>`.
struct Tag<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

/// Every start tag named `name` (ASCII case-insensitive) in `html`, skipping comments.
fn tags<'a>(html: &'a str, name: &str) -> Vec<Tag<'a>> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while let Some(off) = lower[i..].find('<') {
        let start = i + off;
        if lower[start..].starts_with("<!--") {
            i = lower[start..].find("-->").map_or(lower.len(), |e| start + e + 3);
            continue;
        }
        let Some(len) = lower[start..].find('>') else { break };
        let end = start + len + 1;
        let inner = &html[start + 1..end - 1];
        let tag_name = inner.split(|c: char| c.is_ascii_whitespace() || c == '/').next().unwrap_or_default();
        if tag_name.eq_ignore_ascii_case(name) {
            out.push(Tag { start, end, text: inner });
        }
        i = end;
    }
    out
}

/// The attributes of a start tag's text (`name a="1" b='2' c=3 d`), names lower-cased.
fn attrs(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = tag.as_bytes();
    let mut i = b.iter().position(|c| c.is_ascii_whitespace()).unwrap_or(b.len());
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let ns = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if ns == i {
            break;
        }
        let name = tag[ns..i].to_ascii_lowercase();
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs + b[vs..].iter().position(|&c| c == q).unwrap_or(b.len() - vs);
                value = tag[vs..i].to_owned();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = tag[vs..i].to_owned();
            }
        }
        out.push((name, value));
    }
    out
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The package path that `href` names from the file `from` (a package path):
/// `./a.js`, `../lib/b.js`, `/c.js`; `None` for a URL with a scheme, `//host`,
/// or a path that leaves the package.
fn resolve_href(from: &str, href: &str) -> Option<String> {
    let href = href.split(['?', '#']).next().unwrap_or_default();
    if href.is_empty() || href.starts_with("//") || href.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    if !href.starts_with('/') {
        parts.extend(from.split('/'));
        parts.pop(); // the file name of `from`
    }
    for seg in href.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() { None } else { Some(parts.join("/")) }
}

/// `html` without its `<link rel="modulepreload">` hints to modules in `gone`
/// (a hint alone on its line goes with its line).
fn drop_preloads(rel: &str, html: &str, gone: &[String]) -> String {
    let mut cut: Vec<(usize, usize)> = Vec::new();
    for tag in tags(html, "link") {
        let a = attrs(tag.text);
        let preload = attr(&a, "rel")
            .is_some_and(|r| r.split_ascii_whitespace().any(|t| t.eq_ignore_ascii_case("modulepreload")));
        let target = attr(&a, "href").and_then(|h| resolve_href(rel, h));
        if !(preload && target.is_some_and(|t| gone.contains(&t))) {
            continue;
        }
        let (mut s, mut e) = (tag.start, tag.end);
        let line_start = html[..s].rfind('\n').map_or(0, |p| p + 1);
        let line_end = html[e..].find('\n').map_or(html.len(), |p| e + p + 1);
        if html[line_start..s].trim().is_empty() && html[e..line_end].trim().is_empty() {
            (s, e) = (line_start, line_end);
        }
        cut.push((s, e));
    }
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    for (s, e) in cut {
        out.push_str(&html[at..s]);
        at = e;
    }
    out.push_str(&html[at..]);
    out
}

/// Drops every script, style sheet and `.wasm` of the package that nothing
/// loads once the pages are bundled (the modules inlined into the bundles, the
/// style sheets inlined into the pages, `www/` files only the broker's pages
/// use). Kept: the manifest, every page and every other file (icons), and, to a
/// fixed point, each code file that something kept names:
/// - a page's `<script src>`, `<link href>` (a sheet not inlined, a preload) or `<img src>`;
/// - the manifest naming it (the background script);
/// - a kept script or sheet naming it as a quoted path (`"pkg-seal/x.wasm"` for
///   `runtime.getURL`, `'x_bg.wasm'` beside the glue for `import.meta.url`,
///   `"./pkg/x.js"` in an import), or in a `url(…)`.
///
/// The names esbuild writes as comments between inlined modules (`// lib/dom.js`)
/// are not quoted, so they keep nothing.
fn prune_unreferenced(files: &mut Vec<(String, Vec<u8>)>, manifest: &Value) {
    let is_code = |rel: &str| [".js", ".mjs", ".css", ".wasm"].iter().any(|x| rel.ends_with(x));
    let mut keep: Vec<bool> = files.iter().map(|(rel, _)| !is_code(rel)).collect();
    let index = |rel: &str| files.iter().position(|(r, _)| r == rel);
    // The manifest's paths (the background script; any other key naming a file).
    let manifest_text = manifest.to_string();
    let mut todo: Vec<usize> = (0..files.len())
        .filter(|&j| is_code(&files[j].0) && names_path(&manifest_text, "manifest.json", &files[j].0))
        .collect();
    for (rel, bytes) in files.iter() {
        if !rel.ends_with(".html") {
            continue;
        }
        let html = String::from_utf8_lossy(bytes);
        for name in ["script", "link", "img"] {
            for tag in tags(&html, name) {
                let a = attrs(tag.text);
                let href = attr(&a, if name == "link" { "href" } else { "src" });
                if let Some(i) = href.and_then(|h| resolve_href(rel, h)).and_then(|t| index(&t)) {
                    todo.push(i);
                }
            }
        }
    }
    while let Some(i) = todo.pop() {
        if keep[i] || !is_code(&files[i].0) {
            continue;
        }
        keep[i] = true;
        if files[i].0.ends_with(".wasm") {
            continue;
        }
        let text = String::from_utf8_lossy(&files[i].1);
        let from = files[i].0.clone();
        for (j, (rel, _)) in files.iter().enumerate() {
            if !keep[j] && is_code(rel) && names_path(&text, &from, rel) {
                todo.push(j);
            }
        }
    }
    let mut k = keep.into_iter();
    files.retain(|_| k.next().unwrap_or(true));
}

/// Whether the script or sheet `text` (at package path `from`) names the
/// package path `target` as a quoted string or in `url(…)`: `target` itself,
/// `/target`, or relative to `from`'s directory (`x.wasm`, `./x.js`, `../lib/x.js`).
fn names_path(text: &str, from: &str, target: &str) -> bool {
    let from_dir: Vec<&str> = from.split('/').collect();
    let from_dir = &from_dir[..from_dir.len() - 1];
    let to: Vec<&str> = target.split('/').collect();
    let common = from_dir.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let relative = "../".repeat(from_dir.len() - common) + &to[common..].join("/");
    let mut forms = vec![target.to_owned(), format!("/{target}"), relative.clone()];
    if !relative.starts_with("../") {
        forms.push(format!("./{relative}"));
    }
    forms.iter().any(|f| {
        ["\"", "'", "`"].iter().any(|q| text.contains(&format!("{q}{f}{q}")))
            || text.contains(&format!("url({f})"))
            || text.contains(&format!("url(\"{f}\")"))
            || text.contains(&format!("url('{f}')"))
    })
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
    fn html_tags_and_attributes() {
        let html = "<!-- <script src=no.js> -->\n<SCRIPT type=\"module\" src='a.js' async></script>\n<link rel=modulepreload href=\"lib/b.js\">";
        let scripts = tags(html, "script");
        assert_eq!(scripts.len(), 1);
        let a = attrs(scripts[0].text);
        assert_eq!(attr(&a, "type"), Some("module"));
        assert_eq!(attr(&a, "src"), Some("a.js"));
        assert_eq!(attr(&a, "async"), Some(""));
        assert_eq!(attr(&attrs(tags(html, "link")[0].text), "href"), Some("lib/b.js"));
    }

    #[test]
    fn hrefs_resolve_inside_the_package_only() {
        assert_eq!(resolve_href("popup.html", "./lib/dom.js").as_deref(), Some("lib/dom.js"));
        assert_eq!(resolve_href("lib/a.js", "../pkg/x.js?v=1").as_deref(), Some("pkg/x.js"));
        assert_eq!(resolve_href("lib/a.js", "/popup.js").as_deref(), Some("popup.js"));
        assert_eq!(resolve_href("popup.html", "../outside.js"), None);
        assert_eq!(resolve_href("popup.html", "https://example.com/a.js"), None);
        assert_eq!(resolve_href("popup.html", "//example.com/a.js"), None);
    }

    #[test]
    fn classic_tags_and_inlined_styles() {
        let html = "<script type=\"module\" src=\"a.js\" async></script>\n<script type=\"module\" src=\"b.js\"></script>\n<script type=\"module\" src=\"c.js\"></script>";
        let out = classic_script_tags("p.html", html, &["a.js".to_owned(), "b.js".to_owned()]);
        assert_eq!(
            out,
            "<script src=\"a.js\" async></script>\n<script src=\"b.js\" defer></script>\n<script type=\"module\" src=\"c.js\"></script>"
        );
        let css = vec![
            ("www/a.css".to_owned(), "p { color: red }\n".to_owned()),
            ("b.css".to_owned(), "p { background: url(x.png) }".to_owned()),
        ];
        let html = "<link rel=\"stylesheet\" href=\"www/a.css\">\n<link rel=\"stylesheet\" href=\"b.css\">\n<link rel=\"stylesheet\" href=\"www/a.css\" media=\"print\">";
        assert_eq!(
            inline_styles("p.html", html, &css).unwrap(),
            "<style>/* www/a.css */\np { color: red }\n</style>\n<link rel=\"stylesheet\" href=\"b.css\">\n<link rel=\"stylesheet\" href=\"www/a.css\" media=\"print\">"
        );
        let bad = vec![("a.css".to_owned(), "/* </style> */".to_owned())];
        assert!(inline_styles("p.html", "<link rel=stylesheet href=a.css>", &bad).is_err());
    }

    #[test]
    fn svg_images_are_inlined() {
        let svg = vec![(
            "icons/icon.svg".to_owned(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 128 128\" width=\"128\" height=\"128\">\n  <title>Logo</title>\n  <rect x=\"4\" y=\"4\" width=\"120\" height=\"120\"/>\n  <circle cx=\"64\" cy=\"74\" r=\"18\"/>\n</svg>\n"
                .to_owned(),
        )];
        let html = "<h1><img class=\"logo\" src=\"icons/icon.svg\" alt=\"\" width=\"20\" height=\"20\">Title</h1><img src=\"x.png\" alt=\"\">";
        assert_eq!(
            inline_svg_images("popup.html", html, &svg).unwrap(),
            "<h1><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 128 128\" class=\"logo\" width=\"20\" height=\"20\" aria-hidden=\"true\" focusable=\"false\"><rect x=\"4\" y=\"4\" width=\"120\" height=\"120\"/><circle cx=\"64\" cy=\"74\" r=\"18\"/></svg>Title</h1><img src=\"x.png\" alt=\"\">"
        );
        let named = inline_svg_images("a/p.html", "<img src=\"../icons/icon.svg\" alt=\"Sealpost\">", &svg).unwrap();
        assert!(named.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 128 128\" role=\"img\" aria-label=\"Sealpost\">"), "{named}");
        let bad = vec![("i.svg".to_owned(), "<svg><rect onclick=\"x()\"/></svg>".to_owned())];
        assert!(inline_svg_images("p.html", "<img src=\"i.svg\" alt=\"\">", &bad).is_err());
    }

    #[test]
    fn preload_hints_to_inlined_modules_are_dropped() {
        let html = "<head>\n<link rel=\"modulepreload\" href=\"lib/a.js\">\n<link rel=\"modulepreload\" href=\"pkg/x.js\">\n<link rel=\"stylesheet\" href=\"lib/a.js\">\n</head>";
        let out = drop_preloads("page.html", html, &["lib/a.js".to_owned()]);
        assert_eq!(
            out,
            "<head>\n<link rel=\"modulepreload\" href=\"pkg/x.js\">\n<link rel=\"stylesheet\" href=\"lib/a.js\">\n</head>"
        );
    }

    /// The packaged pages load one bundled script each; nothing they load is missing.
    #[test]
    fn packaged_pages_load_bundled_scripts() {
        if !root().join("node_modules/.bin/esbuild").exists()
            || !root().join("dist/full/sealpost_wasm.js").exists()
            || !root().join("dist/seal/sealpost_wasm.js").exists()
        {
            eprintln!("skipped: needs `npm ci` and the WASM bundles in dist/");
            return;
        }
        let dist = std::env::temp_dir().join(format!("sealpost-xtask-ext-test-{}", std::process::id()));
        for b in ["full", "seal"] {
            fs::create_dir_all(dist.join(b)).unwrap();
            for f in [format!("{STEM}.js"), format!("{STEM}_bg.wasm")] {
                fs::copy(root().join("dist").join(b).join(&f), dist.join(b).join(&f)).unwrap();
            }
        }
        let packages = package(&dist).unwrap();
        for p in &packages {
            for page in ["popup", "answer", "options"] {
                let html = fs::read_to_string(p.dir.join(format!("{page}.html"))).unwrap();
                assert!(!html.contains("lib/browser.js"), "{page}.html still hints at an inlined module");
                let js = fs::read_to_string(p.dir.join(format!("{page}.js"))).unwrap();
                assert!(!js.contains("from \"./lib/") && !js.contains("from \"./www/"), "{page}.js not bundled");
                assert!(!js.contains("eval(") && !js.contains("new Function"), "{page}.js would break the CSP");
                // A classic script (no static import left), and style sheets inlined.
                assert!(html.contains(&format!("<script src=\"{page}.js\"")), "{page}.html: {page}.js not classic");
                assert!(!html.contains("rel=\"stylesheet\""), "{page}.html still links a style sheet");
                // The logo (icons/icon.svg, one source) is drawn inline: no image request.
                assert!(
                    !html.contains("src=\"icons/icon.svg\"") && html.contains("<svg "),
                    "{page}.html: logo not inlined"
                );
            }
            // The JWT inspector imports the full WASM bundle statically: it stays a module.
            let html = fs::read_to_string(p.dir.join("inspector.html")).unwrap();
            assert!(html.contains("<script type=\"module\" src=\"inspector.js\""));
            // What the pages load at run time is there; what was inlined into them is not.
            for kept in [
                "background.js",
                "devtools.js",
                "panel.js",
                "pkg/sealpost_wasm.js",
                "pkg/sealpost_wasm_bg.wasm",
                "pkg-seal/sealpost_wasm_bg.wasm",
                "www/consent.css",
                "icons/icon.svg",
            ] {
                assert!(p.dir.join(kept).is_file(), "{} lacks {kept}", p.browser);
            }
            for gone in [
                "lib/browser.js",
                "lib/brokers.js",
                "lib/dom.js",
                "www/consent-view.js",
                "www/consent.js",
                "www/jwt-view.js",
                "www/ext.css",
                "www/page.css",
                "popup.css",
                "pkg-seal/sealpost_wasm.js",
            ] {
                assert!(!p.dir.join(gone).exists(), "{} still ships {gone}", p.browser);
            }
        }
        fs::remove_dir_all(&dist).unwrap();
    }

    #[test]
    fn unreferenced_code_is_pruned() {
        let f = |rel: &str, text: &str| (rel.to_owned(), text.as_bytes().to_vec());
        let mut files = vec![
            f("a.html", "<script src=\"a.js\"></script><link rel=\"stylesheet\" href=\"kept.css\"><img src=\"i.svg\">"),
            f("a.js", "// lib/inlined.js\nconst W = \"pkg/x_bg.wasm\"; import(\"./pkg/glue.js\");"),
            f("bg.js", "x"),
            f("i.svg", "<svg/>"),
            f("kept.css", "p { background: url(img/dot.css) }"),
            f("img/dot.css", ""),
            f("lib/inlined.js", "export const x = 1;"),
            f("pkg/glue.js", "new URL('glue_bg.wasm', import.meta.url)"),
            f("pkg/glue_bg.wasm", ""),
            f("pkg/x_bg.wasm", ""),
            f("unused.css", ""),
        ];
        prune_unreferenced(&mut files, &json!({ "background": { "service_worker": "bg.js" } }));
        let left: Vec<&str> = files.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(
            left,
            [
                "a.html",
                "a.js",
                "bg.js",
                "i.svg",
                "kept.css",
                "img/dot.css",
                "pkg/glue.js",
                "pkg/glue_bg.wasm",
                "pkg/x_bg.wasm"
            ]
        );
        assert!(names_path("import '../lib/b.js'", "www/a.js", "lib/b.js"));
        assert!(!names_path("// lib/b.js", "a.js", "lib/b.js"));
    }

    #[test]
    fn check_manifest_refuses_wide_permissions() {
        let mut m: Value =
            serde_json::from_str(&fs::read_to_string(root().join("extension/manifest.json")).unwrap()).unwrap();
        m["permissions"].as_array_mut().unwrap().push(json!("tabs"));
        assert!(check_manifest(&m).unwrap_err().contains("tabs"));
    }
}
