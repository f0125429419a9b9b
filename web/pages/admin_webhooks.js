/** Operator webhooks: the endpoints (GET/POST/PATCH /v1/admin/webhooks; the signing secret is
 * shown once, on creation), the deliveries newest first filtered by status, each delivery's
 * attempts, and a retry for a failed one (POST /deliveries/{id}/retry). */

import { api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, field, formAlert, h, notice, problemBox, section, showProblem, table } from "../ui.js";

// The event kinds of core/outbox.py's EVENT_KINDS (the API refuses any other).
const KINDS = ["prize.paid", "level.up", "pk.result", "redemption.created", "certificate.final"];
const STATUSES = ["", "failed", "pending", "delivered"];
const PAGE = 50;

export async function render(root) {
  const endpoints = h("div", { class: "webhook-endpoints" });
  const created = h("div", { role: "status" });
  const form = h("form", { class: "card admin-form webhook-form", novalidate: true },
    field({ label: t("webhooks.url"), name: "url", type: "url", placeholder: "https://", required: true }),
    h("fieldset", { class: "radios", dataset: { field: "kinds" } },
      h("legend", {}, t("webhooks.kinds")),
      KINDS.map((kind) => h("label", {}, h("input", { type: "checkbox", name: "kinds", value: kind, checked: true }), " ", h("code", {}, kind)))),
    formAlert(),
    h("button", { type: "submit", class: "primary", name: "create" }, t("webhooks.create")));

  const filter = field({
    label: t("webhooks.status"), name: "status", as: "select",
    options: STATUSES.map((s) => [s, t(`webhooks.status.${s || "all"}`)]),
  });
  const deliveries = h("div", { class: "webhook-deliveries" });
  const more = h("button", { type: "button", name: "more", hidden: true }, t("common.more"));
  let rows = [];
  let cursor = null;

  async function loadEndpoints() {
    const found = await api.get("/admin/webhooks");
    endpoints.replaceChildren(table({
      caption: t("webhooks.endpoints"),
      rows: found,
      empty: t("webhooks.no_endpoints"),
      rowAttrs: (e) => ({ dataset: { endpoint: e.id } }),
      columns: [
        { label: "#", value: (e) => String(e.id), numeric: true },
        { label: t("webhooks.url"), value: (e) => h("code", {}, e.url) },
        { label: t("webhooks.kinds"), value: (e) => e.kinds.join(", ") },
        { label: t("webhooks.active"), value: (e) => toggle(e) },
        { label: t("webhooks.created"), value: (e) => formatDateTime(e.created_at) },
      ],
    }));
  }

  function toggle(endpoint) {
    const button = h("button", { type: "button", name: "toggle" },
      t(endpoint.active ? "webhooks.pause" : "webhooks.resume"));
    button.addEventListener("click", async () => {
      try {
        await busy(button, () => api.patch(`/admin/webhooks/${endpoint.id}`, { active: !endpoint.active }));
        await loadEndpoints();
      } catch (error) {
        endpoints.append(problemBox(error));
      }
    });
    return h("span", {}, t(endpoint.active ? "webhooks.on" : "webhooks.off"), " ", button);
  }

  async function loadDeliveries(fresh) {
    const status = filter.querySelector("select").value || null;
    const page = await api.get("/admin/webhooks/deliveries", { status, limit: PAGE, cursor: fresh ? null : cursor });
    rows = fresh ? page.items : [...rows, ...page.items];
    cursor = page.next_cursor;
    more.hidden = !cursor;
    deliveries.replaceChildren(table({
      caption: t("webhooks.deliveries"),
      rows,
      empty: t("webhooks.no_deliveries"),
      rowAttrs: (d) => ({ dataset: { delivery: d.id, status: d.status } }),
      columns: [
        { label: "#", value: (d) => String(d.id), numeric: true },
        { label: t("webhooks.kind"), value: (d) => h("code", {}, d.kind) },
        { label: t("webhooks.url"), value: (d) => d.url },
        { label: t("webhooks.status"), value: (d) => h("span", { class: `badge delivery-${d.status}` }, t(`webhooks.status.${d.status}`)) },
        { label: t("webhooks.attempts"), value: (d) => String(d.attempts), numeric: true },
        { label: t("webhooks.last"), value: (d) => d.last_error ?? (d.last_status_code === null ? "—" : `HTTP ${d.last_status_code}`) },
        { label: t("webhooks.updated"), value: (d) => formatDateTime(d.updated_at) },
        { label: "", value: (d) => actions(d) },
      ],
    }));
  }

  function actions(delivery) {
    const log = h("div", { class: "delivery-attempts" });
    const show = h("button", { type: "button", name: "attempts" }, t("webhooks.show_attempts"));
    show.addEventListener("click", async () => {
      try {
        const attempts = await busy(show, () => api.get(`/admin/webhooks/deliveries/${delivery.id}/attempts`));
        log.replaceChildren(h("ol", {}, attempts.map((a) => h("li", {},
          `${formatDateTime(a.attempted_at)}: `, a.error ?? (a.status_code === null ? "—" : `HTTP ${a.status_code}`)))));
      } catch (error) {
        log.replaceChildren(problemBox(error));
      }
    });
    const parts = [show];
    if (delivery.status === "failed") {
      const retry = h("button", { type: "button", class: "primary", name: "retry" }, t("webhooks.retry"));
      retry.addEventListener("click", async () => {
        try {
          await busy(retry, () => api.post(`/admin/webhooks/deliveries/${delivery.id}/retry`));
          await loadDeliveries(true);
        } catch (error) {
          log.replaceChildren(problemBox(error));
        }
      });
      parts.push(" ", retry);
    }
    return h("div", {}, parts, log);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = form.elements.namedItem("url").value.trim();
    const kinds = [...form.querySelectorAll("input[name=kinds]:checked")].map((input) => input.value);
    try {
      const made = await busy(form.elements.namedItem("create"), () => api.post("/admin/webhooks", { url, kinds }));
      created.replaceChildren(notice(t("webhooks.secret_once", { id: made.id }), "success"), h("code", { class: "invite-code", id: "webhook-secret" }, made.secret));
      form.reset();
      await loadEndpoints();
    } catch (error) {
      showProblem(form, error);
    }
  });
  filter.querySelector("select").addEventListener("change", () => loadDeliveries(true).catch((error) => deliveries.replaceChildren(problemBox(error))));
  more.addEventListener("click", async () => {
    try {
      await busy(more, () => loadDeliveries(false));
    } catch (error) {
      deliveries.append(problemBox(error));
    }
  });

  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("webhooks.title")),
    section(t("webhooks.endpoints"), endpoints, form, created),
    section(t("webhooks.deliveries"), h("div", { class: "filters" }, filter), deliveries, more));
  await Promise.all([loadEndpoints(), loadDeliveries(true)]);
}
