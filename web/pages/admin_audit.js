/** The operator audit log: search every operator action (GET /v1/admin/audit, newest first,
 * filtered by operator, action, subject and time) and verify its hash chain
 * (GET /v1/admin/audit/verify). */

import { api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, field, formAlert, h, notice, problemBox, section, showProblem, table } from "../ui.js";

const PAGE = 50;
const json = (value) => (value === null || value === undefined ? "" : JSON.stringify(value, null, 1));
// A datetime-local value is the browser's local time: send it as an instant with its offset.
const instant = (value) => (value ? new Date(value).toISOString() : null);

export async function render(root) {
  const form = h("form", { class: "card admin-form audit-form", novalidate: true },
    field({ label: t("audit.actor"), name: "actor", type: "number", min: 1, hint: t("audit.actor_hint") }),
    field({ label: t("audit.action"), name: "action", hint: t("audit.action_hint") }),
    field({ label: t("audit.subject"), name: "subject", hint: t("audit.subject_hint") }),
    field({ label: t("audit.since"), name: "since", type: "datetime-local" }),
    field({ label: t("audit.until"), name: "until", type: "datetime-local" }),
    formAlert(),
    h("button", { type: "submit", class: "primary", name: "search" }, t("audit.search")));
  const results = h("div", { class: "audit-results" });
  const more = h("button", { type: "button", name: "more", hidden: true }, t("audit.more"));
  let rows = [];
  let cursor = null;
  let filters = {};

  const draw = () => results.replaceChildren(table({
    caption: t("audit.entries"),
    rows,
    empty: t("audit.none"),
    rowAttrs: (e) => ({ dataset: { seq: e.seq } }),
    columns: [
      { label: "#", value: (e) => String(e.seq), numeric: true },
      { label: t("audit.at"), value: (e) => formatDateTime(e.at) },
      { label: t("audit.actor"), value: (e) => (e.actor_id === null ? "—" : String(e.actor_id)) },
      { label: t("audit.action"), value: (e) => h("code", {}, e.action) },
      { label: t("audit.subject"), value: (e) => h("code", {}, e.subject) },
      { label: t("audit.before"), value: (e) => h("pre", { class: "audit-json" }, json(e.before)) },
      { label: t("audit.after"), value: (e) => h("pre", { class: "audit-json" }, json(e.after)) },
    ],
  }));

  const load = async (fresh) => {
    const page = await api.get("/admin/audit", { ...filters, limit: PAGE, cursor: fresh ? null : cursor });
    rows = fresh ? page.items : [...rows, ...page.items];
    cursor = page.next_cursor;
    more.hidden = !cursor;
    draw();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = (name) => form.elements.namedItem(name).value.trim() || null;
    filters = { actor: v("actor"), action: v("action"), subject: v("subject"), since: instant(v("since")), until: instant(v("until")) };
    try {
      await busy(form.elements.namedItem("search"), () => load(true));
    } catch (error) {
      showProblem(form, error);
    }
  });
  more.addEventListener("click", async () => {
    try {
      await busy(more, () => load(false));
    } catch (error) {
      results.append(problemBox(error));
    }
  });

  const verdict = h("div", { role: "status", class: "verify-result" });
  const verify = h("button", { type: "button", class: "primary", id: "verify-audit" }, t("audit.verify"));
  verify.addEventListener("click", async () => {
    try {
      const report = await busy(verify, () => api.get("/admin/audit/verify"));
      verdict.replaceChildren(
        notice(report.ok ? t("audit.chain_ok", { entries: report.entries, from: report.kept_from, head: report.head_seq })
          : t("audit.chain_broken", { count: report.problems.length }), report.ok ? "success" : "error"),
        report.problems.length ? h("ul", {}, report.problems.map((p) => h("li", {}, p))) : null);
    } catch (error) {
      verdict.replaceChildren(problemBox(error));
    }
  });

  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("audit.title")),
    section(t("audit.search_title"), form, results, more),
    section(t("audit.verify_title"), h("p", { class: "hint" }, t("audit.verify_hint")), verify, verdict));
  await load(true);
}
