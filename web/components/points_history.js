/** Every ledger entry on my points, XP and inventory, newest first, a page at a time
 * (GET /v1/me/points/history). */

import { api } from "../api.js";
import { formatDateTime, formatNumber, hasText, t, trend } from "../i18n.js";
import { h, section, signed, table } from "../ui.js";

export function pointsHistory() {
  const body = h("div");
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  const el = section(t("history.title"), body, more);
  let rows = [];
  let cursor = null;

  async function load(append) {
    const page = await api.get("/me/points/history", { limit: 20, cursor: append ? cursor : null });
    rows = append ? [...rows, ...page.items] : page.items;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    body.replaceChildren(table({
      caption: t("history.title"),
      empty: t("history.empty"),
      rows,
      columns: [
        { label: t("history.amount"), value: (e) => signed(formatNumber(e.amount, { max: 0, sign: "exceptZero" }), trend(e.amount)), numeric: true },
        { label: t("history.asset"), value: (e) => assetName(e.asset) },
        { label: t("history.reason"), value: (e) => reasonName(e.reason) },
        { label: t("history.when"), value: (e) => formatDateTime(e.created_at) },
        { label: t("history.reference"), value: (e) => e.reference },
      ],
    }));
  }
  more.addEventListener("click", () => load(true));
  return { el, refresh: () => load(false) };
}

const assetName = (asset) => (asset.startsWith("ITEM:") ? asset.slice(5) : t(`asset.${asset}`));
// Ledger reason codes have names; free-text reasons (PK round awards) show as they are.
const reasonName = (reason) => (hasText(`reason.${reason}`) ? t(`reason.${reason}`) : reason);
