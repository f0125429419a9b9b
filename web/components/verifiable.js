/** A contest's verifiable documents: the locked rules (GET /v1/contests/{id}/rules) and, once
 * settled and anchored, my rank-and-prize certificate (GET /v1/contests/{id}/results/certificate),
 * each saved as JSON that anyone can check with OpenZeppelin's merkle-tree and a chain node. */

import { ApiError, api } from "../api.js";
import { t } from "../i18n.js";
import { busy, h, section } from "../ui.js";

const LOCKED = new Set(["running", "finished", "settled"]);

export function verifiableSection(contest) {
  if (!LOCKED.has(contest.state)) return null;
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
  return section(t("verifiable.title"), h("p", { class: "hint" }, t("verifiable.hint")), ...buttons, status);
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
