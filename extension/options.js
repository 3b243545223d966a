// Options page, also the first-run page (opened with ?welcome=1 on install):
// pair brokers, add and remove agents (senders), remove brokers, poll interval.
// Everything a broker sends is shown as text (lib/dom.js has no HTML path).
import { local, permissions } from "./lib/browser.js";
import {
  BrokerError,
  addSender,
  brokerOrigin,
  isLoopback,
  listSenders,
  loadBrokers,
  loadSettings,
  pairBroker,
  removeBroker,
  removeSender,
  saveSettings,
} from "./lib/brokers.js";
import { askFirst } from "./lib/confirm.js";
import { copyText, h, replace, say, when } from "./lib/dom.js";

const $ = (id) => document.getElementById(id);
const message = (e) => (e instanceof BrokerError ? e.message : "Something went wrong. Try again.");

const welcome = new URLSearchParams(location.search).get("welcome") === "1";
if (welcome) {
  $("title").textContent = "Welcome to Sealpost";
  document.title = "Welcome to Sealpost";
}

// ---- add a broker

$("add-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const status = $("add-status");
  const input = $("add-url");
  let origin;
  try {
    origin = brokerOrigin(input.value);
  } catch (e) {
    input.setAttribute("aria-invalid", "true");
    say(status, message(e), "error");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  // The permission prompt must start inside this click: ask before any await.
  const access = isLoopback(origin) ? Promise.resolve(true) : permissions.request(origin).catch(() => false);
  void addBroker(origin, access);
});

async function addBroker(origin, access) {
  const status = $("add-status");
  const button = $("add-button");
  button.disabled = true;
  say(status, `Adding ${origin}…`);
  try {
    if (!(await access)) throw new BrokerError("ERR_PERMISSION", `Access to ${origin} was not granted, so nothing was added.`);
    await pairBroker(origin);
    $("add-url").value = "";
    say(status, `Added ${origin}. Now add the agents that may send you requests.`, "ok");
    await render();
    const nameInput = document.querySelector(`[data-origin="${CSS.escape(origin)}"] input[name=agent]`);
    if (nameInput) nameInput.focus();
  } catch (e) {
    // A permission granted for a broker that then failed is given back.
    if (!isLoopback(origin) && !(await loadBrokers()).some((b) => b.origin === origin)) await permissions.remove(origin);
    say(status, message(e), "error");
  } finally {
    button.disabled = false;
  }
}

// ---- brokers

async function render() {
  const brokers = await loadBrokers();
  $("brokers-empty").hidden = brokers.length > 0;
  const list = $("brokers");
  // Keep an open "agent command" panel (shown once) across re-renders.
  const keep = new Map([...list.querySelectorAll("[data-origin]")].map((li) => [li.dataset.origin, li]));
  replace(
    list,
    brokers.map((b) => keep.get(b.origin) || brokerItem(b)),
  );
  for (const b of brokers) void refreshSenders(b.origin);
}

function brokerItem(b) {
  const id = `b-${Math.random().toString(36).slice(2, 10)}`;
  const senders = h("ul", { class: "sp-list opt-senders", "aria-labelledby": `${id}-agents` });
  const sendersStatus = h("p", { role: "status", hidden: true });
  const commandSlot = h("div");
  const nameInput = h("input", {
    id: `${id}-name`,
    name: "agent",
    class: "sp-input",
    type: "text",
    maxlength: "64",
    autocomplete: "off",
    required: true,
    "aria-describedby": `${id}-name-hint ${id}-add-status`,
  });
  const addStatus = h("p", { id: `${id}-add-status`, role: "status", hidden: true });
  const addForm = h(
    "form",
    { novalidate: true, onsubmit: (ev) => (ev.preventDefault(), onAddAgent(b.origin, nameInput, addStatus, commandSlot)) },
    h(
      "div",
      { class: "sp-row" },
      h("div", { class: "sp-field" }, h("label", { class: "sp-label", for: `${id}-name` }, "Agent name"), nameInput),
      h("button", { class: "sp-btn", type: "submit" }, "Add agent"),
    ),
    h("p", { id: `${id}-name-hint`, class: "sp-hint" }, "A name you will recognise in requests, like “CI runner” or “laptop”."),
    addStatus,
  );
  const removeSlot = h("div");
  const removeButton = h(
    "button",
    { class: "sp-btn sp-btn-danger sp-btn-small", type: "button", onclick: () => confirmRemoveBroker(b.origin, removeSlot, removeButton) },
    "Remove broker",
  );
  return h(
    "li",
    { class: "sp-panel opt-broker", "data-origin": b.origin, "data-testid": "broker", "aria-labelledby": `${id}-title` },
    h(
      "div",
      { class: "opt-broker-head" },
      h("h3", { id: `${id}-title` }, b.origin),
      removeButton,
    ),
    removeSlot,
    h("p", { class: "sp-hint" }, isLoopback(b.origin) ? "On this computer. " : "", "Inbox ", h("span", { class: "sp-mono" }, b.inbox_id)),
    h("h4", { id: `${id}-agents` }, "Agents"),
    sendersStatus,
    senders,
    commandSlot,
    addForm,
  );
}

async function refreshSenders(origin) {
  const li = document.querySelector(`[data-origin="${CSS.escape(origin)}"]`);
  if (!li) return;
  const list = li.querySelector("ul");
  const status = li.querySelector("h4 + p[role=status]");
  let senders;
  try {
    senders = await listSenders(origin);
    say(status, "");
  } catch (e) {
    // Show what is stored (names only) and say why the counts are missing.
    const b = (await loadBrokers()).find((x) => x.origin === origin);
    senders = b ? b.senders || [] : [];
    say(status, message(e), e instanceof BrokerError && e.code === "ERR_PERMISSION" ? "warn" : "error");
    if (e instanceof BrokerError && e.code === "ERR_PERMISSION") {
      status.append(" ", h("button", { class: "sp-btn sp-btn-small", type: "button", onclick: () => grant(origin) }, "Allow access"));
    }
  }
  if (senders.length === 0) {
    replace(list, h("li", { class: "sp-muted" }, "No agent yet: an agent needs one to send you requests."));
    return;
  }
  replace(list, senders.map((s) => senderItem(origin, s)));
}

async function grant(origin) {
  await permissions.request(origin).catch(() => false);
  await refreshSenders(origin);
}

function senderItem(origin, s) {
  const parts = [];
  if (Number.isFinite(s.pending)) parts.push(`${s.pending} pending`);
  if (Number.isFinite(s.sent)) parts.push(`${s.sent} ${s.sent === 1 ? "request" : "requests"} sent`);
  if (s.last_used_at) parts.push(`last used ${when(s.last_used_at)}`);
  else if (Number.isFinite(s.sent)) parts.push("not used yet");
  // Removing an agent cannot be undone (its key stops working, its waiting requests
  // are declined, and it needs a new command to come back): asked first, as for a broker.
  const confirmSlot = h("div", { class: "opt-sender-slot" });
  const remove = h(
    "button",
    {
      class: "sp-btn sp-btn-danger sp-btn-small",
      type: "button",
      "aria-label": `Remove agent ${s.name}`,
      onclick: () => confirmRemoveSender(origin, s, remove, confirmSlot),
    },
    "Remove",
  );
  // At its quota the broker refuses the agent's new requests (429 ERR_SENDER_QUOTA);
  // say so here, or the person never learns why it went quiet. A broker that does
  // not send `pending_limit` gets nothing new.
  const full =
    Number.isFinite(s.pending) && Number.isFinite(s.pending_limit) && s.pending_limit > 0 && s.pending >= s.pending_limit
      ? h(
          "div",
          { class: "opt-sender-full", "data-testid": "sender-full" },
          `${s.pending} ${s.pending === 1 ? "request" : "requests"} waiting — its limit: new requests from it are refused until you answer or decline one.`,
        )
      : null;
  return h(
    "li",
    { class: "opt-sender", "data-testid": "sender", "data-sender-id": s.sender_id },
    h(
      "div",
      { class: "opt-sender-text" },
      h("div", { class: "opt-sender-name" }, s.name),
      h("div", { class: "opt-sender-meta" }, parts.join(" · ")),
      ...(full ? [full] : []),
    ),
    remove,
    confirmSlot,
  );
}

function confirmRemoveSender(origin, s, button, slot) {
  askFirst(slot, button, {
    label: `Remove agent ${s.name}`,
    text: `Remove “${s.name}”? Its key stops working at once and its waiting requests are declined. To use it again, add it anew and run the new command on its machine.`,
    yes: "Yes, remove this agent",
    className: "opt-confirm",
    act: async () => {
      await removeSender(origin, s.sender_id);
      await refreshSenders(origin);
      document.querySelector(`[data-origin="${CSS.escape(origin)}"] input[name=agent]`)?.focus();
    },
    failed: (e, { status }) => say(status, message(e), "error"),
  });
}

async function onAddAgent(origin, input, status, slot) {
  const name = input.value.trim();
  if (!name) {
    input.setAttribute("aria-invalid", "true");
    say(status, "Give the agent a name.", "error");
    input.focus();
    return;
  }
  // Requests name the agent they came through: two agents of one name could not be told apart.
  const key = (n) => n.replace(/\s+/g, " ").trim().toLocaleLowerCase();
  const li = document.querySelector(`[data-origin="${CSS.escape(origin)}"]`);
  const shown = li ? [...li.querySelectorAll(".opt-sender-name")].map((e) => e.textContent) : [];
  const stored = ((await loadBrokers()).find((b) => b.origin === origin) || {}).senders || [];
  if ([...shown, ...stored.map((x) => String(x.name ?? ""))].some((n) => key(n) === key(name))) {
    input.setAttribute("aria-invalid", "true");
    say(status, `You already have an agent named “${name}” here. Requests show the agent's name, so give this one another.`, "error");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  say(status, "Adding…");
  try {
    const { sender, command } = await addSender(origin, name);
    input.value = "";
    say(status, "");
    showCommand(slot, sender.name, command, input);
    await refreshSenders(origin);
  } catch (e) {
    say(status, message(e), "error");
    input.focus();
  }
}

/** The agent command, shown once: the credential in it is not kept anywhere. */
function showCommand(slot, name, command, next) {
  const cmdId = `cmd-${Math.random().toString(36).slice(2, 10)}`;
  const area = h("textarea", { id: cmdId, class: "sp-input sp-mono", readonly: true, rows: "3", spellcheck: "false", "data-testid": "agent-command" });
  area.value = command;
  const copied = h("span", { role: "status", class: "sp-muted sp-small" });
  const heading = h("h4", { tabindex: "-1" }, `Command for “${name}”`);
  const panel = h(
    "div",
    { class: "opt-command" },
    heading,
    h("label", { for: cmdId, class: "sp-hint" }, "Run this on the agent's machine. It holds the agent's key, shown only now: Sealpost does not keep it."),
    area,
    h(
      "div",
      { class: "sp-actions" },
      h(
        "button",
        {
          class: "sp-btn sp-btn-primary sp-btn-small",
          type: "button",
          onclick: async () => {
            area.select();
            copied.textContent = (await copyText(command)) ? "Copied." : "Select the text and copy it with Ctrl+C.";
          },
        },
        "Copy command",
      ),
      h(
        "button",
        {
          class: "sp-btn sp-btn-small",
          type: "button",
          onclick: () => {
            area.value = "";
            panel.remove();
            // Focus stays in the broker's card (on the next agent's name), not lost to the page.
            if (next && next.isConnected) next.focus();
          },
        },
        "Done, hide it",
      ),
      copied,
    ),
  );
  replace(slot, panel);
  heading.focus();
}

function confirmRemoveBroker(origin, slot, button) {
  askFirst(slot, button, {
    label: `Remove ${origin}`,
    text: `Remove ${origin}? Its inbox and agents are deleted at the broker, requests waiting there are declined, and Sealpost gives back its access to that site.`,
    yes: "Yes, remove it",
    className: "opt-confirm",
    act: async (force) => {
      await removeBroker(origin, { force });
      await render();
      say($("add-status"), `Removed ${origin}.`, "ok");
      $("brokers-title").focus();
    },
    failed: (e, { status, run, actions }) => {
      say(status, `${message(e)} The inbox may still exist there.`, "error");
      if (!actions.querySelector("[data-force]")) {
        actions.prepend(
          h("button", { class: "sp-btn sp-btn-danger sp-btn-small", type: "button", "data-force": "1", onclick: () => run(true) }, "Forget it anyway"),
        );
      }
    },
  });
}

// ---- poll interval

$("poll-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("poll-seconds");
  const saved = await saveSettings({ pollSeconds: input.value });
  input.value = String(saved.pollSeconds);
  say($("poll-status"), `Sealpost checks every ${saved.pollSeconds} seconds.`, "ok");
});

async function init() {
  const { pollSeconds } = await loadSettings();
  $("poll-seconds").value = String(pollSeconds);
  // Someone who has paired already comes here for the brokers: the explanation moves down.
  if (!welcome && (await loadBrokers()).length > 0) $("main").insertBefore($("about"), $("privacy"));
  await render();
  // Another page (or the background) changed the pairing: show it.
  local.onChanged((changes) => {
    if (changes.brokers) {
      const now = new Set((changes.brokers.newValue || []).map((b) => b.origin));
      const shown = new Set([...document.querySelectorAll("[data-origin]")].map((li) => li.dataset.origin));
      if (now.size !== shown.size || [...now].some((o) => !shown.has(o))) void render();
    }
  });
}

void init();
