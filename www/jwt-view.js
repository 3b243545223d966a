// The JWT report renderer: one module that turns the WASM inspector's report
// (`inspectJwt`, crates/core/src/jwt) into DOM, for the extension's inspector
// page and DevTools panel (packaged as extension/www/jwt-view.js) and for a
// page the broker serves from www/. It only shows what the core reports: it
// never decides on its own whether a signature is valid. No imports, so it
// drops into either place as one file; the style is www/jwt-view.css.
//
// Every string from the token is set as text (`h` below), never as HTML.
//
//   const view = renderReport(report, { token, onLocate });
//   container.replaceChildren(view);
//   setInterval(() => tickTimes(container), 1000);   // live `exp` countdown
//   locate(container, "payload.exp");                // highlight a member

/** h("li", {class, "data-x": …, onclick}, "text", child…): text-only children, never HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const SEVERITIES = ["critical", "high", "medium", "low", "info"];

const KIND_NAMES = {
  id_token: "OpenID Connect ID token",
  access_token: "OAuth access token (RFC 9068)",
  access_token_like: "Access token (not typed at+jwt)",
  dpop_proof: "DPoP proof (RFC 9449)",
  logout_token: "Back-channel logout token",
  id_jag: "Identity Assertion JWT authorization grant (ID-JAG)",
  client_assertion: "Client assertion (private_key_jwt)",
  encrypted: "Encrypted token (JWE)",
  other: "JWT",
};

const SEGMENT_NAMES = { header: "header", payload: "payload", signature: "signature" };

/** A verdict a person can trust: "verified" only when the core says so. */
export function verdict(report) {
  const v = report.verification || {};
  if (report.summary && report.summary.signatureVerified === true && v.status === "valid") {
    return { level: "ok", title: "Signature verified", detail: v.detail || "" };
  }
  if (v.status === "not_attempted") {
    return { level: "info", title: "Signature not checked", detail: "No key given: paste a key under Verify to check the signature." };
  }
  if (v.status === "invalid") return { level: "bad", title: "Signature invalid", detail: v.detail || "" };
  return { level: "bad", title: "Signature not verified", detail: v.detail || "" };
}

/** The key the core used, in words: "RSA 2048-bit key kid "k1" (JWKS #2)". */
export function keyName(k) {
  if (!k) return "";
  const size = k.crv ? k.crv : k.bits ? `${k.bits}-bit` : "";
  const kid = k.kid ? ` kid “${k.kid}”` : "";
  return `${k.kty}${size ? ` ${size}` : ""} key${kid} (${k.source})`;
}

function kindName(kind) {
  return KIND_NAMES[kind] || "JWT";
}

/** Render the whole report. options: { token, now (seconds), onLocate(path), idPrefix }. */
export function renderReport(report, options = {}) {
  const token = options.token ?? "";
  const id = (s) => `${options.idPrefix || "jr"}-${s}`;
  const e = report.explanation || {};
  const v = verdict(report);
  const root = h("div", { class: "jr", "data-testid": "jwt-report" });

  // Summary: kind, why, verdict, counts.
  const counts = report.summary || {};
  root.append(
    h(
      "section",
      { class: "jr-summary", "aria-labelledby": id("summary") },
      h("h2", { id: id("summary"), class: "jr-h" }, "Summary"),
      h(
        "p",
        { class: "jr-kind" },
        h("strong", { "data-testid": "jwt-kind", "data-kind": e.kind || "" }, e.kind ? kindName(e.kind) : "Not a JWT"),
        e.kindReason ? h("span", { class: "jr-muted" }, ` — ${e.kindReason}`) : null,
      ),
      h(
        "p",
        { class: `jr-verdict jr-verdict-${v.level}`, "data-testid": "jwt-verdict", "data-status": (report.verification || {}).status || "" },
        h("strong", {}, v.title),
        v.detail ? h("span", {}, `: ${v.detail}`) : null,
      ),
      h(
        "p",
        { class: "jr-counts", "data-testid": "jwt-counts" },
        SEVERITIES.map((s) => (counts[s] ? h("span", { class: `jr-sev jr-sev-${s}` }, `${counts[s]} ${s}`) : null)),
        !SEVERITIES.some((s) => counts[s]) ? h("span", { class: "jr-muted" }, "No findings") : null,
      ),
    ),
  );

  if (report.dpop) root.append(renderDpop(report.dpop, id));
  root.append(renderToken(report, token, id));
  root.append(renderFindings(report, options, id));
  root.append(renderMeaning(report, id));
  root.append(renderJson("Header", "header", report.header, null, id, report));
  root.append(renderJson("Claims", "payload", report.payload, report.payload ? null : report.payloadText, id, report));
  if (report.nested) {
    const inner = renderReport(report.nested, { ...options, token: "", idPrefix: `${options.idPrefix || "jr"}-n` });
    root.append(h("section", { class: "jr-nested", "aria-labelledby": id("nested") }, h("h2", { id: id("nested"), class: "jr-h" }, "Nested token (cty: JWT)"), inner));
  }
  return root;
}

const PROOF_KEY_TITLES = {
  valid: "Proof signature verified with its own header key",
  invalid: "Proof signature invalid",
  no_key: "No key in the proof's header",
  private_key: "Header key refused: it is a private key",
  key_unusable: "Header key unusable",
  unsupported: "Proof signature not checked",
  malformed: "Proof not accepted: not well-formed",
};
const BINDING_WORDS = { match: "matches", mismatch: "does not match", missing: "missing", unchecked: "not checked" };

/** The DPoP proof (RFC 9449): signature against its own header key, thumbprint, ath / cnf.jkt binding. */
function renderDpop(d, id) {
  const ok = d.proofKeyVerified === true && d.proofKeyStatus === "valid";
  const sec = h(
    "section",
    { class: "jr-dpop", "aria-labelledby": id("dpop"), "data-testid": "jwt-dpop" },
    h("h2", { id: id("dpop"), class: "jr-h" }, "DPoP proof"),
    h(
      "p",
      { class: `jr-verdict jr-verdict-${ok ? "ok" : "bad"}`, "data-testid": "jwt-dpop-proof", "data-status": d.proofKeyStatus },
      h("strong", {}, PROOF_KEY_TITLES[d.proofKeyStatus] || d.proofKeyStatus),
      d.detail ? h("span", {}, `: ${d.detail}`) : null,
    ),
    h(
      "p",
      { class: "jr-small jr-muted" },
      "The proof is checked with the public key it carries (RFC 9449 section 4.3). That shows the sender holds this key, not that you trust it: trust comes from the access token's cnf.jkt, or from a key you paste under Verify.",
    ),
  );
  const facts = h("dl", { class: "jr-facts" });
  facts.append(h("dt", {}, "Key thumbprint (jkt)"), h("dd", {}, d.thumbprint ? h("code", { "data-testid": "jwt-dpop-thumbprint" }, d.thumbprint) : h("span", { class: "jr-muted" }, "none")));
  if (d.key) facts.append(h("dt", {}, "Header key"), h("dd", {}, keyName(d.key)));
  if (d.htm) facts.append(h("dt", {}, "Method (htm)"), h("dd", {}, h("code", {}, d.htm)));
  if (d.htu) facts.append(h("dt", {}, "URI (htu)"), h("dd", {}, h("code", {}, d.htu)));
  sec.append(facts);
  if (!d.accessTokenGiven) {
    sec.append(h("p", { class: "jr-muted jr-small", "data-testid": "jwt-dpop-no-token" }, "Paste the access token sent with this proof to check its ath and the token's cnf.jkt binding."));
    return sec;
  }
  const row = (label, b, what, testid) => {
    if (!b) return null;
    const good = b.status === "match";
    return h(
      "tr",
      { "data-testid": testid, "data-status": b.status },
      h("th", { scope: "row" }, label),
      h("td", {}, h("span", { class: good ? "jr-good" : b.status === "unchecked" ? "jr-muted" : "jr-bad" }, BINDING_WORDS[b.status] || b.status)),
      h("td", {}, b.expected ? h("code", {}, b.expected) : h("span", { class: "jr-muted" }, "—")),
      h("td", {}, b.actual ? h("code", {}, b.actual) : h("span", { class: "jr-muted" }, what)),
    );
  };
  sec.append(
    h(
      "table",
      { class: "jr-times jr-binding", "data-testid": "jwt-dpop-binding" },
      h("caption", {}, "Binding to the access token"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Check"), h("th", { scope: "col" }, "Result"), h("th", { scope: "col" }, "Computed"), h("th", { scope: "col" }, "In the tokens"))),
      h(
        "tbody",
        {},
        row("ath (SHA-256 of the access token)", d.ath, "no ath in the proof", "jwt-dpop-ath"),
        row("cnf.jkt of the access token = proof key thumbprint", d.jkt, "no cnf.jkt readable", "jwt-dpop-jkt"),
      ),
    ),
  );
  return sec;
}

function renderToken(report, token, id) {
  const segs = (report.input && report.input.segments) || [];
  const code = h("code", { class: "jr-token", "data-testid": "jwt-token" });
  let at = 0;
  const names = [];
  for (const s of segs) {
    if (s.offset > at) code.append(h("span", { class: "jr-seg-other" }, token.slice(at, s.offset)));
    const cls = SEGMENT_NAMES[s.name] ? `jr-seg-${s.name}` : "jr-seg-other";
    code.append(h("span", { class: cls, "data-segment": s.name, "data-path": s.name === "signature" ? "signature" : null }, token.slice(s.offset, s.offset + s.length)));
    at = s.offset + s.length;
    names.push(s);
  }
  if (at < token.length) code.append(h("span", { class: "jr-seg-other" }, token.slice(at)));
  const legend = h(
    "ul",
    { class: "jr-legend", "aria-label": "Segments" },
    names.map((s) =>
      h(
        "li",
        {},
        h("span", { class: `jr-swatch jr-seg-${SEGMENT_NAMES[s.name] ? s.name : "other"}`, "aria-hidden": "true" }),
        `${s.name}: ${s.length} characters`,
        s.decoded_length === null ? " (not decodable)" : `, ${s.decoded_length} bytes`,
      ),
    ),
  );
  const sig = report.signature;
  return h(
    "section",
    { class: "jr-token-section", "aria-labelledby": id("token"), "data-path": "token" },
    h("h2", { id: id("token"), class: "jr-h" }, "Token"),
    h("p", { class: "jr-muted jr-small" }, `${(report.input || {}).length ?? token.length} characters, ${formName((report.input || {}).form)}`),
    h("p", { class: "jr-token-wrap" }, code),
    legend,
    sig
      ? h("p", { class: "jr-small jr-muted" }, `Signature: ${sig.length} bytes${sig.expectedLength ? ` (the algorithm expects ${sig.expectedLength})` : ""}, ${sig.encoding} encoding.`)
      : null,
  );
}

function formName(form) {
  return (
    { compact_jws: "compact JWS", compact_jwe: "compact JWE (encrypted)", json_jws: "JSON-serialized JWS", json_jwe: "JSON-serialized JWE", unknown: "not a recognisable JWT" }[form] ||
    "not a recognisable JWT"
  );
}

function renderFindings(report, options, id) {
  const list = h("ul", { class: "jr-findings", "data-testid": "jwt-findings" });
  for (const f of report.findings || []) {
    const locate = f.location
      ? h(
          "button",
          {
            type: "button",
            class: "jr-loc",
            "aria-label": `Show ${f.location}`,
            "data-location": f.location,
            onclick: () => options.onLocate && options.onLocate(f.location),
          },
          f.location,
        )
      : null;
    list.append(
      h(
        "li",
        { class: `jr-finding jr-finding-${f.severity}`, "data-code": f.code, "data-severity": f.severity },
        h("p", { class: "jr-finding-head" }, h("span", { class: `jr-sev jr-sev-${f.severity}` }, f.severity), " ", h("code", { class: "jr-code" }, f.code), " ", locate),
        h("p", { class: "jr-finding-msg" }, f.message),
        f.fix ? h("p", { class: "jr-finding-fix" }, h("span", { class: "jr-label" }, "Fix: "), f.fix) : null,
      ),
    );
  }
  if (report.findingsTruncated) list.append(h("li", { class: "jr-muted" }, "More findings were cut off."));
  return h(
    "section",
    { class: "jr-findings-section", "aria-labelledby": id("findings") },
    h("h2", { id: id("findings"), class: "jr-h" }, `Findings (${(report.findings || []).length})`),
    (report.findings || []).length ? list : h("p", { class: "jr-muted" }, "No findings."),
  );
}

/** Times, parties, scopes, act chain, may_act, cnf, authorization_details. */
function renderMeaning(report, id) {
  const e = report.explanation || {};
  const sec = h("section", { class: "jr-meaning", "aria-labelledby": id("meaning") }, h("h2", { id: id("meaning"), class: "jr-h" }, "What it says"));
  const facts = h("dl", { class: "jr-facts" });
  const fact = (label, value, path) => {
    if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return;
    facts.append(h("dt", {}, label), h("dd", { "data-fact": path || null }, Array.isArray(value) ? chips(value) : String(value)));
  };
  fact("Algorithm", e.alg);
  fact("Type (typ)", e.typ);
  fact("Key id (kid)", e.kid);
  fact("Content type (cty)", e.cty);
  fact("Encryption (enc)", e.enc);
  fact("Issuer", e.issuer);
  fact("Subject", e.subject);
  fact("Audience", e.audience);
  fact("Authorized party (azp)", e.authorizedParty);
  fact("Client id", e.clientId);
  fact("Token id (jti)", e.jwtId);
  fact("Scopes", e.scopes, "scopes");
  fact("Roles", e.roles, "roles");
  fact("Permissions", e.permissions);
  fact("Groups", e.groups);
  if (facts.childElementCount) sec.append(facts);

  if ((e.times || []).length) {
    const rows = e.times.map((t) =>
      h(
        "tr",
        { "data-claim": t.claim },
        h("th", { scope: "row" }, h("code", {}, t.claim), h("span", { class: "jr-muted jr-small" }, ` ${TIME_WORDS[t.claim] || ""}`)),
        h("td", {}, t.utc ? t.utc : h("span", { class: "jr-bad" }, `not a date: ${JSON.stringify(t.raw)}`)),
        h("td", {}, t.unix !== null && t.unix !== undefined ? localTime(t.unix) : ""),
        h(
          "td",
          t.claim === "exp" && t.unix !== null && t.unix !== undefined ? { class: "jr-countdown", "data-exp": String(t.unix), "data-testid": "jwt-exp-countdown" } : {},
          t.claim === "exp" && t.unix != null ? countdownText(t.unix * 1000 - Date.now()) : t.relative || "",
        ),
      ),
    );
    sec.append(
      h(
        "table",
        { class: "jr-times", "data-testid": "jwt-times" },
        h("caption", {}, "Times", e.lifetimeSeconds != null ? h("span", { class: "jr-muted jr-small" }, ` (lifetime ${duration(e.lifetimeSeconds)})`) : null),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Claim"), h("th", { scope: "col" }, "UTC"), h("th", { scope: "col" }, "Your time"), h("th", { scope: "col" }, "Relative"))),
        h("tbody", {}, rows),
      ),
    );
  }

  if ((e.actChain || []).length) {
    const chain = h("ol", { class: "jr-act", "data-testid": "jwt-act-chain", "aria-label": "Delegation chain, current actor first" });
    chain.append(h("li", { class: "jr-act-subject" }, h("span", { class: "jr-label" }, "Subject "), e.subject || "(no sub)"));
    for (const a of e.actChain) {
      chain.append(
        h(
          "li",
          { class: "jr-act-actor", "data-depth": String(a.depth) },
          h("span", { class: "jr-label" }, a.depth === 0 ? "acted on by (current actor) " : `on behalf of a prior actor, depth ${a.depth}: `),
          [a.sub ? `sub ${a.sub}` : null, a.clientId ? `client ${a.clientId}` : null, a.iss ? `iss ${a.iss}` : null].filter(Boolean).join(", ") || "(no sub)",
        ),
      );
    }
    sec.append(h("h3", { class: "jr-h3" }, `Delegation (act chain, depth ${e.actChain.length})`), chain);
  }
  if (e.mayAct !== null && e.mayAct !== undefined) {
    sec.append(h("h3", { class: "jr-h3" }, "May act (may_act)"), h("pre", { class: "jr-pre", "data-testid": "jwt-may-act" }, JSON.stringify(e.mayAct, null, 2)));
  }
  if (e.confirmation) {
    const c = e.confirmation;
    sec.append(
      h("h3", { class: "jr-h3" }, "Key binding (cnf)"),
      h(
        "dl",
        { class: "jr-facts", "data-testid": "jwt-cnf" },
        h("dt", {}, "Method"),
        h("dd", {}, { dpop: "DPoP (jkt: JWK SHA-256 thumbprint)", mtls: "mutual TLS (x5t#S256)", jwk: "embedded JWK", jku: "JWK Set URL", kid: "key id" }[c.method] || c.method),
        c.jkt ? [h("dt", {}, "jkt"), h("dd", {}, h("code", {}, c.jkt))] : null,
        c.x5tS256 ? [h("dt", {}, "x5t#S256"), h("dd", {}, h("code", {}, c.x5tS256))] : null,
      ),
    );
  }
  if ((e.authorizationDetails || []).length) {
    const list = h("ul", { class: "jr-authz", "data-testid": "jwt-authorization-details" });
    e.authorizationDetails.forEach((d, i) => {
      list.append(
        h(
          "li",
          { "data-path": `payload.authorization_details[${i}]` },
          h("strong", {}, d.type || "(no type)"),
          d.identifier ? ` · ${d.identifier}` : "",
          d.actions.length ? h("div", {}, h("span", { class: "jr-label" }, "actions "), chips(d.actions)) : null,
          d.locations.length ? h("div", {}, h("span", { class: "jr-label" }, "locations "), chips(d.locations)) : null,
          d.datatypes.length ? h("div", {}, h("span", { class: "jr-label" }, "datatypes "), chips(d.datatypes)) : null,
        ),
      );
    });
    sec.append(h("h3", { class: "jr-h3" }, "Authorization details (RFC 9396)"), list);
  }
  return sec;
}

const TIME_WORDS = { iat: "issued", nbf: "not before", exp: "expires", auth_time: "signed in", updated_at: "profile updated" };

function chips(values) {
  return h(
    "ul",
    { class: "jr-chips" },
    values.map((x) => h("li", { class: "jr-chip" }, x)),
  );
}

let localFormat = null;
function localTime(unix) {
  try {
    // One formatter for the page: building an Intl formatter per call costs more than the rest of a row.
    localFormat ||= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
    return localFormat.format(new Date(unix * 1000));
  } catch {
    return "";
  }
}

/** "1h 02m" for seconds. */
export function duration(s) {
  const neg = s < 0;
  let n = Math.abs(Math.trunc(s));
  const d = Math.floor(n / 86400);
  n -= d * 86400;
  const hh = Math.floor(n / 3600);
  n -= hh * 3600;
  const mm = Math.floor(n / 60);
  const ss = n - mm * 60;
  const parts = d ? [`${d}d`, `${hh}h`] : hh ? [`${hh}h`, `${String(mm).padStart(2, "0")}m`] : mm ? [`${mm}m`, `${String(ss).padStart(2, "0")}s`] : [`${ss}s`];
  return (neg ? "-" : "") + parts.join(" ");
}

/** Live countdown text for `exp`, given milliseconds left. */
export function countdownText(ms) {
  if (!Number.isFinite(ms)) return "";
  return ms > 0 ? `expires in ${duration(Math.floor(ms / 1000))}` : `expired ${duration(Math.floor(-ms / 1000))} ago`;
}

/** Update every live `exp` countdown under `root` (call once a second). */
export function tickTimes(root, nowMs = Date.now()) {
  for (const el of root.querySelectorAll("[data-exp]")) {
    const text = countdownText(Number(el.dataset.exp) * 1000 - nowMs);
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle("jr-expired", Number(el.dataset.exp) * 1000 <= nowMs);
  }
}

/** Highlighted JSON with one element per member, `data-path` = the finding location form. */
function renderJson(title, base, value, fallbackText, id, report) {
  const sec = h("section", { class: "jr-json-section", "aria-labelledby": id(base) }, h("h2", { id: id(base), class: "jr-h" }, title));
  if (value && typeof value === "object") {
    const times = new Map(((report.explanation || {}).times || []).map((t) => [`payload.${t.claim}`, t]));
    const pre = h("pre", { class: "jr-json", "data-testid": `jwt-${base}`, "data-path": base, tabindex: "-1" });
    writeJson(pre, value, base, 0, times);
    sec.append(pre);
  } else if (typeof fallbackText === "string") {
    sec.append(h("p", { class: "jr-muted" }, "Not a JSON object; the decoded text:"), h("pre", { class: "jr-pre", "data-testid": `jwt-${base}-text`, "data-path": base }, fallbackText));
  } else {
    sec.append(h("p", { class: "jr-muted", "data-testid": `jwt-${base}-missing` }, "Could not be decoded."));
  }
  return sec;
}

function writeJson(parent, value, path, depth, times) {
  const pad = "  ".repeat(depth);
  if (Array.isArray(value)) {
    parent.append(h("span", { class: "jp" }, "["));
    value.forEach((v, i) => {
      const item = h("span", { class: "jm", "data-path": `${path}[${i}]` });
      writeJson(item, v, `${path}[${i}]`, depth + 1, times);
      if (i < value.length - 1) item.append(h("span", { class: "jp" }, ","));
      parent.append(`\n${pad}  `, item);
    });
    parent.append(value.length ? `\n${pad}` : "", h("span", { class: "jp" }, "]"));
    return;
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    parent.append(h("span", { class: "jp" }, "{"));
    keys.forEach((k, i) => {
      const p = `${path}.${k}`;
      const item = h("span", { class: "jm", "data-path": p }, h("span", { class: "jk" }, JSON.stringify(k)), h("span", { class: "jp" }, ": "));
      writeJson(item, value[k], p, depth + 1, times);
      if (i < keys.length - 1) item.append(h("span", { class: "jp" }, ","));
      const t = times && times.get(p);
      if (t && t.utc) item.append(h("span", { class: "jc" }, `  // ${t.utc}${t.relative ? ` (${t.relative})` : ""}`));
      parent.append(`\n${pad}  `, item);
    });
    parent.append(keys.length ? `\n${pad}` : "", h("span", { class: "jp" }, "}"));
    return;
  }
  const cls = typeof value === "string" ? "js" : typeof value === "number" ? "jn" : value === null ? "jz" : "jb";
  parent.append(h("span", { class: cls }, JSON.stringify(value)));
}

/**
 * Highlight the member a finding points at (`header.alg`, `payload.act.act`,
 * `payload.authorization_details[0]`, `signature`, `token`), or its nearest
 * ancestor shown. Returns the element, or null.
 */
export function locate(root, location) {
  for (const el of root.querySelectorAll(".jr-located")) el.classList.remove("jr-located");
  if (!location) return null;
  let path = location;
  let el = null;
  while (path && !el) {
    el = [...root.querySelectorAll("[data-path]")].find((x) => x.dataset.path === path) || null;
    if (!el) {
      const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
      path = cut > 0 ? path.slice(0, cut) : "";
    }
  }
  if (!el && (location === "key" || location.startsWith("key"))) return null;
  if (!el) el = root.querySelector('[data-path="token"]');
  if (!el) return null;
  el.classList.add("jr-located");
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: "center", behavior: "instant" in document.documentElement.style ? "instant" : "auto" });
  return el;
}

// ---- export

/** The report as Markdown (no raw token: header, claims, findings, verdict). */
export function reportToMarkdown(report) {
  const e = report.explanation || {};
  const v = verdict(report);
  const lines = [];
  lines.push(`# JWT report: ${e.kind ? kindName(e.kind) : "not a JWT"}`, "");
  if (e.kindReason) lines.push(`Kind: ${e.kindReason}.`, "");
  lines.push(`**${v.title}**${v.detail ? `: ${v.detail}` : ""}`, "");
  const d = report.dpop;
  if (d) {
    lines.push("## DPoP proof", "", `- Proof signature against its own header key: ${d.proofKeyStatus}${d.detail ? ` (${mdText(d.detail)})` : ""}`);
    lines.push(`- Key thumbprint (jkt): ${d.thumbprint ? `\`${d.thumbprint}\`` : "none"}`);
    if (d.ath) lines.push(`- ath: ${d.ath.status}`);
    if (d.jkt) lines.push(`- access token cnf.jkt: ${d.jkt.status}`);
    lines.push("");
  }
  const fs = report.findings || [];
  lines.push(`## Findings (${fs.length})`, "");
  if (fs.length === 0) lines.push("None.");
  for (const f of fs) lines.push(`- **${f.severity}** \`${f.code}\` at \`${f.location}\`: ${mdText(f.message)}${f.fix ? ` Fix: ${mdText(f.fix)}` : ""}`);
  lines.push("");
  if ((e.times || []).length) {
    lines.push("## Times", "", "| Claim | UTC | Relative |", "| --- | --- | --- |");
    for (const t of e.times) lines.push(`| ${t.claim} | ${t.utc || "invalid"} | ${t.relative || ""} |`);
    lines.push("");
  }
  if ((e.actChain || []).length) {
    lines.push("## Delegation (act chain)", "", `- subject: ${mdText(e.subject || "(none)")}`);
    for (const a of e.actChain) lines.push(`${"  ".repeat(a.depth + 1)}- actor (depth ${a.depth}): ${mdText([a.sub, a.clientId, a.iss].filter(Boolean).join(", ") || "(no sub)")}`);
    lines.push("");
  }
  lines.push("## Header", "", "```json", JSON.stringify(report.header, null, 2), "```", "");
  lines.push("## Claims", "", "```json", report.payload ? JSON.stringify(report.payload, null, 2) : String(report.payloadText ?? "null"), "```", "");
  return lines.join("\n");
}

function mdText(s) {
  return String(s).replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`).replace(/\s+/g, " ");
}

/** The report as JSON text (the core's report, unchanged). */
export function reportToJson(report) {
  return JSON.stringify(report, null, 2);
}

/** The claims as JSON text. */
export function claimsToJson(report) {
  return report.payload ? JSON.stringify(report.payload, null, 2) : String(report.payloadText ?? "");
}
