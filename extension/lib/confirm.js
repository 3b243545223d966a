// A destructive action asked first, in place: the options page (remove a
// broker, remove an agent) and the popup (decline a request) share it.
// Text only (lib/dom.js): the question may quote a broker's or an agent's words.
import { h, replace } from "./dom.js";

let serial = 0;

/**
 * Ask first, in `slot` (`button`, which asked, disabled meanwhile): `text`,
 * then the `yes` button and the `no` one (default "Cancel"). `no` or Escape
 * back out and focus `button` again. Focus starts on `focus`: "no" (the
 * default: the safe choice, so Enter twice never does the harm) or "yes". Yes runs `act(force)` with every
 * button of the panel disabled; if it throws they come back and
 * `failed(error, panel)` says why (`panel.run(force)` runs `act` again,
 * `panel.actions` holds the buttons). The panel is a group labelled `label`
 * and described by the question, so a screen reader says both when focus
 * enters it (styled by `.sp-confirm` in www/ext.css; `className` adds a page's own). Returns `{ close(refocus) }`: removes the panel, enables `button`
 * again and, with `refocus`, focuses it.
 */
export function askFirst(slot, button, { label, text, yes: yesLabel, no: noLabel = "Cancel", focus = "no", className, act, failed }) {
  button.disabled = true;
  const id = `ask-${++serial}`;
  const status = h("p", { role: "alert", hidden: true });
  const enable = (on) => {
    for (const b of slot.querySelectorAll("button")) b.disabled = !on;
  };
  const close = (refocus) => {
    replace(slot);
    button.disabled = false;
    if (refocus) button.focus();
  };
  const cancel = () => close(true);
  const run = async (force) => {
    enable(false);
    try {
      await act(force);
    } catch (e) {
      enable(true);
      failed(e, { status, run, actions });
    }
  };
  const yes = h("button", { class: "sp-btn sp-btn-danger sp-btn-small", type: "button", "data-confirm": "yes", onclick: () => run(false) }, yesLabel);
  const no = h("button", { class: "sp-btn sp-btn-small", type: "button", "data-confirm": "no", onclick: cancel }, noLabel);
  const actions = h("div", { class: "sp-actions" }, yes, no);
  replace(
    slot,
    h(
      "div",
      {
        class: className ? `sp-confirm ${className}` : "sp-confirm",
        role: "group",
        "aria-label": label,
        "aria-describedby": id,
        // Escape backs out, as from any confirmation.
        onkeydown: (ev) => {
          if (ev.key === "Escape" && !no.disabled) {
            ev.preventDefault();
            ev.stopPropagation();
            cancel();
          }
        },
      },
      h("p", { id }, text),
      status,
      actions,
    ),
  );
  (focus === "no" ? no : yes).focus();
  return { close };
}
