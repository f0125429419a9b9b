/**
 * The single-page app: the top bar, and a router from `location.hash` to a page module
 * (see routes.js for the page contract). Pages talk only to the public /v1 API (api.js).
 */

import { CONSENT_EVENT, UNAUTHENTICATED_EVENT, session } from "./api.js";
import { LOCALES, LOCALE_EVENT, applyDefaultConventions, chooseLocale, locale, t } from "./i18n.js";
import { HOME, NAV, ROUTES } from "./routes.js";
import { REDRAW_EVENT, go, h, loading, problemBox } from "./ui.js";

const topbar = document.getElementById("topbar");
const view = document.getElementById("view");
let cleanup = null;

/** `#/contests/3/team?x=1` → {path: "/contests/3/team", query}. */
function location_() {
  const [path, search = ""] = (window.location.hash.slice(1) || HOME).split("?");
  return { path: path || HOME, query: new URLSearchParams(search) };
}

function match(path) {
  for (const route of ROUTES) {
    const names = [];
    const pattern = route.path.replace(/:(\w+)/g, (_, name) => { names.push(name); return "([^/]+)"; });
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { route, params };
    }
  }
  return null;
}

const allowed = (roles) => !roles || roles.some((role) => session.hasRole(role));

function drawTopbar(path) {
  const user = session.user();
  const links = user ? NAV.filter((link) => allowed(link.roles)) : [];
  const language = h("select", { id: "lang", onchange: (e) => chooseLocale(e.target.value) },
    LOCALES.map((code) => h("option", { value: code, selected: code === locale() }, t(`lang.${code}`))));
  topbar.replaceChildren(
    h("a", { class: "brand", href: `#${HOME}` }, t("app.name")),
    h("nav", { "aria-label": t("nav.label") }, links.map((link) =>
      h("a", { href: link.href, "aria-current": path.startsWith(link.match) ? "page" : null }, t(link.label)))),
    h("div", { class: "topbar-end" },
      h("label", { for: "lang", class: "visually-hidden" }, t("lang.label")),
      language,
      user ? h("span", { class: "who" }, user.display_name) : null,
      user ? h("button", { type: "button", class: "link", onclick: signOut }, t("auth.sign_out")) : null));
  document.getElementById("skip-link").textContent = t("app.skip");
}

function signOut() {
  session.signOut();
  go("/login");
}

async function show() {
  const { path, query } = location_();
  drawTopbar(path);
  applyDefaultConventions();
  if (cleanup) { cleanup(); cleanup = null; }
  const found = match(path);
  const root = h("div", { class: "page" });
  view.replaceChildren(root);
  if (!found) return root.append(h("h1", {}, t("page.not_found")));
  if (!found.route.public && !session.token()) return go(`/login?next=${encodeURIComponent(path)}`);
  if (!allowed(found.route.roles)) return root.append(h("h1", {}, t("page.forbidden")));
  root.append(loading());
  try {
    const page = await found.route.load();
    root.replaceChildren();
    const done = await page.render(root, { params: found.params, query, user: session.user() });
    if (root.isConnected && typeof done === "function") cleanup = done;
    else if (typeof done === "function") done();  // the member moved on while it drew
  } catch (error) {
    root.replaceChildren(problemBox(error));
  }
}

window.addEventListener("hashchange", async () => {
  await show();
  window.scrollTo(0, 0);
  view.focus({ preventScroll: true });  // screen readers start reading the new page
});
window.addEventListener(LOCALE_EVENT, show);
window.addEventListener(REDRAW_EVENT, show);
window.addEventListener(UNAUTHENTICATED_EVENT, () => {
  session.signOut();
  go(`/login?next=${encodeURIComponent(location_().path)}`);
});
window.addEventListener(CONSENT_EVENT, () => {
  const { path } = location_();
  if (path !== "/consent") go(`/consent?next=${encodeURIComponent(path)}`);
});
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();  // a plain #view link would be read as a route
  view.focus();
});
show();
