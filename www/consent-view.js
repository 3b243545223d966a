// Sealpost consent: the DOM view. Renders the flow's states (consent-flow.js)
// into an open shadow root, with the accessibility work of the consent page:
// headings focused on each new view, one polite live region, labelled
// controls, aria-invalid + described errors, a spoken countdown.
//
// Everything is built with createElement and textContent, so nothing the
// broker or agent sends is ever parsed as HTML. No inline script or style.

import { ConsentFlow, compareFingerprint, mark } from "./consent-flow.js";

const ANNOUNCE_AT_SECONDS = [300, 60, 30];

/**
 * How long the first "loading" view stays undrawn: the request and the WASM
 * usually arrive within a frame or two of the page (the broker preloads
 * both), and drawing the spinner first only costs a layout on the way to the
 * review (bench/consent.mjs). A slower load shows it after this.
 */
const FIRST_LOADING_HOLD_MS = 300;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const sharedSheets = new Map();

/**
 * The component's style sheet as a constructed sheet, when the page around
 * it already loaded that same file as its own style sheet (the broker's
 * consent page: www/consent.css styles both the page and the component), or
 * null. The shadow root then needs no <link> of its own, which (the assets
 * are `Cache-Control: no-cache`) would be a second request, a 304
 * revalidation, and a load event to wait for before the first view may be
 * drawn. The page's sheet is a `<link>` to that file or, where the broker
 * wrote the file into the page (crates/broker/src/page.rs), a `<style
 * data-href>` naming it; the rules are copied through the CSSOM (or from the
 * `<style>` text): no markup, nothing the page's CSP governs.
 */
function sharedSheet(href) {
  if (sharedSheets.has(href)) return sharedSheets.get(href);
  let sheet = null;
  if (typeof CSSStyleSheet === "function" && "adoptedStyleSheets" in Document.prototype) {
    for (const s of document.styleSheets) {
      const node = s.ownerNode;
      const inline = !s.href && node && node.localName === "style" && node.dataset.href;
      if (s.href !== href && !(inline && new URL(inline, document.baseURI).href === href)) continue;
      try {
        const text = inline ? node.textContent : Array.from(s.cssRules, (r) => r.cssText).join("\n");
        sheet = new CSSStyleSheet();
        sheet.replaceSync(text);
      } catch {
        sheet = null;
      }
      break;
    }
  }
  if (sheet) sharedSheets.set(href, sheet);
  return sheet;
}

/** The style sheet URL a view uses when mountConsent gets no `stylesUrl`. */
const defaultStylesUrl = () => new URL("./consent.css", import.meta.url).href;

/**
 * Make the constructed copy of the page's style sheet (see sharedSheet) ahead
 * of mountConsent, e.g. while the page waits for its request and the WASM,
 * instead of in the task that builds the first view. Nothing to do when the
 * page has no such sheet (the view then links it).
 */
export function prepareStyles(stylesUrl) {
  sharedSheet(stylesUrl ? new URL(stylesUrl, document.baseURI).href : defaultStylesUrl());
}

function formatRemaining(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function spokenRemaining(seconds) {
  if (seconds >= 60) {
    const m = Math.round(seconds / 60);
    return `${m} minute${m === 1 ? "" : "s"}`;
  }
  return `${seconds} seconds`;
}

// ---------------------------------------------------------------------------
// Failure catalogue: every failure the person can meet, in human words, with
// what to do next.

export const FAILURES = {
  "not-found": {
    title: "This code isn’t valid any more",
    body: "It may be mistyped, it may have expired, or the request was already opened on another device.",
    next: "Check the code against what your agent shows, or ask your agent for a new link.",
  },
  taken: {
    title: "This request was opened somewhere else",
    body: "Another browser already confirmed this request, so this page can’t answer it.",
    next: "If that wasn’t you, don’t continue anywhere: tell your agent to cancel and start a new request.",
  },
  "no-longer-waiting": {
    title: "This request no longer accepts a secret",
    body: "It was answered or taken over somewhere else.",
    next: "If an earlier attempt from this page went through, your agent already has the secret. Otherwise ask your agent for a new link.",
  },
  completed: {
    title: "This request was already answered",
    body: "Someone already sent a secret for this request.",
    next: "If it wasn’t you, tell your agent to discard it and rotate that secret.",
  },
  expired: {
    title: "This request has expired",
    body: "Requests only stay open for a few minutes. Nothing was sent.",
    next: "Ask your agent for a new link.",
  },
  "expired-before-send": {
    title: "This request expired before the secret arrived",
    body: "The broker no longer knows this request, so nothing was stored.",
    next: "Ask your agent for a new link and try again.",
  },
  "rate-limited": {
    title: "Too many attempts",
    body: "The broker is slowing down requests for this code.",
    next: "Wait a minute, then try again.",
  },
  network: {
    title: "Can’t reach the broker",
    body: "Your connection or the broker seems to be down.",
    next: "Check your connection, then try again.",
  },
  forbidden: {
    title: "This page is no longer allowed to answer",
    body: "The broker did not accept this page’s permission to send the secret.",
    next: "Ask your agent for a new link.",
  },
  "bad-key": {
    title: "The agent’s key can’t be used",
    body: "The key in this request is not a valid RSA key, so nothing can be encrypted to it.",
    next: "Don’t continue. Ask your agent to start a new request.",
  },
  "bundle": {
    title: "The encryption module didn’t load",
    body: "This page encrypts your secret itself and can’t work without it.",
    next: "Reload the page. If it keeps failing, your browser may block WebAssembly.",
  },
  unsupported: {
    title: "This page can’t handle this request",
    body: "The request needs a sign-in flow (OAuth) that this page doesn’t support.",
    next: "Ask your agent for a form-based request instead.",
  },
  "no-fields": {
    title: "This request doesn’t ask for anything",
    body: "The broker sent no fields to fill in.",
    next: "Ask your agent to start a new request.",
  },
  "seal-failed": {
    title: "Encryption failed",
    body: "Your secret could not be encrypted to the agent’s key, so nothing was sent.",
    next: "Ask your agent for a new link and try again.",
  },
  server: {
    title: "The broker returned an error",
    body: "Something went wrong on the broker’s side.",
    next: "Try again in a moment.",
  },
};

/**
 * Error views that offer to enter another code (a request that is over, or
 * unknown to the broker): the code entry of this same view. Not the ones with
 * "Try again", nor "bundle" (a code can't help without the WASM).
 */
const ENTER_ANOTHER = ["not-found", "expired", "expired-before-send", "completed", "taken", "no-longer-waiting"];

// ---------------------------------------------------------------------------

/**
 * The view around one ConsentFlow, in `host`'s open shadow root.
 * opts: apiBase, code, bundleUrl, bundle, stylesUrl (as for mountConsent), and for
 * the extension's answer page `origin` (the broker origin, shown on every
 * view; the transport banner is then judged from it), `securityMode` and
 * `another` (`{label, run}`: a button on every error view, instead of the
 * view's own "Enter a code", and on the "Stopped" and "Done" views, instead
 * of "Enter another code" on "Done" and of the words "close this tab").
 */
export class ConsentView {
  constructor(host, opts) {
    this.host = host;
    const apiBase = String(opts.apiBase || "").replace(/\/+$/, "");
    const bundle = opts.bundleUrl || `${apiBase}/pkg/sealpost_wasm.js`;
    this.stylesUrl = opts.stylesUrl
      ? new URL(opts.stylesUrl, document.baseURI).href
      : defaultStylesUrl();
    this.origin = opts.origin ? String(opts.origin) : "";
    // The embedder's way out of an error view (the extension's answer page:
    // back to its paste box), instead of this view's own code entry.
    this.another = opts.another && typeof opts.another.run === "function" ? opts.another : null;
    this.timer = null;
    this.announced = new Set();
    this.controls = null;
    this.destroyed = false;
    // Whether this request's transport earns the banner (showBanner).
    this.bannerOn = false;

    this.root = host.shadowRoot || host.attachShadow({ mode: "open" });
    this.root.replaceChildren();
    const shared = sharedSheet(this.stylesUrl);
    if (shared || this.root.adoptedStyleSheets?.length) this.root.adoptedStyleSheets = shared ? [shared] : [];
    const link = shared ? null : h("link", { rel: "stylesheet", href: this.stylesUrl });
    this.frame = h("div", { class: "sp", hidden: true });
    this.banner = h("div", { class: "sp-banner", hidden: true });
    this.live = h("div", { class: "sp-sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
    this.card = h("section", { class: "sp-card" });
    this.frame.append(this.banner, this.card, this.live);
    this.root.append(...(link ? [link] : []), this.frame);
    let shown;
    this.shown = new Promise((r) => {
      shown = r;
    });
    // The frame is drawn once its style sheet is there and the first view is
    // not the initial "loading" one (or that one lasted FIRST_LOADING_HOLD_MS).
    let styled = false;
    this.held = true;
    this.reveal = () => {
      if (!styled || this.held || !this.frame.hidden) return;
      this.frame.hidden = false;
      // For the page around it (consent.css: the stand-alone page draws its
      // header and footer from then on, in the same frame as the card).
      this.host.setAttribute("data-shown", "");
      shown();
    };
    const styledNow = () => {
      styled = true;
      this.reveal();
    };
    if (link) {
      link.addEventListener("load", styledNow, { once: true });
      link.addEventListener("error", styledNow, { once: true });
      setTimeout(styledNow, 1500);
    } else styled = true;
    setTimeout(() => {
      if (!this.held) return;
      this.held = false;
      this.reveal();
      // Still loading: say so now that the live region is drawn.
      if (this.host.getAttribute("data-state") === "loading" && this.loadingText) this.announce(this.loadingText);
    }, FIRST_LOADING_HOLD_MS);

    this.flow = new ConsentFlow({
      apiBase,
      code: opts.code || "",
      bundleUrl: new URL(bundle, document.baseURI).href,
      bundle: opts.bundle,
      securityMode: opts.securityMode,
      lookup: opts.lookup,
      onState: (state, detail) => this.onState(state, detail),
      onBusy: (busy) => {
        // On the card only: the live region (outside it) keeps announcing.
        if (busy) this.card.setAttribute("aria-busy", "true");
        else this.card.removeAttribute("aria-busy");
      },
      onClear: () => this.clearInputs(),
    });
  }

  start() {
    this.quietFocus = true;
    this.flow.start();
  }

  destroy() {
    this.destroyed = true;
    this.stopTimer();
    this.flow.destroy();
    this.root.replaceChildren();
    for (const a of ["data-shown", "data-state", "data-error"]) this.host.removeAttribute(a);
  }

  // --- state plumbing ------------------------------------------------------

  onState(state, detail) {
    if (this.destroyed) return;
    switch (state) {
      case "entry":
        return this.showEntry(detail.failure, detail.value);
      case "loading":
        return this.showLoading(detail.text);
      case "review":
        this.showBanner(detail.security);
        this.startTimer();
        this.showReview();
        // A bundle not asked for yet (mountConsent's `bundle` as a function)
        // loads once the frame that draws the review is out: its
        // instantiation is main-thread work the review does not need
        // (consent-flow.js `load`); confirm waits for its check of the key.
        requestAnimationFrame(() => setTimeout(() => this.destroyed || this.flow.startBundle(), 0));
        return;
      case "form":
        return this.showForm();
      case "done":
        return this.showDone();
      case "stopped":
        return this.showStopped();
      case "error":
        return this.showFailure(detail, detail.retry);
    }
  }

  setState(state, focusEl) {
    this.host.setAttribute("data-state", state);
    // The transport banner is about typing a secret here: it stands above the
    // review and the form (and their "Confirming…", "Sending…"), not above an
    // error, "Stopped", "Done" or the code entry, whose heading (focused)
    // is then the first thing on the view, on screen and when read.
    if (state !== "loading") this.banner.hidden = !(this.bannerOn && (state === "review" || state === "form"));
    if (state !== "error") this.host.removeAttribute("data-error");
    if (state !== "loading" && this.held) {
      this.held = false;
      this.reveal();
    }
    mark(`sealpost:${state}`);
    this.host.dispatchEvent(new CustomEvent("sealpost-state", { detail: { state }, bubbles: true, composed: true }));
    if (focusEl && this.quietFocus && state !== "loading") {
      // The first view after page load: its heading gets focus too (a screen
      // reader then reads the view from its title, the code and fingerprint
      // next, and Tab goes on from there), once the frame that draws it is
      // out (not in the task that builds it), and only when nothing else has
      // focus and the heading is in view: never a scroll, and never focus
      // taken from a host page or from someone who already moved it.
      this.quietFocus = false;
      this.shown.then(() =>
        requestAnimationFrame(() =>
          setTimeout(() => {
            if (this.destroyed || !focusEl.isConnected) return;
            const active = document.activeElement;
            if (active && active !== document.body && active !== document.documentElement) return;
            const r = focusEl.getBoundingClientRect();
            if (r.top < 0 || r.bottom > (window.innerHeight || document.documentElement.clientHeight)) return;
            // Chromium draws :focus-visible for a script's focus on a fresh
            // page: no ring around a title nobody moved to (Tab goes on
            // from it, to controls that draw theirs).
            focusEl.classList.add("sp-quiet-focus");
            focusEl.addEventListener("blur", () => focusEl.classList.remove("sp-quiet-focus"), { once: true });
            focusEl.focus({ preventScroll: true });
          }, 0),
        ),
      );
    } else if (focusEl) {
      // Focus the new view's heading so keyboard and screen reader users start
      // at the top of what changed.
      this.shown.then(() => focusEl.isConnected && focusEl.focus());
    }
  }

  announce(text) {
    this.live.textContent = "";
    // A separate task so repeated identical messages are announced again.
    setTimeout(() => {
      this.live.textContent = text;
    }, 30);
  }

  render(state, ...children) {
    const heading = children.find((c) => c instanceof HTMLElement && /^H[12]$/.test(c.tagName));
    this.card.replaceChildren(...children.flat().filter(Boolean));
    this.card.setAttribute("data-view", state);
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      if (!heading.id) heading.id = `sp-h-${state}`;
      this.card.setAttribute("aria-labelledby", heading.id);
      // The origin line comes before the heading on screen; a screen reader
      // that starts at the focused heading hears it as its description.
      if (this.card.querySelector("#sp-origin")) heading.setAttribute("aria-describedby", "sp-origin");
    }
    this.setState(state, heading);
  }

  /**
   * "Request from ORIGIN" (extension answer page only: on the broker's own
   * page the address bar says it), on every view but "loading".
   */
  originLine() {
    if (!this.origin) return null;
    return h(
      "p",
      { class: "sp-origin", id: "sp-origin", "data-testid": "origin" },
      h("span", { class: "sp-origin-label" }, "Request from "),
      h("strong", { class: "sp-origin-value sp-mono" }, this.origin),
    );
  }

  /**
   * The embedder's way out (the extension: back to its paste box, for another
   * link or code), on every error view and on "Stopped" and "Done"; null
   * without `another` (the broker's page, embeds: their own code entry).
   */
  anotherButton() {
    if (!this.another) return null;
    const again = h("button", { type: "button", class: "sp-btn sp-btn-secondary" }, String(this.another.label || "Answer another request"));
    again.addEventListener("click", () => this.another.run());
    return again;
  }

  /** This view's own code entry (no `another`): `label`; keeps the code just tried when `keepCode`. */
  entryButton(label, keepCode = false) {
    const again = h("button", { type: "button", class: "sp-btn sp-btn-secondary" }, label);
    again.addEventListener("click", () => this.flow.enterAnother(keepCode));
    return again;
  }

  // --- views -----------------------------------------------------------------

  showLoading(text) {
    this.loadingText = text;
    this.render(
      "loading",
      h("div", { class: "sp-loading" }, h("span", { class: "sp-spinner", "aria-hidden": "true" }), h("p", { text })),
    );
    this.announce(text);
  }

  showEntry(failure, value) {
    this.stopTimer();
    const err = failure ? FAILURES[failure.kind] : null;
    const input = h("input", {
      id: "sp-code-input",
      class: "sp-input sp-code-input",
      type: "text",
      name: "user_code",
      autocomplete: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      maxlength: "16",
      placeholder: "ABCD-1234",
      required: true,
      "aria-describedby": "sp-code-help" + (err ? " sp-code-error" : ""),
      "aria-invalid": err && failure.kind === "not-found" ? "true" : undefined,
      value: value || "",
    });
    const errorEl = err
      ? h("p", { id: "sp-code-error", class: "sp-field-error" }, `${err.title}. ${err.next}`)
      : null;
    const form = h(
      "form",
      { class: "sp-form", novalidate: true, "aria-label": "Enter a code" },
      h("label", { for: "sp-code-input", class: "sp-label" }, "Code"),
      h("p", { id: "sp-code-help", class: "sp-help" }, "8 letters and digits, like ABCD-1234. Upper or lower case, with or without the hyphen."),
      input,
      errorEl,
      h("div", { class: "sp-actions" }, h("button", { type: "submit", class: "sp-btn sp-btn-primary" }, "Continue")),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (this.flow.resolve(input.value)) return;
      input.setAttribute("aria-invalid", "true");
      let e = form.querySelector("#sp-code-error");
      if (!e) {
        e = h("p", { id: "sp-code-error", class: "sp-field-error" });
        input.after(e);
        input.setAttribute("aria-describedby", "sp-code-help sp-code-error");
      }
      e.textContent = "Enter the code your agent shows, like ABCD-1234.";
      input.focus();
    });
    this.render(
      "entry",
      this.originLine(),
      h("p", { class: "sp-eyebrow" }, "Credential request"),
      h("h1", { class: "sp-title" }, "Enter the code from your agent"),
      h("p", { class: "sp-lead" }, "Your agent printed a short code and a key fingerprint. Type the code to see what it asks for."),
      form,
    );
    if (err) this.announce(`${err.title}. ${err.next}`);
    this.shown.then(() => queueMicrotask(() => input.isConnected && input.focus()));
  }

  /** Fill the transport banner for this request's security `mode`; setState shows it on the review and the form. */
  showBanner(mode) {
    this.bannerOn = mode === "development" || mode === "insecure";
    if (!this.bannerOn) {
      this.banner.hidden = true;
      return;
    }
    const sec = this.flow.request && this.flow.request.security;
    const insecure = mode === "insecure";
    // In the extension the page itself is trusted: only the transport to the broker is judged.
    const msg = !this.origin && sec && typeof sec.message === "string" && sec.message.trim() ? sec.message.trim() : "";
    let text;
    if (this.origin) {
      text = insecure
        ? " This broker is reached over plain HTTP: someone on the network could swap the agent’s key. Compare the fingerprint with your agent’s before you continue."
        : " This broker runs without TLS on this machine. Fine for testing; use an HTTPS broker for real secrets.";
    } else {
      text = insecure
        ? " This page did not arrive over HTTPS: someone on the network could change it or swap the agent’s key. Don’t enter a real secret here."
        : " This broker runs without TLS on a local machine. Fine for testing; use an HTTPS broker for real secrets.";
    }
    this.banner.className = `sp-banner ${insecure ? "sp-banner-danger" : "sp-banner-warn"}`;
    this.banner.setAttribute("role", "note");
    this.banner.replaceChildren(
      ...[
        h("strong", { class: "sp-banner-title" }, insecure ? "Not a secure connection" : "Development broker"),
        h("span", null, text),
        msg ? h("span", { class: "sp-banner-msg" }, ` ${msg}`) : null,
      ].filter(Boolean),
    );
  }

  codeBlock() {
    return h(
      "div",
      { class: "sp-check" },
      h("p", { class: "sp-check-label", id: "sp-code-label" }, "Code"),
      h("p", { class: "sp-code", "aria-labelledby": "sp-code-label", "data-testid": "code" }, this.flow.request.code),
    );
  }

  fingerprintBlock() {
    const fp = this.flow.fingerprint;
    return h(
      "div",
      { class: "sp-check sp-fp-card" },
      h("p", { class: "sp-check-label", id: "sp-fp-label" }, "Agent key fingerprint"),
      h("p", { class: "sp-fp", "aria-labelledby": "sp-fp-label", "data-testid": "fingerprint" }, fp.short),
      h(
        "details",
        { class: "sp-fp-details" },
        h("summary", null, "Long form"),
        h("p", { class: "sp-fp-long", "data-testid": "fingerprint-long" }, fp.long),
      ),
    );
  }

  countdown() {
    const at = this.flow.expiresAt;
    if (at === null) return null;
    return h(
      "p",
      { class: "sp-countdown" },
      h("span", { class: "sp-countdown-label" }, "Expires in "),
      h("span", { class: "sp-countdown-value", role: "timer", "data-testid": "countdown" }, formatRemaining(at - Date.now())),
    );
  }

  /** Who asks: display name as the title; agent name and reason as what the agent says (or, in the extension, claims). */
  whoBlock(r) {
    const who = [];
    const claims = Boolean(this.origin);
    if (r.agentName) {
      who.push(
        h("p", { class: "sp-meta" }, h("span", { class: "sp-muted" }, claims ? "Agent (as it names itself): " : "Agent: "), h("strong", { "data-testid": "agent-name" }, r.agentName)),
      );
    }
    if (r.reason) {
      who.push(
        h(
          "figure",
          { class: "sp-reason" },
          h("figcaption", { class: "sp-muted" }, claims ? "The agent claims this is why:" : "The agent says why:"),
          h("blockquote", { "data-testid": "reason" }, r.reason),
        ),
      );
    }
    return who;
  }

  showReview() {
    const r = this.flow.request;
    const fp = this.flow.fingerprint;
    const pasteInput = h("input", {
      id: "sp-fp-input",
      class: "sp-input sp-mono",
      type: "text",
      autocomplete: "off",
      spellcheck: "false",
      autocapitalize: "off",
      placeholder: "xxxx-xxxx-xxxx or SHA256:…",
      "aria-describedby": "sp-fp-input-help sp-fp-input-status",
    });
    const pasteStatus = h("p", { id: "sp-fp-input-status", class: "sp-fp-status", "aria-live": "polite" });
    const continueBtn = h("button", { type: "button", class: "sp-btn sp-btn-primary", "data-testid": "confirm" }, "Both match — continue");
    const stopBtn = h("button", { type: "button", class: "sp-btn sp-btn-secondary" }, "They don’t match");

    const check = (final) => {
      const v = compareFingerprint(pasteInput.value, fp);
      const card = this.card.querySelector(".sp-fp-card");
      if (card) card.classList.toggle("sp-mismatch", v === "mismatch" || (v === "incomplete" && final));
      pasteStatus.className = "sp-fp-status";
      pasteInput.removeAttribute("aria-invalid");
      continueBtn.removeAttribute("aria-disabled");
      if (v === "empty") {
        pasteStatus.textContent = "";
      } else if (v === "match") {
        pasteStatus.textContent = "✓ Matches the key this page will encrypt to.";
        pasteStatus.classList.add("sp-ok");
      } else if (v === "incomplete" && !final) {
        pasteStatus.textContent = "Keep typing…";
        continueBtn.setAttribute("aria-disabled", "true");
      } else {
        pasteStatus.textContent =
          v === "incomplete"
            ? "Incomplete: this is only the beginning of the fingerprint. Finish it or clear the box."
            : "✗ Does not match. Don’t continue: the key this page received is not your agent’s key.";
        pasteStatus.classList.add("sp-bad");
        pasteInput.setAttribute("aria-invalid", "true");
        continueBtn.setAttribute("aria-disabled", "true");
      }
      return v;
    };
    pasteInput.addEventListener("input", () => check(false));
    pasteInput.addEventListener("change", () => check(true));
    pasteInput.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        continueBtn.click();
      }
    });
    continueBtn.addEventListener("click", () => {
      check(true);
      // The flow itself refuses a pasted fingerprint that is not an exact match.
      if (!this.flow.confirm(pasteInput.value) && this.flow.state === "review") {
        pasteInput.focus();
        this.announce(pasteStatus.textContent);
      }
    });
    stopBtn.addEventListener("click", () => this.flow.stop());

    const asks = h(
      "ul",
      { class: "sp-asks" },
      r.fields.map((f) =>
        h("li", null, h("span", null, f.label || f.name), f.required ? null : h("span", { class: "sp-muted" }, " (optional)")),
      ),
    );
    this.render(
      "review",
      this.originLine(),
      h("p", { class: "sp-eyebrow" }, "Credential request"),
      h("h1", { class: "sp-title", "data-testid": "title" }, r.displayName || "An agent is asking for a credential"),
      this.whoBlock(r),
      h("p", { class: "sp-lead" }, "Check that both of these match exactly what your agent shows. If they don’t, stop."),
      h("div", { class: "sp-checks" }, this.codeBlock(), this.fingerprintBlock()),
      h(
        "div",
        { class: "sp-paste" },
        h("label", { for: "sp-fp-input", class: "sp-label" }, "Optional: paste the fingerprint your agent printed"),
        h("p", { id: "sp-fp-input-help", class: "sp-help" }, "This page will compare it for you."),
        pasteInput,
        pasteStatus,
      ),
      h("div", { class: "sp-asks-wrap" }, h("p", { class: "sp-muted sp-small" }, "You’ll be asked for:"), asks),
      this.countdown(),
      h("div", { class: "sp-actions" }, continueBtn, stopBtn),
    );
    this.announce(`Request loaded: code ${r.code}, key fingerprint ${fp.short}.`);
  }

  /**
   * The person said the code or fingerprint differ. The request stays open at
   * the broker (LinkAuth has no decline for the page), so the agent is told to
   * cancel it. The extension (its page is its own; the broker is what is in
   * doubt) offers its paste box; the page (which may be the one not talking to
   * the agent) offers no other code, and says to close the tab.
   */
  showStopped() {
    this.stopTimer();
    const next = this.another
      ? "Tell your agent to cancel this request. Check the code and fingerprint again on its next one."
      : "Tell your agent to cancel this request, then close this tab. Check the code and fingerprint again on its next one.";
    this.render(
      "stopped",
      this.originLine(),
      h("h1", { class: "sp-title" }, "Stopped. Nothing was sent."),
      h(
        "p",
        { class: "sp-lead" },
        this.origin
          ? "The code or fingerprint didn’t match your agent’s, so this request may not come from your agent."
          : "The code or fingerprint didn’t match your agent’s, so this page may not be talking to your agent.",
      ),
      h("p", { class: "sp-next" }, h("strong", null, "What to do: "), next),
      this.another ? h("div", { class: "sp-actions" }, this.anotherButton()) : null,
    );
    this.announce(`Stopped. Nothing was sent. ${next}`);
  }

  showForm() {
    const r = this.flow.request;
    const controls = [];
    const rows = r.fields.map((f, i) => {
      const id = `sp-f-${i}`;
      const label = String(f.label || f.name);
      const type = ["text", "password", "textarea", "select"].includes(f.type) ? f.type : "text";
      const required = f.required === true;
      const common = {
        id,
        name: f.name,
        class: "sp-input",
        required,
        "aria-required": required ? "true" : undefined,
        autocomplete: "off",
        spellcheck: "false",
        autocapitalize: "off",
      };
      let control;
      let toggle = null;
      if (type === "textarea") {
        control = h("textarea", { ...common, rows: "4", class: "sp-input sp-textarea sp-mono" });
      } else if (type === "select") {
        const options = Array.isArray(f.options) ? f.options.map(String) : [];
        control = h(
          "select",
          { ...common, class: "sp-input sp-select" },
          h("option", { value: "" }, required ? "Choose…" : "—"),
          options.map((o) => h("option", { value: o }, o)),
        );
      } else {
        control = h("input", { ...common, type, class: type === "password" ? "sp-input sp-mono" : "sp-input" });
        if (type === "password") {
          toggle = h("button", { type: "button", class: "sp-btn sp-btn-ghost sp-toggle", "aria-pressed": "false", "aria-controls": id, "aria-label": `Show ${label}` }, "Show");
          toggle.addEventListener("click", () => {
            const showing = control.type === "text";
            control.type = showing ? "password" : "text";
            toggle.textContent = showing ? "Show" : "Hide";
            toggle.setAttribute("aria-pressed", showing ? "false" : "true");
            toggle.setAttribute("aria-label", `${showing ? "Show" : "Hide"} ${label}`);
          });
        }
      }
      const errId = `${id}-error`;
      const err = h("p", { id: errId, class: "sp-field-error", hidden: true });
      control.addEventListener("input", () => {
        if (control.getAttribute("aria-invalid") === "true" && control.value.trim() !== "") {
          control.removeAttribute("aria-invalid");
          err.hidden = true;
        }
      });
      controls.push({ field: f, control, err, errId, label, required });
      return h(
        "div",
        { class: "sp-field" },
        h("label", { for: id, class: "sp-label" }, label, required ? null : h("span", { class: "sp-muted" }, " (optional)")),
        toggle ? h("div", { class: "sp-with-toggle" }, control, toggle) : control,
        err,
      );
    });
    this.controls = controls;
    const submit = h("button", { type: "submit", class: "sp-btn sp-btn-primary", "data-testid": "submit" }, "Encrypt and send");
    const form = h(
      "form",
      { class: "sp-form", novalidate: true, "aria-labelledby": "sp-h-form" },
      rows,
      h(
        "p",
        { class: "sp-note" },
        "Encrypted in this browser to the key ",
        h("span", { class: "sp-mono" }, this.flow.fingerprint.short),
        ". The broker only receives ciphertext.",
      ),
      this.countdown(),
      h("div", { class: "sp-actions" }, submit),
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (this.flow.busy || !this.controls) return;
      const invalid = [];
      for (const c of controls) {
        if (c.required && c.control.value.trim() === "") {
          c.control.setAttribute("aria-invalid", "true");
          c.control.setAttribute("aria-describedby", c.errId);
          c.err.textContent = c.field.type === "select" ? `Choose ${c.label}.` : `Enter ${c.label}.`;
          c.err.hidden = false;
          invalid.push(c);
        }
      }
      if (invalid.length) {
        this.announce(`${invalid.length} required field${invalid.length === 1 ? "" : "s"} empty.`);
        invalid[0].control.focus();
        return;
      }
      // Hand the values over and keep none here: the flow seals, then empties them.
      const creds = {};
      for (const c of controls) creds[c.field.name] = c.control.value;
      this.flow.submit(creds);
    });
    this.render(
      "form",
      this.originLine(),
      h("p", { class: "sp-eyebrow" }, `Code ${r.code}`),
      h("h2", { class: "sp-title", id: "sp-h-form" }, r.displayName ? `Enter ${r.displayName}` : "Enter the credential"),
      form,
    );
    this.announce("Confirmed. Fill in the form.");
  }

  clearInputs() {
    if (!this.controls) return;
    for (const c of this.controls) {
      if (c.control.type === "text" && c.field.type === "password") c.control.type = "password";
      c.control.value = "";
    }
    this.controls = null;
  }

  /**
   * Sent. The extension offers its paste box (its `another`); the page says
   * the tab can be closed and offers another code, for the agent's next
   * request (the error views' code entry).
   */
  showDone() {
    this.stopTimer();
    const fp = this.flow.fingerprint;
    const lead = this.another ? "Your agent can now read it." : "Your agent can now read it. You can close this tab.";
    const again = this.anotherButton() || this.entryButton("Enter another code");
    this.render(
      "done",
      this.originLine(),
      h("div", { class: "sp-done-mark", "aria-hidden": "true" }, "✓"),
      h("h1", { class: "sp-title" }, "Sent securely"),
      h("p", { class: "sp-lead" }, lead),
      h(
        "p",
        { class: "sp-note" },
        "Encrypted in this browser to the key ",
        h("span", { class: "sp-mono" }, fp ? fp.short : ""),
        ". Nothing readable was sent to the broker, and nothing was stored here.",
      ),
      h("div", { class: "sp-actions" }, again),
    );
    this.announce(`Sent securely. ${lead}`);
    this.host.dispatchEvent(new CustomEvent("sealpost-done", { bubbles: true, composed: true }));
  }

  showFailure(c, retry) {
    const f = FAILURES[c.kind] || FAILURES.server;
    if (!["network", "rate-limited", "server"].includes(c.kind) || !retry) this.stopTimer();
    const actions = [];
    if (retry) {
      const btn = h("button", { type: "button", class: "sp-btn sp-btn-primary", "data-testid": "retry" }, "Try again");
      let wait = c.wait && c.wait > 0 ? Math.min(c.wait, 600) : 0;
      if (wait) {
        btn.setAttribute("aria-disabled", "true");
        btn.textContent = `Try again in ${wait} s`;
        const t = setInterval(() => {
          wait -= 1;
          if (wait <= 0 || this.destroyed) {
            clearInterval(t);
            btn.removeAttribute("aria-disabled");
            btn.textContent = "Try again";
          } else btn.textContent = `Try again in ${wait} s`;
        }, 1000);
      }
      btn.addEventListener("click", () => {
        if (btn.getAttribute("aria-disabled") === "true" || this.flow.busy) return;
        btn.setAttribute("aria-disabled", "true");
        retry();
      });
      actions.push(btn);
    }
    if (this.another) {
      actions.push(this.anotherButton());
    } else if (ENTER_ANOTHER.includes(c.kind)) {
      // This request is over or was never found: a code typed here (the one
      // the agent shows, or the code of its new request) is looked up with
      // POST /v1/connect/resolve, on the page the link opened as well. A code
      // not found may be mistyped: it stays in the box to be corrected.
      actions.push(this.entryButton(this.flow.manual ? "Enter another code" : "Enter a code", c.kind === "not-found"));
    }
    const status = c.status ? ` (HTTP ${c.status})` : "";
    this.render(
      "error",
      this.originLine(),
      h("div", { class: `sp-error-mark${retry ? " sp-retryable" : ""}`, "aria-hidden": "true" }, "!"),
      h("h1", { class: "sp-title" }, f.title),
      h("p", { class: "sp-lead" }, f.body + status),
      h("p", { class: "sp-next" }, h("strong", null, "What to do: "), f.next),
      actions.length ? h("div", { class: "sp-actions" }, actions) : null,
    );
    this.host.setAttribute("data-error", c.kind);
    this.announce(`${f.title}. ${f.next}`);
    this.host.dispatchEvent(new CustomEvent("sealpost-error", { detail: { kind: c.kind }, bubbles: true, composed: true }));
  }

  // --- countdown -------------------------------------------------------------

  startTimer() {
    this.stopTimer();
    const at = this.flow.expiresAt;
    if (at === null) return;
    this.announced.clear();
    const tick = () => {
      const left = at - Date.now();
      for (const el of this.card.querySelectorAll(".sp-countdown-value")) {
        el.textContent = formatRemaining(left);
        el.closest(".sp-countdown").classList.toggle("sp-urgent", left <= 60000);
      }
      const secs = Math.ceil(left / 1000);
      for (const m of ANNOUNCE_AT_SECONDS) {
        if (secs <= m && secs > 0 && !this.announced.has(m)) {
          this.announced.add(m);
          if (this.flow.state === "review" || this.flow.state === "form") this.announce(`${spokenRemaining(m)} left.`);
        }
      }
      if (left <= 0 && this.flow.expire()) this.stopTimer();
    };
    // Announcements for thresholds already passed at load are not useful.
    const secs0 = Math.ceil((at - Date.now()) / 1000);
    for (const m of ANNOUNCE_AT_SECONDS) if (secs0 <= m) this.announced.add(m);
    this.timer = setInterval(tick, 1000);
    queueMicrotask(tick);
  }

  stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * Mount the consent flow into `element` (rendered in its open shadow root).
 * Options: apiBase (broker origin, "" for same origin), code (the user code;
 * empty for manual entry), bundleUrl (the WASM bundle's JS file, default
 * `${apiBase}/pkg/sealpost_wasm.js`), stylesUrl (default: consent.css next to
 * this module); lookup (a promise of the first connect answer, already
 * started); bundle (the WASM bundle's module, initialised, or a promise of
 * it, or a function that starts loading it, called once the bundle is needed
 * or the review is drawn: used instead of importing bundleUrl, which needs
 * consent-bundle.js imported, as consent.js does); for the extension: origin,
 * securityMode, another (`{label, run}`: a button on every error view and on
 * the "Stopped" and "Done" views that leaves this request, e.g. back to a
 * paste box; otherwise the error views' own "Enter a code", "Enter another
 * code" on "Done", and nothing on "Stopped", whose text then says to close
 * the tab). Returns `{ destroy() }`.
 */
export function mountConsent(element, options = {}) {
  if (!element || typeof element.attachShadow !== "function") {
    throw new TypeError("mountConsent needs an element that can host a shadow root");
  }
  if (element.__sealpost) element.__sealpost.destroy();
  const view = new ConsentView(element, options);
  element.__sealpost = view;
  view.start();
  return {
    destroy() {
      view.destroy();
      if (element.__sealpost === view) element.__sealpost = null;
    },
  };
}
