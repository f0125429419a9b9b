/**
 * Segments (operators): every segment with its size now, the behavioural tags with how many
 * members hold each (and a refresh), and a form to preview and define a segment from its JSON
 * definition (POST /v1/admin/segments/preview, POST /v1/admin/segments).
 */

import { api } from "../api.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { busy, field, formAlert, h, notice, problemBox, redraw, section, showProblem, table } from "../ui.js";

const EXAMPLE = { all: [{ answer: "risk_tolerance", in: ["high"] }, { tag: "active_trader" }] };

export async function render(root) {
  const [segments, tags] = await Promise.all([api.get("/admin/segments"), api.get("/admin/segment-tags")]);
  root.append(
    h("h1", {}, t("segments.title")),
    section(t("segments.list"), table({
      caption: t("segments.list"),
      rows: segments,
      empty: t("segments.none"),
      rowAttrs: (s) => ({ dataset: { segment: s.key } }),
      columns: [
        { label: t("segments.key"), value: (s) => h("code", {}, s.key) },
        { label: t("segments.name"), value: (s) => s.name },
        { label: t("segments.size"), value: (s) => formatNumber(s.size, { max: 0 }), numeric: true },
        { label: t("segments.definition"), value: (s) => h("code", {}, JSON.stringify(s.definition)) },
        { label: t("segments.created_at"), value: (s) => formatDateTime(s.created_at) },
      ],
    })),
    tagsSection(tags.counts),
    defineSection());
}

function tagsSection(counts) {
  const result = h("div", { role: "status" });
  const button = h("button", { type: "button" }, t("segments.refresh_tags"));
  button.addEventListener("click", async () => {
    try {
      const done = await busy(button, () => api.post("/admin/segment-tags/refresh"));
      result.replaceChildren(notice(t("segments.refreshed", { added: done.added, removed: done.removed }), "success"));
      setTimeout(redraw, 800);
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  });
  return section(t("segments.tags"),
    table({
      caption: t("segments.tags"),
      rows: Object.entries(counts),
      columns: [
        { label: t("segments.tag"), value: ([tag]) => t(`segments.tag.${tag}`) },
        { label: t("segments.members"), value: ([, n]) => formatNumber(n, { max: 0 }), numeric: true },
      ],
    }),
    button, result);
}

function defineSection() {
  const result = h("div", { role: "status" });
  const form = h("form", { class: "stack", novalidate: true },
    field({ label: t("segments.key"), name: "key", required: true, hint: t("segments.key_hint") }),
    field({ label: t("segments.name"), name: "name", required: true }),
    field({ label: t("segments.definition"), name: "definition", as: "textarea", rows: 6, hint: t("segments.definition_hint") }),
    formAlert(),
    result,
    h("div", { class: "actions" },
      h("button", { type: "button", "data-action": "preview" }, t("segments.preview")),
      h("button", { type: "submit", class: "primary" }, t("segments.create"))));
  form.elements.namedItem("definition").value = JSON.stringify(EXAMPLE, null, 2);
  const definition = () => {
    try {
      return JSON.parse(form.elements.namedItem("definition").value);
    } catch {
      return undefined;
    }
  };
  const send = async (button, action) => {
    result.replaceChildren();
    const parsed = definition();
    if (parsed === undefined) {
      result.replaceChildren(notice(t("segments.not_json"), "error"));
      return;
    }
    try {
      await busy(button, () => action(parsed));
    } catch (error) {
      showProblem(form, error);
    }
  };
  form.querySelector("[data-action=preview]").addEventListener("click", (event) => send(event.target, async (parsed) => {
    const { size } = await api.post("/admin/segments/preview", { definition: parsed });
    result.replaceChildren(notice(t("segments.preview_size", { size: formatNumber(size, { max: 0 }) })));
  }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form.querySelector("button[type=submit]"), async (parsed) => {
      const values = Object.fromEntries(new FormData(form));
      await api.post("/admin/segments", { key: values.key.trim(), name: values.name.trim(), definition: parsed });
      redraw();
    });
  });
  return section(t("segments.define"), form);
}
