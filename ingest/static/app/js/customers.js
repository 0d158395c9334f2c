// The customers list and a customer's page: profile, analytics, bookings, communications,
// consent, notes and tags; edit, delete and merge.
import {
  CHANNELS,
  announce,
  append,
  ask,
  channelBadge,
  chip,
  day,
  field,
  h,
  money,
  replace,
  when,
} from "./dom.js";
import { saveBlob, threadName } from "./chats.js";

const SORTS = [
  ["-created_at", "Newest first"],
  ["created_at", "Oldest first"],
  ["name", "Name"],
  ["-total_bookings", "Most bookings"],
  ["-last_booking_at", "Latest booking"],
];
const PER_PAGE = 50;

function customerPath(id, rest = "") {
  return `/v1/customers/${encodeURIComponent(id)}${rest}`;
}

export class CustomersPage {
  constructor(context, params) {
    this.context = context;
    this.api = context.api;
    this.view = {
      q: params.get("q") || "",
      source: params.get("source") || "",
      tag: params.get("tag") || "",
      sort: params.get("sort") || "-created_at",
      page: Number(params.get("page")) || 1,
    };
    this.build();
  }

  build() {
    this.q = h("input", { type: "search", name: "q", maxlength: 200, value: this.view.q });
    this.source = h("input", { type: "text", name: "source", value: this.view.source });
    this.tag = h("input", { type: "text", name: "tag", value: this.view.tag });
    this.sort = h(
      "select",
      { name: "sort" },
      SORTS.map(([value, label]) => h("option", { value, selected: value === this.view.sort }, label)),
    );
    const form = h(
      "form",
      { class: "filters customer-filters", role: "search", "aria-label": "Find customers" },
      field("Search", this.q, "Name, email, phone in any format, or external id"),
      field("Source", this.source),
      field("Tag", this.tag),
      field("Sort by", this.sort),
      h("button", { type: "submit", class: "primary" }, "Search"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.go({ page: 1 });
    });
    this.sort.addEventListener("change", () => this.go({ page: 1 }));
    this.summary = h("p", { class: "summary", "aria-live": "polite" });
    this.table = h("div", { class: "table-wrap" });
    this.pager = h("nav", { class: "pager", "aria-label": "Pages" });
    this.element = h(
      "section",
      { class: "customers" },
      h(
        "header",
        { class: "page-header" },
        h("h1", {}, "Customers"),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", onclick: () => this.export() }, "Export to Excel"),
          h("button", { type: "button", onclick: () => this.create() }, "New customer"),
        ),
      ),
      form,
      this.summary,
      this.table,
      this.pager,
    );
  }

  filters() {
    return {
      q: this.q.value.trim(),
      source: this.source.value.trim(),
      tag: this.tag.value.trim(),
      sort: this.sort.value,
    };
  }

  go({ page }) {
    const query = new URLSearchParams(
      Object.entries({ ...this.filters(), page }).filter(([, value]) => value && value !== 1),
    );
    location.hash = `#/customers?${query}`;
  }

  async show() {
    let page;
    try {
      page = await this.api.get("/v1/customers", {
        ...this.filters(),
        page: this.view.page,
        per_page: PER_PAGE,
      });
    } catch (error) {
      this.context.failed(error);
      return;
    }
    const first = (page.page - 1) * page.per_page + 1;
    const last = first + page.items.length - 1;
    replace(
      this.summary,
      page.total ? `${first}–${last} of ${page.total} customers` : "No customers match.",
    );
    replace(this.table, this.rows(page.items));
    const pages = Math.max(1, Math.ceil(page.total / page.per_page));
    replace(
      this.pager,
      h(
        "button",
        { type: "button", disabled: page.page <= 1, onclick: () => this.go({ page: page.page - 1 }) },
        "Previous",
      ),
      h("span", {}, `Page ${page.page} of ${pages}`),
      h(
        "button",
        { type: "button", disabled: page.page >= pages, onclick: () => this.go({ page: page.page + 1 }) },
        "Next",
      ),
    );
  }

  rows(customers) {
    if (!customers.length) return null;
    return h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, "Customers"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Name", "Email", "Phone", "Source", "Bookings", "Total spent", "Last booking", "Customer since"].map(
            (title) => h("th", { scope: "col" }, title),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        customers.map((customer) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: `#/customers/${encodeURIComponent(customer.id)}` }, customer.name || "(no name)")),
            h("td", {}, customer.emails[0] || ""),
            h("td", {}, customer.phone || ""),
            h("td", {}, customer.source),
            h("td", { class: "number" }, customer.analytics.total_bookings),
            h("td", { class: "number" }, money(customer.analytics.total_spent)),
            h("td", {}, day(customer.analytics.last_booking_at)),
            h("td", {}, day(customer.analytics.customer_since)),
          ),
        ),
      ),
    );
  }

  async export() {
    announce("Preparing the export…");
    try {
      const blob = await this.api.blob("/v1/customers/export.xlsx", this.filters());
      saveBlob(blob, "customers.xlsx");
      announce("Export downloaded.");
    } catch (error) {
      this.context.failed(error);
    }
  }

  async create() {
    const form = new ProfileForm({});
    const choice = await ask("New customer", form.element, [
      { label: "Create", value: "create", kind: "primary" },
      { label: "Cancel", value: null },
    ]);
    if (choice !== "create") return;
    try {
      const customer = await this.api.post("/v1/customers", form.body(true));
      location.hash = `#/customers/${encodeURIComponent(customer.id)}`;
    } catch (error) {
      this.context.failed(conflictWords(error));
    }
  }
}

/** The editable profile fields, for a new customer and for an edit. */
class ProfileForm {
  constructor(customer) {
    const address = customer.address || {};
    this.controls = {
      name: h("input", { type: "text", required: true, maxlength: 300, value: customer.name || "" }),
      emails: h("input", { type: "text", value: (customer.emails || []).join(", ") }),
      phone: h("input", { type: "tel", maxlength: 40, value: customer.phone || "" }),
      external_id: h("input", { type: "text", maxlength: 200, value: customer.external_id || "" }),
      company_name: h("input", { type: "text", maxlength: 300, value: customer.company_name || "" }),
      date_of_birth: h("input", { type: "date", value: customer.date_of_birth || "" }),
      street: h("input", { type: "text", value: address.street || "" }),
      city: h("input", { type: "text", value: address.city || "" }),
      state: h("input", { type: "text", value: address.state || "" }),
      zip: h("input", { type: "text", value: address.zip || "" }),
      country: h("input", { type: "text", value: address.country || "" }),
    };
    const c = this.controls;
    this.element = h(
      "div",
      { class: "profile-form" },
      field("Name", c.name),
      field("Emails", c.emails, "Separated by commas; the first is primary"),
      field("Phone", c.phone, "Any format; the old one is kept as a previous phone"),
      field("External id", c.external_id),
      field("Company", c.company_name),
      field("Date of birth", c.date_of_birth),
      h(
        "fieldset",
        {},
        h("legend", {}, "Address"),
        field("Street", c.street),
        field("City", c.city),
        field("State", c.state),
        field("Postcode", c.zip),
        field("Country", c.country),
      ),
    );
  }

  body(creating) {
    const c = this.controls;
    const value = (control) => control.value.trim() || (creating ? undefined : null);
    const address = Object.fromEntries(
      ["street", "city", "state", "zip", "country"].map((name) => [name, c[name].value.trim() || null]),
    );
    const hasAddress = Object.values(address).some(Boolean);
    return {
      name: c.name.value.trim(),
      emails: c.emails.value
        .split(",")
        .map((email) => email.trim())
        .filter(Boolean),
      phone: value(c.phone),
      external_id: value(c.external_id),
      company_name: value(c.company_name),
      date_of_birth: value(c.date_of_birth),
      address: hasAddress ? address : creating ? undefined : null,
    };
  }
}

function conflictWords(error) {
  const taken = error.details && error.details.taken_by;
  if (error.status === 409 && taken) {
    const what = Object.keys(taken).join(" and ");
    error.message = `That ${what} belongs to another customer: merge the two instead.`;
  }
  return error;
}

export class CustomerPage {
  constructor(context, id) {
    this.context = context;
    this.api = context.api;
    this.id = id;
    this.element = h("section", { class: "customer" }, h("p", {}, "Loading…"));
  }

  async show() {
    let customer;
    let consent;
    try {
      [customer, consent] = await Promise.all([
        this.api.get(customerPath(this.id)),
        this.api.get(customerPath(this.id, "/consent")),
      ]);
    } catch (error) {
      if (error.status === 404 && error.details && error.details.merged_into) {
        location.hash = `#/customers/${encodeURIComponent(error.details.merged_into)}`;
        return;
      }
      replace(this.element, h("h1", {}, "Customer"), h("p", { role: "alert" }, error.message));
      return;
    }
    this.customer = customer;
    this.render(customer, consent);
  }

  render(customer, consent) {
    const analytics = customer.analytics;
    const address = customer.address
      ? ["street", "city", "state", "zip", "country"].map((part) => customer.address[part]).filter(Boolean).join(", ")
      : "";
    replace(
      this.element,
      h(
        "header",
        { class: "page-header" },
        h("p", {}, h("a", { href: "#/customers" }, "← Customers")),
        h("h1", {}, customer.name || "(no name)"),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", onclick: () => this.edit() }, "Edit"),
          h("button", { type: "button", onclick: () => this.merge() }, "Merge another customer into this one"),
          h("button", { type: "button", class: "danger", onclick: () => this.remove() }, "Delete"),
        ),
      ),
      h(
        "section",
        { class: "card analytics", "aria-labelledby": "analytics-title" },
        h("h2", { id: "analytics-title" }, "Analytics"),
        h(
          "dl",
          { class: "stats" },
          stat("Total bookings", analytics.total_bookings),
          stat("Total spent", money(analytics.total_spent)),
          stat("Lifetime value", money(analytics.lifetime_value)),
          stat("Last booking", day(analytics.last_booking_at) || "–"),
          stat("Last contact", when(analytics.last_contact_at) || "–"),
          stat("Customer since", day(analytics.customer_since) || "–"),
        ),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "profile-title" },
        h("h2", { id: "profile-title" }, "Profile"),
        h(
          "dl",
          { class: "facts" },
          fact("Emails", customer.emails.join(", ") || "–"),
          fact("Phone", customer.phone || "–"),
          fact("Previous phones", customer.previous_phones.join(", ") || "–"),
          customer.unmatched_phones.length ? fact("Phones not valid", customer.unmatched_phones.join(", ")) : null,
          fact("Address", address || "–"),
          fact("Date of birth", customer.date_of_birth || "–"),
          fact("Company", customer.company_name || "–"),
          fact("Source", customer.source),
          fact("External id", customer.external_id || "–"),
          fact(
            "Channels",
            customer.channel_identities.length
              ? customer.channel_identities.map((identity) => [channelBadge(identity.channel), " ", identity.channel_user_id, " "])
              : "–",
          ),
          fact("Created", when(customer.created_at)),
        ),
      ),
      this.tagsAndNotes(customer),
      this.consentCard(consent),
      customer.known_customers.length
        ? h(
            "section",
            { class: "card", "aria-labelledby": "known-title" },
            h("h2", { id: "known-title" }, "Booked for"),
            h(
              "ul",
              {},
              customer.known_customers.map((known) =>
                h(
                  "li",
                  {},
                  known.customer_id
                    ? h("a", { href: `#/customers/${encodeURIComponent(known.customer_id)}` }, known.name || known.customer_id)
                    : known.name || "(guest)",
                  " ",
                  [known.email, known.phone].filter(Boolean).join(" · "),
                ),
              ),
            ),
          )
        : null,
      new SubList(this, "Bookings", "/bookings", ["Date", "Activity", "Code", "Status", "Total", "Source"], (booking) => [
        when(booking.starts_at),
        booking.activity_name || "",
        booking.confirmation_code || "",
        booking.status,
        money([booking.grand_total]),
        booking.source || "",
      ]).element,
      new SubList(this, "Guest bookings", "/guest-bookings", ["Date", "Activity", "Code", "Status", "Guest type", "Booked by"], (booking) => [
        when(booking.date),
        booking.activity_name || "",
        booking.confirmation_code || "",
        booking.status,
        booking.demographic || "",
        booking.booked_by
          ? h("a", { href: `#/customers/${encodeURIComponent(booking.booked_by)}` }, "profile")
          : "",
      ]).element,
      new SubList(this, "Communications", "/communications", ["When", "Channel", "Direction", "With", "Message"], (item) => [
        when(item.occurred_at),
        channelBadge(item.channel),
        item.direction,
        item.counterpart || "",
        h("a", { href: `#/chats/${encodeURIComponent(item.thread_id)}` }, item.preview || "(no text)"),
      ]).element,
      this.threadsCard(),
    );
  }

  tagsAndNotes(customer) {
    const tag = h("input", { type: "text", name: "tag", maxlength: 64 });
    const tagForm = h("form", { class: "label-form" }, field("Add tag", tag), h("button", { type: "submit" }, "Add"));
    tagForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = tag.value.trim();
      if (value && !customer.tags.includes(value)) this.save({ tags: [...customer.tags, value] });
    });
    const notes = h("textarea", { name: "notes", rows: 4, maxlength: 10000 }, customer.notes || "");
    const notesForm = h("form", {}, field("Notes", notes), h("button", { type: "submit" }, "Save notes"));
    notesForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save({ notes: notes.value.trim() || null });
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "tags-title" },
      h("h2", { id: "tags-title" }, "Tags and notes"),
      h(
        "p",
        { class: "labels" },
        customer.tags.length
          ? customer.tags.map((name) => chip(name, () => this.save({ tags: customer.tags.filter((t) => t !== name) })))
          : "No tags.",
      ),
      tagForm,
      notesForm,
    );
  }

  consentCard(consent) {
    // One row per channel, one column per topic: the latest choice, when and how it was made.
    const cell = (channel, topic) => {
      const item = consent.items.find((i) => i.channel === channel && i.topic === topic);
      if (!item || item.status === "not_captured") return h("td", { class: "muted" }, "not captured");
      return h(
        "td",
        { class: `consent-${item.status}` },
        item.status,
        h("small", {}, ` ${day(item.occurred_at)} · ${item.source || ""}`),
      );
    };
    return h(
      "section",
      { class: "card", "aria-labelledby": "consent-title" },
      h("h2", { id: "consent-title" }, "Consent"),
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ["Channel", "Marketing", "All messages"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            Object.entries(CHANNELS).map(([channel, label]) =>
              h("tr", {}, h("th", { scope: "row" }, label), cell(channel, "marketing"), cell(channel, "all")),
            ),
          ),
        ),
      ),
    );
  }

  threadsCard() {
    const list = h("ul", { class: "thread-links" }, h("li", {}, "Loading…"));
    this.api
      .get(customerPath(this.id, "/threads"), { limit: 50 })
      .then((page) =>
        replace(
          list,
          page.items.length
            ? page.items.map((thread) =>
                h(
                  "li",
                  {},
                  channelBadge(thread.channel),
                  " ",
                  h("a", { href: `#/chats/${encodeURIComponent(thread.id)}` }, threadName(thread)),
                  " ",
                  thread.last_message ? thread.last_message.preview : "",
                ),
              )
            : h("li", {}, "No conversations."),
        ),
      )
      .catch((error) => replace(list, h("li", {}, error.message)));
    return h(
      "section",
      { class: "card", "aria-labelledby": "threads-title" },
      h("h2", { id: "threads-title" }, "Conversations"),
      list,
    );
  }

  async save(body) {
    try {
      await this.api.patch(customerPath(this.id), body);
      announce("Saved.");
      await this.show();
    } catch (error) {
      this.context.failed(conflictWords(error));
    }
  }

  async edit() {
    const form = new ProfileForm(this.customer);
    const choice = await ask(`Edit ${this.customer.name}`, form.element, [
      { label: "Save", value: "save", kind: "primary" },
      { label: "Cancel", value: null },
    ]);
    if (choice === "save") await this.save(form.body(false));
  }

  async remove() {
    const choice = await ask(
      `Delete ${this.customer.name}?`,
      h(
        "p",
        {},
        "The profile is removed. Its conversations and communications become unlinked and its bookings keep their own copy of the details.",
      ),
      [
        { label: "Delete", value: "delete", kind: "danger" },
        { label: "Cancel", value: null },
      ],
    );
    if (choice !== "delete") return;
    try {
      await this.api.delete(customerPath(this.id));
      announce("Customer deleted.");
      location.hash = "#/customers";
    } catch (error) {
      this.context.failed(error);
    }
  }

  async merge() {
    const q = h("input", { type: "search", name: "merge-q", maxlength: 200 });
    const results = h("ul", { class: "candidates" });
    const preview = h("div", { class: "merge-preview", "aria-live": "polite" });
    let other = null;
    const find = h(
      "form",
      { role: "search" },
      field("Find the customer to merge in", q, "Name, email, phone or external id"),
      h("button", { type: "submit" }, "Find"),
    );
    find.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const page = await this.api.get("/v1/customers", { q: q.value.trim(), per_page: 10 });
        const found = page.items.filter((item) => item.id !== this.id);
        replace(
          results,
          found.length
            ? found.map((item) =>
                h(
                  "li",
                  {},
                  h(
                    "button",
                    {
                      type: "button",
                      onclick: () => {
                        other = item;
                        replace(preview, mergePreview(this.customer, item));
                      },
                    },
                    `Preview merging ${item.name || item.id}`,
                  ),
                  " ",
                  h("small", {}, item.emails[0] || item.phone || ""),
                ),
              )
            : h("li", {}, "No other customer found."),
        );
      } catch (error) {
        this.context.failed(error);
      }
    });
    const choice = await ask(`Merge into ${this.customer.name}`, h("div", {}, find, results, preview), [
      { label: "Merge", value: "merge", kind: "primary" },
      { label: "Cancel", value: null },
    ]);
    if (choice !== "merge") return;
    if (!other) {
      announce("Choose the customer to merge in first.", "error");
      return;
    }
    try {
      await this.api.post(customerPath(this.id, "/merge"), { other_id: other.id });
      announce(`${other.name} merged into ${this.customer.name}.`);
      await this.show();
    } catch (error) {
      this.context.failed(error);
    }
  }
}

/** What a merge will give, by the rules of POST /v1/customers/{id}/merge: the survivor's
 * values win, the other's fill its blanks, lists are joined, the other's phones become
 * previous phones; analytics are recomputed from both customers' bookings. */
function mergePreview(survivor, other) {
  const union = (a, b) => [...new Set([...(a || []), ...(b || [])])];
  const rows = [
    ["Name", survivor.name, other.name, survivor.name || other.name],
    ["Emails", survivor.emails.join(", "), other.emails.join(", "), union(survivor.emails, other.emails).join(", ")],
    ["Phone", survivor.phone, other.phone, survivor.phone || other.phone],
    [
      "Previous phones",
      survivor.previous_phones.join(", "),
      other.previous_phones.join(", "),
      union(survivor.previous_phones, [other.phone, ...other.previous_phones].filter((p) => p && p !== (survivor.phone || other.phone))).join(", "),
    ],
    ["External id", survivor.external_id, other.external_id, survivor.external_id || other.external_id],
    ["Company", survivor.company_name, other.company_name, survivor.company_name || other.company_name],
    ["Tags", survivor.tags.join(", "), other.tags.join(", "), union(survivor.tags, other.tags).join(", ")],
    [
      "Bookings",
      survivor.analytics.total_bookings,
      other.analytics.total_bookings,
      survivor.analytics.total_bookings + other.analytics.total_bookings,
    ],
  ];
  const conflict =
    survivor.external_id && other.external_id && survivor.external_id !== other.external_id
      ? h("p", { class: "error", role: "alert" }, "These two have different external ids: Threadline will refuse to merge them.")
      : null;
  return h(
    "div",
    {},
    h("h3", {}, "Preview"),
    conflict,
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, h("th", { scope: "col" }, ""), h("th", { scope: "col" }, "This customer"), h("th", { scope: "col" }, other.name || "Other"), h("th", { scope: "col" }, "After the merge")),
      ),
      h(
        "tbody",
        {},
        rows.map(([label, a, b, after]) =>
          h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, a ?? ""), h("td", {}, b ?? ""), h("td", {}, after ?? "")),
        ),
      ),
    ),
    h("p", {}, `${other.name || "The other customer"}'s bookings, conversations and communications move here; the other profile is then gone.`),
  );
}

/** One of a customer's paged sub-lists. */
class SubList {
  constructor(page, title, path, columns, cells) {
    this.page = page;
    this.path = path;
    this.columns = columns;
    this.cells = cells;
    this.number = 1;
    const id = `list-${path.slice(1)}`;
    this.body = h("div", { class: "table-wrap" }, h("p", {}, "Loading…"));
    this.pager = h("nav", { class: "pager", "aria-label": `${title} pages` });
    this.element = h(
      "section",
      { class: "card", "aria-labelledby": id },
      h("h2", { id }, title),
      this.body,
      this.pager,
    );
    this.load();
  }

  async load() {
    let found;
    try {
      found = await this.page.api.get(customerPath(this.page.id, this.path), {
        page: this.number,
        per_page: 20,
      });
    } catch (error) {
      replace(this.body, h("p", {}, error.message));
      return;
    }
    if (!found.items.length) {
      replace(this.body, h("p", {}, "None."));
      replace(this.pager);
      return;
    }
    replace(
      this.body,
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, this.columns.map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, found.items.map((item) => h("tr", {}, this.cells(item).map((cell) => append(h("td"), [cell]))))),
      ),
    );
    const pages = Math.ceil(found.total / found.per_page);
    replace(
      this.pager,
      pages > 1
        ? [
            h("button", { type: "button", disabled: this.number <= 1, onclick: () => this.turn(-1) }, "Previous"),
            h("span", {}, `Page ${this.number} of ${pages}`),
            h("button", { type: "button", disabled: this.number >= pages, onclick: () => this.turn(1) }, "Next"),
          ]
        : null,
    );
  }

  turn(by) {
    this.number += by;
    this.load();
  }
}

function stat(term, value) {
  return h("div", { class: "stat" }, h("dt", {}, term), h("dd", {}, value));
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}
