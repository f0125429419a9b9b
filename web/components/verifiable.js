/** A contest's verifiable documents: the locked rules (GET /v1/contests/{id}/rules) and, once
 * settled and anchored, my rank-and-prize certificate (GET /v1/contests/{id}/results/certificate),
 * each saved as JSON that anyone can check with OpenZeppelin's merkle-tree and a chain node. */

import { ApiError, api } from "../api.js";
import { locale, t } from "../i18n.js";
import { busy, h, section } from "../ui.js";

const LOCKED = new Set(["running", "finished", "settled"]);

export function verifiableSection(contest) {
  if (!LOCKED.has(contest.state)) return officialRulesSection(contest);
  const status = h("p", { class: "hint", role: "status" });
  const save = (path, name) => async (event) => {
    status.textContent = "";
    try {
      const document = await busy(event.currentTarget, () => api.get(path));
      saveJson(document, name);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      status.textContent = error.detail ?? t("verifiable.unavailable");
    }
  };
  const buttons = [
    h("button", { type: "button", class: "small download", id: "download-rules",
      onclick: save(`/contests/${contest.id}/rules`, `paperleague-contest-${contest.id}-rules.json`) },
    t("verifiable.rules")),
  ];
  if (contest.state === "settled") {
    buttons.push(h("button", { type: "button", class: "small download", id: "download-result",
      onclick: save(`/contests/${contest.id}/results/certificate`, `paperleague-contest-${contest.id}-result.json`) },
    t("verifiable.result")));
  }
  return section(t("verifiable.title"), officialRulesSection(contest),
    h("p", { class: "hint" }, t("verifiable.hint")), ...buttons, status);
}

function saveJson(document, name) {
  const blob = new Blob([JSON.stringify(document, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  window.document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The contest's official rules (GET /v1/contests/{id}/official-rules, in the page's language):
 * prizes, conditions, dates, eligibility, organiser, draw method and disclosures, generated from
 * the contest's settings; once trading starts they are the locked, anchored rules. */
export function officialRulesSection(contest, code = null) {
  const body = h("div", { class: "official-rules-body" }, h("p", { class: "hint" }, t("common.loading")));
  const details = h("details", { class: "official-rules", id: "official-rules" },
    h("summary", {}, t("verifiable.official_rules")), body);
  details.addEventListener("toggle", async () => {
    if (!details.open || details.dataset.loaded) return;
    details.dataset.loaded = "true";
    try {
      const rules = await api.get(`/contests/${contest.id}/official-rules`, { lang: locale(), code });
      body.replaceChildren(h("h3", {}, rules.title), ...rules.sections.map((s) =>
        h("section", { "data-section": s.key }, h("h4", {}, s.title),
          h("ul", {}, s.lines.map((line) => h("li", {}, line))))));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      delete details.dataset.loaded;
      body.replaceChildren(h("p", { class: "hint" }, error.detail ?? t("verifiable.unavailable")));
    }
  });
  return details;
}
