// Small helpers for building the page without a framework. Text is always set as text,
// never parsed as HTML, so nothing a customer writes can run in the page.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

export function append(element, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

export function when(iso) {
  if (!iso) return "";
  return dateTime.format(new Date(iso));
}

export function day(iso) {
  if (!iso) return "";
  return dateOnly.format(new Date(iso));
}

/** Today's times as a time, older ones as a date. */
export function shortWhen(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const now = new Date();
  return at.toDateString() === now.toDateString() ? timeOnly.format(at) : dateOnly.format(at);
}

export function timeElement(iso, format = when) {
  return h("time", { datetime: iso || "" }, format(iso));
}

export function money(amounts) {
  if (!amounts || !amounts.length) return "–";
  return amounts
    .map(({ currency, amount }) => {
      try {
        return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
          Number(amount),
        );
      } catch {
        return `${amount} ${currency}`;
      }
    })
    .join(", ");
}

/** Messages for screen readers and sighted users alike, in the page's live region. */
export function announce(text, kind = "info") {
  const region = document.getElementById("status");
  region.className = `status ${kind}`;
  region.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => {
    region.textContent = "";
    region.className = "status";
  }, 6000);
}

/** A modal dialog; resolves with the button's value, or null when dismissed. */
export function ask(title, body, buttons) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "dialog-title" },
      h("h2", { id: "dialog-title" }, title),
      h("div", { class: "dialog-body" }, body),
      h(
        "div",
        { class: "actions" },
        buttons.map(({ label, value, kind }) =>
          h(
            "button",
            {
              type: "button",
              class: kind || "",
              onclick: () => {
                dialog.close();
                resolve(value);
              },
            },
            label,
          ),
        ),
      ),
    );
    dialog.addEventListener("cancel", () => resolve(null));
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("small", {}, hint) : null,
  );
}

export function chip(text, onRemove) {
  return h(
    "span",
    { class: "chip" },
    text,
    onRemove
      ? h(
          "button",
          { type: "button", class: "chip-remove", "aria-label": `Remove ${text}`, onclick: onRemove },
          "×",
        )
      : null,
  );
}

export const CHANNELS = {
  whatsapp: "WhatsApp",
  instagram: "Instagram",
  messenger: "Messenger",
  sms: "SMS",
  email: "Email",
};

export function channelBadge(channel) {
  return h("span", { class: `channel channel-${channel}` }, CHANNELS[channel] || channel);
}
