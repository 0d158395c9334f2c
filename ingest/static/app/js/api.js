// The only way the app talks to Threadline: the public /v1 API, with the tenant's key.

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `request failed (${status})`);
    this.status = status;
    this.code = error.code || "unknown";
    this.details = error.details;
  }
}

export class Api {
  constructor(key) {
    this.key = key;
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  async request(method, path, { query, body, headers } = {}) {
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    const init = { method, headers: this.headers(headers) };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    if (response.status === 204) return null;
    const text = await response.text();
    const parsed = text ? safeJson(text) : null;
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }

  patch(path, body) {
    return this.request("PATCH", path, { body });
  }

  put(path, body) {
    return this.request("PUT", path, { body });
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  /** POST /v1/uploads: a file to attach to a reply. */
  async upload(file) {
    const form = new FormData();
    form.append("data", file, file.name);
    const response = await fetch("/v1/uploads", { method: "POST", headers: this.headers(), body: form });
    const text = await response.text();
    const parsed = text ? safeJson(text) : null;
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  /** A file the API serves (an attachment, an export) as a Blob; media elements cannot send
   * the Authorization header themselves. */
  async blob(path, query) {
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
    }
    const response = await fetch(url, { headers: this.headers() });
    if (!response.ok) {
      const text = await response.text();
      const error = new ApiError(response.status, text ? safeJson(text) : null);
      error.retryAfter = Number(response.headers.get("Retry-After")) || null;
      throw error;
    }
    return response.blob();
  }
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * GET /v1/events read with fetch (EventSource cannot send Authorization): resumes with
 * Last-Event-ID after a dropped connection, starts afresh (and says so) when the server asks
 * for a resync or cannot resume.
 */
export class LiveStream {
  constructor(api, { onEvent, onState }) {
    this.api = api;
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = null;
    this.retry = 2000;
    this.stopped = false;
    this.controller = null;
    this.quietTimer = null;
    this.reconnectNow = () => this.controller && this.controller.abort();
  }

  start() {
    // The browser knows first when the network comes and goes.
    window.addEventListener("online", this.reconnectNow);
    window.addEventListener("offline", this.reconnectNow);
    this.run();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.reconnectNow);
    window.removeEventListener("offline", this.reconnectNow);
    clearTimeout(this.quietTimer);
    if (this.controller) this.controller.abort();
  }

  async run() {
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        const headers = this.api.headers({ Accept: "text/event-stream" });
        if (this.lastId) headers["Last-Event-ID"] = this.lastId;
        const response = await fetch("/v1/events", { headers, signal: this.controller.signal });
        if (response.status === 400 && this.lastId) {
          // Too old to resume: what the page shows may be stale.
          this.lastId = null;
          this.onEvent("resync", {});
          continue;
        }
        if (!response.ok) throw new ApiError(response.status, null);
        this.onState("live");
        await this.read(response.body);
      } catch (error) {
        if (this.stopped) return;
      }
      clearTimeout(this.quietTimer);
      if (this.stopped) return;
      this.onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, this.retry));
    }
  }

  // Heartbeats come every 15 s: three times that in silence means the connection is gone.
  watch() {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.controller.abort(), 45000);
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = { type: "message", data: [], id: null };
    this.watch();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.watch();
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop();
      for (const line of lines) {
        if (line === "") {
          if (event.data.length) {
            if (event.id !== null) this.lastId = event.id;
            this.dispatch(event.type, event.data.join("\n"));
          }
          event = { type: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event.type = value;
        else if (field === "data") event.data.push(value);
        else if (field === "id") event.id = value;
        else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
      }
    }
  }

  dispatch(type, data) {
    if (type === "resync") this.lastId = null;
    this.onEvent(type, safeJson(data) || {});
  }
}
