/** The ledger for operators: the trial balance (GET /v1/admin/ledger/trial-balance) and a full
 * verification of the hash chain and balances (GET /v1/admin/ledger/verify). */

import { api } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { busy, h, notice, problemBox, section, table } from "../ui.js";

const n = (value) => formatNumber(value, { max: 0 });

export async function render(root) {
  const balance = await api.get("/admin/ledger/trial-balance");
  const verdict = h("div", { role: "status", class: "verify-result" });
  const verify = h("button", { type: "button", class: "primary", id: "verify-ledger" }, t("admin.verify_ledger"));
  verify.addEventListener("click", async () => {
    try {
      const result = await busy(verify, () => api.get("/admin/ledger/verify"));
      verdict.replaceChildren(
        notice(result.ok ? t("admin.ledger_ok", { transfers: n(result.transfers), head: result.head_seq })
          : t("admin.ledger_broken", { count: result.errors.length }), result.ok ? "success" : "error"),
        result.errors.length ? h("ul", {}, result.errors.map((e) => h("li", {}, e))) : null);
    } catch (error) {
      verdict.replaceChildren(problemBox(error));
    }
  });
  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("admin.ledger")),
    section(t("admin.trial_balance"),
      notice(balance.balanced ? t("admin.balanced") : t("admin.unbalanced"), balance.balanced ? "success" : "error"),
      table({
        caption: t("admin.totals"),
        rows: Object.entries(balance.totals),
        columns: [
          { label: t("admin.asset"), value: ([asset]) => asset },
          { label: t("admin.posted_total"), value: ([, total]) => n(total), numeric: true },
          { label: t("admin.pending_total"), value: ([asset]) => n(balance.pending_totals[asset] ?? 0), numeric: true },
        ],
      }),
      h("h3", {}, t("admin.accounts")),
      table({
        caption: t("admin.accounts"),
        rows: balance.accounts,
        columns: [
          { label: t("admin.account"), value: (a) => h("code", {}, a.account) },
          { label: t("admin.asset"), value: (a) => a.asset },
          { label: t("admin.posted"), value: (a) => n(a.posted), numeric: true },
          { label: t("admin.available"), value: (a) => n(a.available), numeric: true },
          { label: t("admin.debits"), value: (a) => n(a.debits_posted), numeric: true },
          { label: t("admin.credits"), value: (a) => n(a.credits_posted), numeric: true },
        ],
      })),
    section(t("admin.verify_title"), h("p", { class: "hint" }, t("admin.verify_hint")), verify, verdict));
}
