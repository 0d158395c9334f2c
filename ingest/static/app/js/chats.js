// The Chats page: every channel's conversations in one list, a thread's messages, and the
// customer beside it.
import {
  CHANNELS,
  announce,
  append,
  channelBadge,
  chip,
  day,
  field,
  h,
  money,
  replace,
  shortWhen,
  timeElement,
  when,
} from "./dom.js";

const STATUSES = [
  ["open", "Open"],
  ["pending", "Pending"],
  ["resolved", "Resolved"],
  ["snoozed", "Snoozed"],
];

const TICKS = {
  pending: ["🕓", "Sending"],
  sent: ["✓", "Sent"],
  delivered: ["✓✓", "Delivered"],
  read: ["✓✓", "Read"],
  played: ["✓✓", "Played"],
  failed: ["!", "Failed"],
  unknown: ["?", "Not known whether it was sent"],
};

export function threadName(thread) {
  const who = thread.participant || {};
  return (
    (thread.customer && thread.customer.name) ||
    who.display_name ||
    who.username ||
    who.phone ||
    who.email ||
    who.channel_user_id
  );
}

function participantAddress(thread) {
  const who = thread.participant || {};
  return [who.phone, who.email, who.username && `@${who.username}`].filter(Boolean).join(" · ");
}

export class ChatsPage {
  constructor(context, threadId) {
    this.context = context;
    this.api = context.api;
    this.filters = { status: "open", view: "all", label: "", q: "", channel: "" };
    this.threads = [];
    this.nextCursor = null;
    this.selected = null;
    this.thread = null;
    this.messages = [];
    this.olderCursor = null;
    this.objectUrls = [];
    this.pendingOpen = threadId;
    this.build();
  }

  build() {
    this.search = h("input", { type: "search", name: "q", maxlength: 200 });
    this.channel = h(
      "select",
      { name: "channel" },
      h("option", { value: "" }, "All channels"),
      Object.entries(CHANNELS).map(([value, label]) => h("option", { value }, label)),
    );
    this.view = h(
      "select",
      { name: "view" },
      h("option", { value: "all" }, "Everyone's"),
      h("option", { value: "mine" }, "Mine"),
      h("option", { value: "unassigned" }, "Unassigned"),
    );
    this.label = h("input", { type: "text", name: "label", maxlength: 64 });
    const filters = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter conversations" },
      field("Search conversations", this.search),
      h("div", { class: "row" }, field("Channel", this.channel), field("Show", this.view)),
      field("Label", this.label),
      h("button", { type: "submit", class: "visually-hidden" }, "Search"),
    );
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      this.applyFilters();
    });
    for (const control of [this.channel, this.view]) {
      control.addEventListener("change", () => this.applyFilters());
    }
    this.label.addEventListener("change", () => this.applyFilters());
    this.tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Conversations by status" });
    this.list = h("ul", { class: "thread-list", "aria-label": "Conversations" });
    this.list.addEventListener("keydown", (event) => this.moveFocus(event));
    this.more = h(
      "button",
      { type: "button", class: "more", hidden: true, onclick: () => this.loadList(true) },
      "Load more",
    );
    this.listPane = h(
      "section",
      { class: "pane list-pane", "aria-label": "Conversations" },
      filters,
      this.tabs,
      this.list,
      this.more,
    );
    this.threadPane = h("section", { class: "pane thread-pane", "aria-label": "Conversation" });
    this.customerPane = h("aside", { class: "pane customer-pane", "aria-label": "Customer" });
    this.element = h(
      "div",
      { class: "chats" },
      h("h1", { class: "visually-hidden" }, "Chats"),
      this.listPane,
      this.threadPane,
      this.customerPane,
    );
    this.renderTabs({});
    this.renderEmpty();
  }

  show() {
    this.unsubscribe = this.context.subscribe((type, data) => this.onEvent(type, data));
    this.refresh();
    this.open(this.pendingOpen);
  }

  leave() {
    if (this.unsubscribe) this.unsubscribe();
    this.releaseMedia();
  }

  applyFilters() {
    this.filters.q = this.search.value.trim();
    this.filters.channel = this.channel.value;
    this.filters.view = this.view.value;
    this.filters.label = this.label.value.trim();
    this.refresh();
  }

  query() {
    const { status, view, label, q, channel } = this.filters;
    return {
      status,
      label,
      q,
      channel,
      assignee: view === "mine" ? this.context.agent : view === "unassigned" ? "none" : "",
    };
  }

  async refresh() {
    await Promise.all([this.loadCounts(), this.loadList(false)]);
  }

  async loadCounts() {
    try {
      this.renderTabs(await this.api.get("/v1/threads/counts", { assignee: this.context.agent }));
    } catch (error) {
      this.context.failed(error);
    }
  }

  renderTabs(counts) {
    const byStatus = counts.status || {};
    replace(
      this.tabs,
      STATUSES.map(([status, label]) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            "aria-selected": String(this.filters.status === status),
            dataset: { status },
            onclick: () => {
              this.filters.status = status;
              this.renderTabs(counts);
              this.loadList(false);
            },
          },
          label,
          " ",
          h("span", { class: "count" }, byStatus[status] ?? ""),
        ),
      ),
    );
  }

  async loadList(more) {
    const request = (this.listRequest = {});
    const limit = more ? 50 : Math.min(200, Math.max(50, this.threads.length));
    let page;
    try {
      page = await this.api.get("/v1/threads", {
        ...this.query(),
        limit,
        cursor: more ? this.nextCursor : "",
      });
    } catch (error) {
      this.context.failed(error);
      return;
    }
    if (request !== this.listRequest) return; // a newer request answers for the filters now
    this.threads = more ? [...this.threads, ...page.items] : page.items;
    this.nextCursor = page.next_cursor;
    this.renderList();
  }

  renderList() {
    const focused = document.activeElement && document.activeElement.dataset.thread;
    replace(
      this.list,
      this.threads.length
        ? this.threads.map((thread) => this.threadItem(thread))
        : h("li", { class: "empty" }, "No conversations here."),
    );
    this.more.hidden = !this.nextCursor;
    if (focused) {
      const again = this.list.querySelector(`[data-thread="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  threadItem(thread) {
    const last = thread.last_message;
    const unread = thread.unread_count
      ? h("span", { class: "unread", "aria-label": `${thread.unread_count} unread` }, thread.unread_count)
      : null;
    return h(
      "li",
      {},
      h(
        "a",
        {
          href: `#/chats/${encodeURIComponent(thread.id)}`,
          class: "thread-item",
          dataset: { thread: thread.id },
          "aria-current": thread.id === this.selected ? "true" : null,
        },
        h(
          "span",
          { class: "line" },
          h("strong", { class: "name" }, threadName(thread)),
          timeElement(thread.last_message_at, shortWhen),
        ),
        h(
          "span",
          { class: "line" },
          h("span", { class: "preview" }, last ? (last.direction === "outbound" ? "You: " : "") + last.preview : ""),
          unread,
        ),
        h(
          "span",
          { class: "line tags" },
          channelBadge(thread.channel),
          thread.assignee ? h("span", { class: "assignee" }, `→ ${thread.assignee}`) : null,
          thread.labels.map((label) => h("span", { class: "label" }, label)),
        ),
      ),
    );
  }

  moveFocus(event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const links = [...this.list.querySelectorAll("a.thread-item")];
    const at = links.indexOf(document.activeElement);
    const next = links[at + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  }

  onEvent(type, data) {
    if (type === "resync") {
      this.refresh();
      if (this.selected) this.open(this.selected, true);
      return;
    }
    if (type === "thread") {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.refresh(), 250);
      if (data.id === this.selected) {
        const wasOpen = this.thread && this.thread.reply_window && this.thread.reply_window.open;
        this.thread = { ...this.thread, ...data };
        this.renderHeader();
        if (this.composer && Boolean(data.reply_window && data.reply_window.open) !== Boolean(wasOpen)) {
          this.renderComposer();
        }
      }
      return;
    }
    if (type === "message" && data.thread_id === this.selected) {
      this.upsertMessage(data);
      if (data.direction === "inbound" && document.visibilityState === "visible") {
        clearTimeout(this.readTimer);
        this.readTimer = setTimeout(() => this.markRead(), 500);
      }
    }
  }

  // --- the open thread ---

  renderEmpty() {
    this.element.classList.remove("has-thread");
    replace(
      this.threadPane,
      h("p", { class: "placeholder" }, "Choose a conversation to read it."),
    );
    replace(this.customerPane);
  }

  async open(threadId, again = false) {
    if (!threadId) {
      this.selected = null;
      this.renderEmpty();
      this.renderList();
      return;
    }
    if (threadId === this.selected && !again) return;
    this.selected = threadId;
    this.releaseMedia();
    this.element.classList.add("has-thread");
    this.renderList();
    let thread;
    let page;
    try {
      [thread, page] = await Promise.all([
        this.api.get(`/v1/threads/${encodeURIComponent(threadId)}`),
        this.api.get(`/v1/threads/${encodeURIComponent(threadId)}/messages`, { limit: 50 }),
      ]);
    } catch (error) {
      if (error.status === 404 && error.details && error.details.merged_into) {
        location.hash = `#/chats/${encodeURIComponent(error.details.merged_into)}`;
        return;
      }
      this.context.failed(error);
      return;
    }
    if (threadId !== this.selected) return;
    this.thread = thread;
    this.messages = page.items;
    this.olderCursor = page.before;
    this.renderThread();
    this.renderCustomer();
    if (thread.unread_count) this.markRead();
  }

  async markRead() {
    if (!this.selected) return;
    try {
      await this.api.post(`/v1/threads/${encodeURIComponent(this.selected)}/read`);
    } catch (error) {
      this.context.failed(error);
    }
  }

  renderThread() {
    this.header = h("header", { class: "thread-header" });
    this.info = h("div", { class: "thread-info" });
    this.log = h("ol", { class: "messages", role: "log", "aria-label": "Messages" });
    this.older = h(
      "button",
      { type: "button", class: "more", onclick: () => this.loadOlder() },
      "Load older messages",
    );
    const note = h("textarea", { name: "note", rows: 2, maxlength: 10000, required: true });
    const noteForm = h(
      "form",
      { class: "note-form" },
      field("Add a note (only staff see notes)", note),
      h("button", { type: "submit" }, "Add note"),
    );
    noteForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = note.value.trim();
      if (!text) return;
      try {
        const added = await this.api.post(
          `/v1/threads/${encodeURIComponent(this.selected)}/notes`,
          { text, author: this.context.agent },
        );
        note.value = "";
        this.upsertMessage(added);
        announce("Note added.");
      } catch (error) {
        this.context.failed(error);
      }
    });
    this.composer = h("div", { class: "composer" });
    replace(this.threadPane, this.header, this.info, this.older, this.log, this.composer, noteForm);
    this.renderComposer();
    this.renderHeader();
    this.renderMessages();
    this.log.scrollTop = this.log.scrollHeight;
  }

  renderHeader() {
    const thread = this.thread;
    if (!thread || !this.header) return;
    const status = h(
      "select",
      { name: "status" },
      STATUSES.map(([value, label]) =>
        h("option", { value, selected: thread.status === value }, label),
      ),
    );
    const snoozeUntil = h("input", { type: "datetime-local", name: "snoozed_until" });
    const snooze = h(
      "span",
      { class: "snooze", hidden: true },
      field("Snooze until", snoozeUntil),
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            if (!snoozeUntil.value) return announce("Choose when the snooze ends.", "error");
            this.change({
              status: "snoozed",
              snoozed_until: new Date(snoozeUntil.value).toISOString(),
            });
          },
        },
        "Snooze",
      ),
    );
    status.addEventListener("change", () => {
      if (status.value === "snoozed") {
        snooze.hidden = false;
        snoozeUntil.focus();
      } else {
        this.change({ status: status.value });
      }
    });
    const mine = thread.assignee === this.context.agent;
    const assign = h(
      "button",
      {
        type: "button",
        onclick: () => this.change({ assignee: mine ? null : this.context.agent }),
      },
      mine ? "Unassign me" : thread.assignee ? "Take over" : "Assign to me",
    );
    const newLabel = h("input", { type: "text", name: "new-label", maxlength: 64 });
    const labelForm = h(
      "form",
      { class: "label-form" },
      field("Add label", newLabel),
      h("button", { type: "submit" }, "Add"),
    );
    labelForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const label = newLabel.value.trim();
      if (label) this.change({ labels: [...thread.labels, label] });
    });
    replace(
      this.header,
      h(
        "a",
        { href: "#/chats", class: "back", "aria-label": "Back to the conversations" },
        "←",
      ),
      h(
        "div",
        { class: "who" },
        h("h2", {}, threadName(thread)),
        h("p", {}, channelBadge(thread.channel), " ", participantAddress(thread)),
      ),
      h(
        "div",
        { class: "work" },
        field("Status", status),
        snooze,
        thread.status === "snoozed" && thread.snoozed_until
          ? h("span", {}, `until ${when(thread.snoozed_until)}`)
          : null,
        h(
          "span",
          { class: "assignment" },
          thread.assignee ? `Assigned to ${thread.assignee}` : "Unassigned",
          " ",
          assign,
        ),
        h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                await this.api.post(`/v1/threads/${encodeURIComponent(thread.id)}/unread`);
                announce("Marked unread.");
              } catch (error) {
                this.context.failed(error);
              }
            },
          },
          "Mark unread",
        ),
      ),
      h(
        "div",
        { class: "labels" },
        thread.labels.map((label) =>
          chip(label, () => this.change({ labels: thread.labels.filter((l) => l !== label) })),
        ),
        labelForm,
      ),
    );
    this.renderInfo();
  }

  renderInfo() {
    const thread = this.thread;
    const window = thread.reply_window;
    let reply;
    if (!window || window.rule === "none") reply = "Replies: always open on this channel.";
    else if (window.open)
      reply = `Reply window open until ${when(window.closes_at)} (${
        window.rule === "human_agent_7d" ? "human agent, 7 days" : "24 hours"
      }).`;
    else reply = "Reply window closed: only an approved template can be sent.";
    const consent = this.consent
      ? this.consentWords(this.consent)
      : thread.customer
        ? "Consent: loading…"
        : "Consent: not known until the thread is linked to a customer.";
    replace(
      this.info,
      h("p", { class: window && !window.open ? "warning" : "" }, reply),
      h("p", { class: "consent" }, consent),
    );
  }

  consentWords(consent) {
    const choices = consent[this.thread.channel] || {};
    const parts = Object.entries(choices).map(
      ([topic, status]) => `${topic} ${status.replace("_", " ")}`,
    );
    return `Consent on ${CHANNELS[this.thread.channel]}: ${parts.join(", ") || "not captured"}.`;
  }

  async change(body) {
    try {
      this.thread = await this.api.patch(`/v1/threads/${encodeURIComponent(this.selected)}`, body);
      this.renderHeader();
      announce("Saved.");
      this.refresh();
    } catch (error) {
      this.context.failed(error);
    }
  }

  async loadOlder() {
    if (!this.olderCursor) return;
    try {
      const page = await this.api.get(`/v1/threads/${encodeURIComponent(this.selected)}/messages`, {
        limit: 50,
        before: this.olderCursor,
      });
      this.messages = [...page.items, ...this.messages];
      this.olderCursor = page.before;
      this.renderMessages();
    } catch (error) {
      this.context.failed(error);
    }
  }

  upsertMessage(message) {
    const at = this.messages.findIndex((known) => known.id === message.id);
    if (at >= 0) this.messages[at] = message;
    else {
      this.messages.push(message);
      this.messages.sort((a, b) =>
        a.occurred_at === b.occurred_at ? (a.id < b.id ? -1 : 1) : a.occurred_at < b.occurred_at ? -1 : 1,
      );
    }
    const stuck = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.renderMessages();
    if (stuck || at < 0) this.log.scrollTop = this.log.scrollHeight;
  }

  renderMessages() {
    this.older.hidden = !this.olderCursor;
    replace(
      this.log,
      this.messages.length
        ? this.messages.map((message) => this.messageItem(message))
        : h("li", { class: "empty" }, "No messages yet."),
    );
  }

  messageItem(message) {
    const content = message.content || {};
    const body = h("div", { class: "body" });
    if (message.reply_to) {
      append(
        body,
        h(
          "blockquote",
          { class: "quote" },
          h("span", { class: "visually-hidden" }, "Replying to: "),
          message.reply_to.preview,
        ),
      );
    }
    if (message.deleted || content.deleted) {
      append(body, h("p", { class: "deleted" }, "Message deleted"));
    } else {
      if (content.subject) append(body, h("p", { class: "subject" }, content.subject));
      if (content.reaction) {
        append(
          body,
          h("p", { class: "reaction" }, content.reaction.emoji ? `Reacted ${content.reaction.emoji}` : "Removed a reaction"),
        );
      } else if (content.text) {
        append(body, h("p", { class: "text" }, content.text));
      }
      if (content.location) append(body, this.location(content.location));
      for (const contact of content.contacts || []) {
        append(
          body,
          h("p", { class: "contact" }, `Contact: ${contact.name}`, " ", [...contact.phones, ...contact.emails].join(", ")),
        );
      }
      (content.attachments || []).forEach((attachment, index) => {
        append(body, this.attachment(message, attachment, index));
      });
      if (content.type === "unsupported" && !content.text) {
        append(body, h("p", { class: "deleted" }, "This message type cannot be shown."));
      }
    }
    const meta = h(
      "p",
      { class: "meta" },
      message.direction === "note" ? `Note by ${message.author || "staff"} · ` : "",
      timeElement(message.occurred_at),
      message.edited_at ? " · edited" : "",
      message.direction === "outbound" ? this.ticks(message) : null,
      message.direction === "note"
        ? h(
            "button",
            {
              type: "button",
              class: "link",
              onclick: () => this.deleteNote(message),
            },
            "Delete note",
          )
        : null,
    );
    return h(
      "li",
      { class: `message ${message.direction}`, dataset: { message: message.id } },
      body,
      meta,
    );
  }

  ticks(message) {
    const [mark, words] = TICKS[message.status] || ["", message.status || ""];
    const error = message.status_error;
    return h(
      "span",
      { class: `ticks ${message.status || ""}`, title: words },
      " ",
      h("span", { "aria-hidden": "true" }, mark),
      h("span", { class: "visually-hidden" }, words),
      error ? h("span", { class: "failure" }, ` ${error.title || ""} (${error.code})`) : null,
      message.status === "failed" || message.status === "unknown"
        ? h(
            "button",
            { type: "button", class: "link", onclick: () => this.retry(message) },
            message.status === "unknown" ? "Send again (it may arrive twice)" : "Retry",
          )
        : null,
    );
  }

  async retry(message) {
    try {
      this.upsertMessage(await this.api.post(`/v1/messages/${encodeURIComponent(message.id)}/retry`));
      announce("Sending again.");
    } catch (error) {
      this.context.failed(error);
    }
  }

  // --- the reply box ---

  renderComposer() {
    const thread = this.thread;
    const window = thread.reply_window;
    const closed = window && !window.open;
    if (closed && thread.channel !== "whatsapp") {
      replace(
        this.composer,
        h("p", { class: "warning" }, "The reply window is closed: this channel takes no reply until the customer writes again."),
      );
      return;
    }
    if (closed) {
      this.renderTemplatePicker();
      return;
    }
    const text = h("textarea", { name: "reply", rows: 3, maxlength: 4096 });
    const file = h("input", { type: "file", name: "attachment" });
    const form = h(
      "form",
      { class: "reply-form" },
      field("Reply", text),
      h("div", { class: "row" }, field("Attach a file", file), h("button", { type: "submit", class: "primary" }, "Send")),
    );
    // One key per message being written: sending again after a lost answer sends it once.
    let key = crypto.randomUUID();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { author: this.context.agent };
      if (text.value.trim()) body.text = text.value.trim();
      try {
        if (file.files.length) {
          const upload = await this.api.upload(file.files[0]);
          body.attachments = [{ upload_id: upload.upload_id }];
        }
        if (!body.text && !body.attachments) return announce("Write a reply or attach a file.", "error");
        const sent = await this.send(body, key);
        if (!sent) return;
        key = crypto.randomUUID();
        text.value = "";
        file.value = "";
      } catch (error) {
        this.context.failed(refusalWords(error));
      }
    });
    replace(this.composer, form);
  }

  async send(body, key) {
    try {
      const sent = await this.api.request("POST", `/v1/threads/${encodeURIComponent(this.selected)}/messages`, {
        body,
        headers: { "Idempotency-Key": key },
      });
      this.upsertMessage(sent);
      return sent;
    } catch (error) {
      this.context.failed(refusalWords(error));
      return null;
    }
  }

  async renderTemplatePicker() {
    replace(
      this.composer,
      h("p", { class: "warning" }, "The reply window is closed: WhatsApp takes only an approved template until the customer writes again."),
    );
    let templates = [];
    try {
      templates = (await this.api.get("/v1/whatsapp/templates")).items;
    } catch (error) {
      append(this.composer, h("p", { class: "error" }, `The templates could not be listed: ${error.message}`));
      return;
    }
    if (!templates.length) {
      append(this.composer, h("p", {}, "This WhatsApp account has no approved template."));
      return;
    }
    const choice = h(
      "select",
      { name: "template" },
      templates.map((template, index) => h("option", { value: String(index) }, `${template.name} (${template.language})`)),
    );
    const parameters = h("div", { class: "parameters" });
    const showParameters = () => {
      const template = templates[Number(choice.value)];
      replace(
        parameters,
        Array.from({ length: template.parameters }, (_, index) =>
          field(`Parameter {{${index + 1}}}`, h("input", { type: "text", name: `parameter-${index + 1}`, required: true })),
        ),
      );
    };
    choice.addEventListener("change", showParameters);
    showParameters();
    const form = h(
      "form",
      { class: "template-form" },
      field("Template", choice),
      parameters,
      h("button", { type: "submit", class: "primary" }, "Send template"),
    );
    let key = crypto.randomUUID();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const template = templates[Number(choice.value)];
      const values = [...parameters.querySelectorAll("input")].map((input) => input.value);
      const sent = await this.send(
        { author: this.context.agent, template: { name: template.name, language: template.language, parameters: values } },
        key,
      );
      if (sent) key = crypto.randomUUID();
    });
    append(this.composer, form);
  }

  location(place) {
    const words = [place.name, place.address].filter(Boolean).join(", ");
    const coordinates = `${place.latitude.toFixed(5)}, ${place.longitude.toFixed(5)}`;
    return h("p", { class: "location" }, "📍 ", words || "Location", ` (${coordinates})`);
  }

  attachment(message, attachment, index) {
    const name = attachment.filename || attachment.caption || `${attachment.kind} attachment`;
    const holder = h("figure", { class: `attachment ${attachment.kind}` });
    if (attachment.caption && attachment.caption !== message.content.text) {
      append(holder, h("figcaption", {}, attachment.caption));
    }
    if (attachment.state === null || attachment.state === undefined) {
      const url = safeUrl(attachment.url);
      append(
        holder,
        url
          ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, `Open ${attachment.kind}`)
          : h("span", {}, name),
      );
      return holder;
    }
    if (attachment.state === "unavailable") {
      holder.prepend(h("p", { class: "deleted" }, `${name}: the file could not be fetched.`));
      return holder;
    }
    if (attachment.state === "pending") {
      holder.prepend(h("p", { class: "pending" }, `${name}: fetching the file…`));
      return holder;
    }
    const path = `/v1/messages/${encodeURIComponent(message.id)}/attachments/${index}`;
    const kind = attachment.kind;
    const mime = attachment.mime_type || "";
    if (kind === "image" || kind === "sticker" || (kind === "story" && mime.startsWith("image/"))) {
      const image = h("img", { alt: attachment.caption || name, loading: "lazy" });
      holder.prepend(image);
      this.loadMedia(path, (url) => (image.src = url), holder);
    } else if (kind === "audio" || mime.startsWith("audio/")) {
      const audio = h("audio", { controls: true, "aria-label": name });
      holder.prepend(audio);
      this.loadMedia(path, (url) => (audio.src = url), holder);
    } else if (kind === "video" || mime.startsWith("video/")) {
      const video = h("video", { controls: true, "aria-label": name });
      holder.prepend(video);
      this.loadMedia(path, (url) => (video.src = url), holder);
    } else {
      holder.prepend(
        h(
          "button",
          {
            type: "button",
            class: "download",
            onclick: async () => {
              try {
                const blob = await this.api.blob(path);
                saveBlob(blob, attachment.filename || "attachment");
              } catch (error) {
                this.context.failed(error);
              }
            },
          },
          `Download ${name}`,
        ),
      );
    }
    return holder;
  }

  async loadMedia(path, use, holder) {
    try {
      const url = URL.createObjectURL(await this.api.blob(path));
      this.objectUrls.push(url);
      use(url);
    } catch (error) {
      append(holder, h("p", { class: "deleted" }, `The file could not be loaded: ${error.message}`));
    }
  }

  releaseMedia() {
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
  }

  async deleteNote(message) {
    try {
      await this.api.delete(
        `/v1/threads/${encodeURIComponent(this.selected)}/notes/${encodeURIComponent(message.id)}`,
      );
      this.messages = this.messages.filter((known) => known.id !== message.id);
      this.renderMessages();
      announce("Note deleted.");
    } catch (error) {
      this.context.failed(error);
    }
  }

  // --- the customer beside the thread ---

  async renderCustomer() {
    const thread = this.thread;
    this.consent = null;
    if (!thread.customer) {
      replace(this.customerPane, await this.linkPanel(thread));
      return;
    }
    let customer;
    try {
      customer = await this.api.get(`/v1/customers/${encodeURIComponent(thread.customer.id)}`);
    } catch (error) {
      replace(this.customerPane, h("p", {}, `The customer could not be loaded: ${error.message}`));
      return;
    }
    if (thread.id !== this.selected) return;
    this.consent = customer.consent || {};
    this.renderInfo();
    const analytics = customer.analytics;
    replace(
      this.customerPane,
      h("h2", {}, h("a", { href: `#/customers/${encodeURIComponent(customer.id)}` }, customer.name)),
      h(
        "dl",
        { class: "facts" },
        fact("Email", customer.emails.join(", ") || "–"),
        fact("Phone", customer.phone || "–"),
        fact("Bookings", analytics.total_bookings),
        fact("Total spent", money(analytics.total_spent)),
        fact("Lifetime value", money(analytics.lifetime_value)),
        fact("Last booking", day(analytics.last_booking_at) || "–"),
        fact("Customer since", day(analytics.customer_since) || "–"),
      ),
      customer.tags.length ? h("p", {}, customer.tags.map((tag) => chip(tag))) : null,
      h(
        "p",
        { class: "matched" },
        thread.matched_by === "manual" ? "Linked by hand." : `Linked by ${thread.matched_by}.`,
      ),
      h("details", {}, h("summary", {}, "Link to another customer"), this.linkSearch(thread)),
    );
  }

  async linkPanel(thread) {
    const panel = h("div", {}, h("h2", {}, "Not linked to a customer"));
    if (thread.candidates && thread.candidates.length) {
      append(panel, h("p", {}, "It could be one of these:"));
      const list = h("ul", { class: "candidates" });
      append(panel, list);
      for (const id of thread.candidates) {
        let name = id;
        try {
          name = (await this.api.get(`/v1/customers/${encodeURIComponent(id)}`)).name;
        } catch {
          // merged or deleted meanwhile: show the id
        }
        append(list, h("li", {}, name, " ", this.linkButton(thread, id, name)));
      }
    }
    append(panel, this.linkSearch(thread));
    return panel;
  }

  linkSearch(thread) {
    const q = h("input", { type: "search", name: "customer-q", maxlength: 200 });
    const results = h("ul", { class: "candidates" });
    const form = h(
      "form",
      { class: "link-search", role: "search" },
      field("Find a customer to link", q, "Name, email, phone or external id"),
      h("button", { type: "submit" }, "Find"),
      results,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const page = await this.api.get("/v1/customers", { q: q.value.trim(), per_page: 10 });
        replace(
          results,
          page.items.length
            ? page.items.map((customer) =>
                h(
                  "li",
                  {},
                  customer.name,
                  " ",
                  h("small", {}, customer.emails[0] || customer.phone || ""),
                  " ",
                  this.linkButton(thread, customer.id, customer.name),
                ),
              )
            : h("li", {}, "No customer found."),
        );
      } catch (error) {
        this.context.failed(error);
      }
    });
    return form;
  }

  linkButton(thread, customerId, name) {
    return h(
      "button",
      {
        type: "button",
        onclick: async () => {
          try {
            this.thread = await this.api.put(
              `/v1/threads/${encodeURIComponent(thread.id)}/customer`,
              { customer_id: customerId },
            );
            announce(`Linked to ${name}.`);
            this.renderHeader();
            this.renderCustomer();
          } catch (error) {
            this.context.failed(error);
          }
        },
      },
      `Link ${name}`,
    );
  }
}

/** The API's refusals of a reply, in words an agent acts on. */
function refusalWords(error) {
  if (error.code === "template_required") {
    error.message = "The reply window is closed: only an approved template can be sent now.";
  } else if (error.code === "opted_out") {
    error.message = "The customer opted out of messages on this channel: nothing was sent.";
  } else if (error.code === "idempotency_key_reused") {
    error.message = "That reply changed while it was being sent; send it again.";
  }
  return error;
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
