// Sign-in, the page's routes and the live stream they share.
import { Api, ApiError, LiveStream } from "./api.js";
import { announce, field, h, replace } from "./dom.js";
import { ChatsPage } from "./chats.js";
import { CustomerPage, CustomersPage } from "./customers.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const session = { api: null, agent: null, live: null, page: null, listeners: new Set() };

function signedIn() {
  const key = sessionStorage.getItem("threadline.key");
  const agent = sessionStorage.getItem("threadline.agent");
  if (!key || !agent) return false;
  session.api = new Api(key);
  session.agent = agent;
  return true;
}

function signInForm(problem) {
  nav.hidden = true;
  const key = h("input", { type: "password", name: "key", required: true, autocomplete: "off" });
  const agent = h("input", {
    type: "text",
    name: "agent",
    required: true,
    maxlength: 200,
    autocomplete: "name",
    value: localStorage.getItem("threadline.lastAgent") || "",
  });
  const form = h(
    "form",
    { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Threadline"),
    problem ? h("p", { class: "error", role: "alert" }, problem) : null,
    field("API key", key, "The tenant's API key, from the operator."),
    field("Your name", agent, "Threads you take are assigned to this name."),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const api = new Api(key.value.trim());
    try {
      await api.get("/v1/threads/counts");
    } catch (error) {
      const words =
        error instanceof ApiError && error.status === 401
          ? "That API key is not known."
          : `Threadline did not answer: ${error.message}`;
      replace(main, signInForm(words));
      return;
    }
    sessionStorage.setItem("threadline.key", api.key);
    sessionStorage.setItem("threadline.agent", agent.value.trim());
    localStorage.setItem("threadline.lastAgent", agent.value.trim());
    signedIn();
    start();
  });
  replace(main, form);
  key.focus();
}

function signOut() {
  sessionStorage.removeItem("threadline.key");
  sessionStorage.removeItem("threadline.agent");
  if (session.live) session.live.stop();
  if (session.page && session.page.leave) session.page.leave();
  session.live = null;
  session.page = null;
  session.api = null;
  location.hash = "";
  signInForm();
}

/** The page's context: the API, who is signed in, and the live events. */
const context = {
  get api() {
    return session.api;
  },
  get agent() {
    return session.agent;
  },
  subscribe(listener) {
    session.listeners.add(listener);
    return () => session.listeners.delete(listener);
  },
  failed(error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut();
      return;
    }
    announce(error.message, "error");
  },
};

function liveState(state) {
  const badge = document.getElementById("live");
  badge.textContent = state === "live" ? "Live" : "Reconnecting…";
  badge.className = `live ${state}`;
}

function start() {
  nav.hidden = false;
  document.getElementById("agent").textContent = session.agent;
  if (!session.live) {
    session.live = new LiveStream(session.api, {
      onEvent: (type, data) => session.listeners.forEach((listener) => listener(type, data)),
      onState: liveState,
    });
    session.live.start();
  }
  route();
}

function route() {
  if (!session.api) return;
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const section = parts[0] || "chats";
  for (const link of nav.querySelectorAll("a[data-section]")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (section === "chats" && session.page instanceof ChatsPage) {
    session.page.open(parts[1] || null);
    return;
  }
  if (session.page && session.page.leave) session.page.leave();
  if (section === "customers" && parts[1]) {
    session.page = new CustomerPage(context, parts[1]);
  } else if (section === "customers") {
    session.page = new CustomersPage(context, new URLSearchParams(query || ""));
  } else {
    session.page = new ChatsPage(context, parts[1] || null);
  }
  replace(main, session.page.element);
  session.page.show();
}

document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
if (signedIn()) start();
else signInForm();
