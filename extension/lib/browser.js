// The one wrapper over the WebExtension API (`browser.*` in Firefox, `chrome.*`
// in Chromium; both return promises in MV3). Pages and the background import
// from here and never touch `chrome`/`browser` directly, so a difference between
// the two browsers is handled in one place.
//
// Storage rule: everything persistent goes to storage.local (never sync: the
// inbox token is a secret and must not leave this browser profile); what only
// needs to live while the browser runs (seen request codes, the last poll
// result) goes to storage.session, which is kept in memory.

const api = globalThis.browser ?? globalThis.chrome;

if (!api || !api.runtime) {
  throw new Error("Sealpost: not running as a browser extension");
}

/** True in Firefox (moz-extension:// pages). */
export const isFirefox = api.runtime.getURL("").startsWith("moz-extension:");

/** storage.local: persistent, this profile only. */
export const local = {
  /** @param {string|string[]|null} keys */
  get: (keys) => api.storage.local.get(keys),
  set: (items) => api.storage.local.set(items),
  remove: (keys) => api.storage.local.remove(keys),
  onChanged(fn) {
    api.storage.onChanged.addListener((changes, area) => {
      if (area === "local") fn(changes);
    });
  },
};

/** storage.session: in memory, cleared when the browser quits. */
export const session = {
  get: (keys) => (api.storage.session ? api.storage.session.get(keys) : Promise.resolve({})),
  set: (items) => (api.storage.session ? api.storage.session.set(items) : Promise.resolve()),
  remove: (keys) => (api.storage.session ? api.storage.session.remove(keys) : Promise.resolve()),
  onChanged(fn) {
    api.storage.onChanged.addListener((changes, area) => {
      if (area === "session") fn(changes);
    });
  },
};

/**
 * The host-permission match pattern for an origin. Match patterns carry no
 * port in Firefox (and a port-less pattern matches every port in Chromium),
 * so the grant covers the host on any port.
 */
export function originPattern(origin) {
  const u = new URL(origin);
  return `${u.protocol}//${u.hostname}/*`;
}

export const permissions = {
  /** Is this origin's host permission granted (at install or later)? */
  has: (origin) => api.permissions.contains({ origins: [originPattern(origin)] }),
  /** Ask for one origin. Must run inside a user gesture (a click handler). */
  request: (origin) => api.permissions.request({ origins: [originPattern(origin)] }),
  /** Give one origin back. Install-time (loopback) hosts cannot be removed and are skipped. */
  async remove(origin) {
    try {
      return await api.permissions.remove({ origins: [originPattern(origin)] });
    } catch {
      return false;
    }
  },
};

export const runtime = {
  id: api.runtime.id,
  getURL: (path) => api.runtime.getURL(path),
  manifest: () => api.runtime.getManifest(),
  /** Send a message to the background; resolves with its answer (or undefined). */
  async send(message) {
    try {
      return await api.runtime.sendMessage(message);
    } catch {
      return undefined;
    }
  },
  /** `fn(message, sender)` may return a promise; its value is the answer. */
  onMessage(fn) {
    api.runtime.onMessage.addListener((message, sender, sendResponse) => {
      const out = fn(message, sender);
      if (out && typeof out.then === "function") {
        out.then(sendResponse, () => sendResponse(undefined));
        return true;
      }
      return false;
    });
  },
  onInstalled: (fn) => api.runtime.onInstalled.addListener(fn),
  onStartup: (fn) => api.runtime.onStartup.addListener(fn),
  openOptionsPage: () => api.runtime.openOptionsPage(),
};

/** The URL of one of this extension's pages, with an optional query object. */
export function pageUrl(name, query = {}) {
  const u = new URL(api.runtime.getURL(name));
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.href;
}

export const tabs = {
  create: (url) => api.tabs.create({ url }),
  /**
   * The active tab of the current window. Its `url` is present only when this
   * extension may see it: the tab's host is granted (a paired broker) or the
   * user just opened the popup on it (activeTab). No `tabs` permission.
   */
  async active() {
    try {
      const [tab] = await api.tabs.query({ active: true, currentWindow: true });
      return tab || null;
    } catch {
      return null;
    }
  },
};

export const alarms = {
  /** A repeating alarm; browsers clamp periods below 30 s up to 30 s. */
  every: (name, seconds) => api.alarms.create(name, { periodInMinutes: seconds / 60, delayInMinutes: seconds / 60 }),
  get: (name) => api.alarms.get(name),
  clear: (name) => api.alarms.clear(name),
  onAlarm: (fn) => api.alarms.onAlarm.addListener(fn),
};

export const badge = {
  async set(text, color) {
    await api.action.setBadgeText({ text });
    if (color) await api.action.setBadgeBackgroundColor({ color });
  },
  get: () => api.action.getBadgeText({}),
  setTitle: (title) => api.action.setTitle({ title }),
};

export const notifications = {
  /** A basic notification (the only type Firefox shows). */
  create: (id, { title, message }) =>
    api.notifications.create(id, {
      type: "basic",
      iconUrl: api.runtime.getURL("icons/icon-128.png"),
      title,
      message,
    }),
  clear: (id) => api.notifications.clear(id),
  onClicked: (fn) => api.notifications.onClicked.addListener(fn),
};

export const contextMenus = {
  create: (props) =>
    new Promise((resolve) => {
      api.contextMenus.create(props, () => {
        // Reading lastError marks it handled ("duplicate id" after a restart).
        void api.runtime.lastError;
        resolve();
      });
    }),
  removeAll: () => api.contextMenus.removeAll(),
  onClicked: (fn) => api.contextMenus.onClicked.addListener(fn),
};

/** Keyboard shortcuts declared under `commands` in the manifest. */
export const commands = {
  onCommand: (fn) => api.commands && api.commands.onCommand.addListener(fn),
};
