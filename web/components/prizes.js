/** A settled contest's prize list (GET /v1/contests/{id}/prizes): who won what, and whether the
 * ledger has paid it. Names come from the leaderboard rows the page already holds. */

import { api } from "../api.js";
import { formatNumber, t } from "../i18n.js";
import { section, table } from "../ui.js";

export async function prizesSection(contest, names, myId) {
  const list = await api.get(`/contests/${contest.id}/prizes`);
  return section(t("prizes.title"), table({
    caption: t("prizes.title"),
    empty: t("prizes.none"),
    rows: list.prizes,
    rowAttrs: (p) => ({ class: p.member_id === myId ? "me" : null }),
    columns: [
      { label: t("board.rank"), value: (p) => String(p.rank), numeric: true },
      { label: t("board.member"), value: (p) => names.get(p.member_id) ?? `#${p.member_id}` },
      { label: t("prizes.kind"), value: (p) => t(`prizes.kind.${p.kind}`) },
      { label: t("prizes.points"), value: (p) => formatNumber(p.points, { max: 0 }), numeric: true },
      { label: t("prizes.xp"), value: (p) => formatNumber(p.xp, { max: 0 }), numeric: true },
      { label: t("prizes.item"), value: (p) => p.item_key ?? "—" },
      { label: t("prizes.paid"), value: (p) => (p.paid ? t("prizes.paid_yes") : t("prizes.paid_no")) },
    ],
  }));
}
