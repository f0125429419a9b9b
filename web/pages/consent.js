/**
 * Consents: the terms (and the privacy notice, the questionnaire) in force, each with the
 * version the member accepted. Once an operator publishes a new terms version the API refuses
 * the member's writes (403 consent_required) until they accept it; api.js sends them here,
 * and accepting returns them to the page they were on (`?next=`).
 */

import { api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, go, h, notice, problemBox, section } from "../ui.js";

export async function render(root, { query }) {
  const next = query.get("next");
  const [documents, mine] = await Promise.all([api.get("/consent-documents"), api.get("/me/consents")]);
  const states = Object.fromEntries(mine.states.map((s) => [s.kind, s]));
  const pending = documents.filter((d) => states[d.kind] && !states[d.kind].current);
  root.append(
    h("h1", {}, t("consent.title")),
    pending.length
      ? notice(t("consent.pending"), "info")
      : notice(t("consent.all_current"), "info"),
    ...documents.map((d) => documentSection(d, states[d.kind], next)),
    section(t("consent.history"), historyList(mine.history)));
}

function documentSection(doc, state, next) {
  const accepted = state?.current;
  const status = h("p", { class: "muted" }, accepted
    ? t("consent.accepted", { version: doc.version })
    : t("consent.not_accepted", { version: doc.version }));
  const alert = h("div");
  const button = h("button", { type: "button", class: "primary", "data-kind": doc.kind }, t("consent.accept"));
  button.addEventListener("click", () => busy(button, async () => {
    try {
      await api.post("/me/consents", { kind: doc.kind, version: doc.version });
      go(next || "/consent");
    } catch (error) {
      alert.replaceChildren(problemBox(error));
    }
  }));
  return section(`${doc.title} (${t(`consent.kind.${doc.kind}`)} v${doc.version})`,
    h("p", { class: "muted" }, t("consent.published", { at: formatDateTime(doc.published_at) })),
    h("div", { class: "consent-text" }, doc.body),
    status,
    accepted ? null : button,
    alert);
}

function historyList(history) {
  if (!history.length) return h("p", {}, t("common.none"));
  return h("ul", {}, history.map((r) =>
    h("li", {}, t(`consent.action.${r.action}`, { kind: t(`consent.kind.${r.kind}`), version: r.version, at: formatDateTime(r.at) }))));
}
