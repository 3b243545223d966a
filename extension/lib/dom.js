// Tiny DOM helpers for the extension pages. Text only: a string child becomes
// a text node, never HTML, so a broker's or an agent's words cannot turn into
// markup. There is deliberately no way to set innerHTML here.

/**
 * h("li", {class: "x", "data-testid": "request", onclick: fn}, "text", child, …)
 * Attributes: `class`, `dataset`-style `data-*`, `aria-*`, `hidden`, properties
 * like `value`/`disabled` (booleans), and `on<event>` listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value" || k === "disabled" || k === "checked") el[k] = v;
    else if (k === "hidden") el.hidden = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Show a message in a live region (`kind`: error | warn | ok | info). */
export function say(el, text, kind = "info") {
  el.textContent = text || "";
  el.hidden = !text;
  el.className = kind === "info" ? "sp-muted" : `sp-alert sp-alert-${kind}`;
}

/** "in 4 min 05 s" style countdown text for a number of milliseconds. */
export function countdown(ms) {
  if (!(ms > 0)) return "expired";
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  const rest = String(s % 60).padStart(2, "0");
  return m > 0 ? `${m} min ${rest} s` : `${s % 60} s`;
}

/** A date as the reader's locale prints it, or "" for nothing/garbage. */
export function when(iso) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  return new Date(t).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Copy text to the clipboard; resolves true on success. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
