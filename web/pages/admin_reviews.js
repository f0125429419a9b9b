/** The content review queue for operators: pieces the content policy held (GET
 * /v1/admin/content/reviews, by status), their findings, and approve / reject with a reason
 * (POST …/{id}/approve, …/{id}/reject) that the author then sees. */

import { allPages, api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, h, notice, problemBox, section, table } from "../ui.js";

const STATUSES = ["pending", "approved", "rejected"];

export async function render(root, { query } = {}) {
  const status = STATUSES.includes(query?.get("status")) ? query.get("status") : "pending";
  const list = h("div");
  async function refresh() {
    const cases = await allPages("/admin/content/reviews", { status }, 500);
    list.replaceChildren(casesTable(cases, refresh));
  }
  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("reviews.title")),
    h("p", { class: "hint" }, t("reviews.intro")),
    h("nav", { class: "tabs secondary", "aria-label": t("reviews.filter") },
      STATUSES.map((s) => h("a", { href: `#/admin/reviews?status=${s}`, "aria-current": s === status ? "page" : false },
        t(`review_status.${s}`)))),
    section(t(`review_status.${status}`), list));
  await refresh();
}

function casesTable(cases, refresh) {
  return table({
    caption: t("reviews.title"),
    empty: t("reviews.none"),
    rows: cases,
    rowAttrs: (c) => ({ dataset: { review: c.content.id, status: c.review.status } }),
    columns: [
      { label: t("reviews.piece"), value: (c) => `#${c.content.id} ${c.content.title}` },
      { label: t("reviews.author"), value: (c) => `#${c.author_id}` },
      { label: t("reviews.reasons"), value: (c) => c.review.reasons.map((r) => t(`review_reason.${r}`)).join(", ") },
      { label: t("author.findings"), value: findings },
      { label: t("reviews.opened"), value: (c) => formatDateTime(c.review.opened_at) },
      { label: t("reviews.decision"), value: (c) => (c.review.status === "pending" ? decisionForm(c, refresh) : decided(c)) },
    ],
  });
}

function findings(c) {
  return h("ul", { class: "plain findings" },
    c.content.near_duplicates.map((d) => h("li", { class: "near-duplicate" },
      t("author.near_duplicate", { id: d.certificate_id, similarity: `${Math.round(d.similarity * 100)}%` }))),
    c.content.compliance_hits.map((hit) => h("li", { class: "compliance-hit" },
      t("author.compliance_hit", { term: hit.term }), " ", h("q", {}, hit.excerpt))));
}

function decided(c) {
  return h("div", {},
    h("span", { class: `badge review-${c.review.status}` }, t(`review_status.${c.review.status}`)),
    " ", formatDateTime(c.review.decided_at),
    h("p", { class: "review-reason" }, c.review.decision_reason));
}

function decisionForm(c, refresh) {
  const reason = h("textarea", { name: "reason", rows: 2, "aria-label": t("reviews.reason"), placeholder: t("reviews.reason") });
  const result = h("div", { role: "status" });
  const button = (verb, cls) => h("button", {
    type: "button",
    class: `small ${cls}`,
    onclick: async (event) => {
      result.replaceChildren();
      try {
        await busy(event.currentTarget, () => api.post(`/admin/content/reviews/${c.content.id}/${verb}`, { reason: reason.value }));
        result.replaceChildren(notice(t(`reviews.${verb}d`), "success"));
        await refresh();
      } catch (error) {
        result.replaceChildren(problemBox(error));
      }
    },
  }, t(`reviews.${verb}`));
  return h("div", { class: "review-decision" }, reason, button("approve", "primary"), " ", button("reject", ""), result);
}
