/**
 * An author's content: register a piece (pasted text as JSON, or a file as multipart, POST
 * /v1/content), and the pieces registered so far (GET /v1/me/content) with their compliance
 * and near-duplicate findings, certificate status (pending → anchored → final) and the
 * certificate JSON to download once anchored (GET /v1/certificates/{id}). A piece the content
 * policy held for review shows the operator's decision and reason (pending, approved, rejected).
 */

import { allPages, api } from "../api.js";
import { formatDateTime, formatNumber, formatPercent, t } from "../i18n.js";
import { busy, field, formAlert, h, notice, radios, section, showProblem, table } from "../ui.js";

const POLL_MS = 5_000;
const TEXT_TYPES = ["text/plain", "text/markdown", "text/html"];

export async function render(root) {
  const list = h("div");
  let timer = null;
  async function refresh() {
    const pieces = await allPages("/me/content", {}, 200);
    list.replaceChildren(piecesTable(pieces));
    window.clearTimeout(timer);
    // Anchoring runs in the background: look again while something waits.
    if (pieces.some((p) => p.status !== "final" && p.review?.status !== "rejected")) timer = window.setTimeout(() => refresh().catch(() => {}), POLL_MS);
  }
  root.append(
    h("h1", {}, t("author.title")),
    h("p", { class: "hint" }, t("author.intro"), " ", h("a", { href: "#/verify" }, t("author.verify_link"))),
    registerForm(refresh),
    section(t("author.mine"), h("button", { type: "button", class: "small", id: "refresh-content", onclick: () => refresh() }, t("author.refresh")), list));
  await refresh();
  return () => window.clearTimeout(timer);
}

function registerForm(refresh) {
  const pasted = h("div", { class: "mode-text" },
    field({ label: t("author.text"), name: "text", as: "textarea", rows: 8 }),
    field({ label: t("author.content_type"), name: "content_type", as: "select", options: TEXT_TYPES.map((c) => [c, c]) }));
  const uploaded = h("div", { class: "mode-file", hidden: true },
    field({ label: t("author.file"), name: "file", type: "file", hint: t("author.file_hint") }));
  const form = h("form", { class: "card admin-form register-form", novalidate: true },
    h("h2", {}, t("author.register")),
    field({ label: t("author.piece_title"), name: "title", required: true }),
    radios({ legend: t("author.how"), name: "mode", value: "text", options: [["text", t("author.paste")], ["file", t("author.upload")]] }),
    pasted, uploaded,
    formAlert(),
    h("div", { class: "form-result", role: "status" }),
    h("button", { type: "submit", class: "primary" }, t("author.register_button")));
  form.addEventListener("change", (event) => {
    if (event.target.name !== "mode") return;
    pasted.hidden = event.target.value !== "text";
    uploaded.hidden = event.target.value !== "file";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector(".form-result");
    result.replaceChildren();
    const title = form.elements.namedItem("title").value.trim();
    const mode = new FormData(form).get("mode");
    try {
      const piece = await busy(form.querySelector("button[type=submit]"), () => {
        if (mode === "text") {
          return api.post("/content", {
            title, text: form.elements.namedItem("text").value, content_type: form.elements.namedItem("content_type").value,
          });
        }
        const upload = new FormData();
        upload.append("title", title);
        const file = form.elements.namedItem("file").files[0];
        if (file) upload.append("file", file);
        return api.postForm("/content", upload);
      });
      form.reset();
      pasted.hidden = false;
      uploaded.hidden = true;
      result.replaceChildren(notice(piece.flagged ? t("author.registered_flagged", { id: piece.id }) : t("author.registered", { id: piece.id }),
        piece.flagged ? "error" : "success"));
      await refresh();
    } catch (error) {
      showProblem(form, error);
    }
  });
  return form;
}

function piecesTable(pieces) {
  return table({
    caption: t("author.mine"),
    empty: t("author.none"),
    rows: pieces,
    rowAttrs: (p) => ({ dataset: { content: p.id, status: p.status } }),
    columns: [
      { label: t("author.piece_title"), value: (p) => p.title },
      { label: t("author.status"), value: (p) => h("span", { class: `badge status-${p.status}` }, t(`content_status.${p.status}`)) },
      { label: t("author.certificate"), value: (p) => (p.certificate_url
        ? h("button", { type: "button", class: "small download", onclick: (e) => download(p, e.currentTarget) }, t("author.download"))
        : t("author.waiting")) },
      { label: t("author.findings"), value: findings },
      { label: t("author.review"), value: review },
      { label: t("author.size"), value: (p) => formatNumber(p.byte_size, { max: 0 }), numeric: true },
      { label: t("author.registered_at"), value: (p) => formatDateTime(p.registered_at) },
      { label: t("author.sha256"), value: (p) => h("code", { class: "hash", title: p.content_sha256 }, `${p.content_sha256.slice(0, 12)}…`) },
    ],
  });
}

function findings(piece) {
  if (!piece.flagged) return h("span", { class: "finding-none" }, t("author.clean"));
  return h("ul", { class: "plain findings" },
    piece.near_duplicates.map((d) => h("li", { class: "near-duplicate" },
      t("author.near_duplicate", { id: d.certificate_id, similarity: formatPercent(d.similarity, 0).replace(/^\+/, "") }))),
    piece.compliance_hits.map((hit) => h("li", { class: "compliance-hit" },
      t("author.compliance_hit", { term: hit.term }), " ", h("q", {}, hit.excerpt))));
}

function review(piece) {
  if (!piece.review) return h("span", { class: "review-none" }, t("author.review_none"));
  const { status, decision_reason: reason } = piece.review;
  return h("div", { class: "review", dataset: { review: status } },
    h("span", { class: `badge review-${status}` }, t(`review_status.${status}`)),
    reason ? h("p", { class: "review-reason" }, reason) : null);
}

/** Save the certificate JSON as a file (the API sends it with the author's token). */
async function download(piece, button) {
  const certificate = await busy(button, () => api.get(`/certificates/${piece.id}`));
  const blob = new Blob([JSON.stringify(certificate, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: `paperleague-certificate-${piece.id}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
