/** The reward catalog with a redeem button per item (POST /v1/rewards/{id}/redemptions), and
 * my redemptions with their status. */

import { allPages, api } from "../api.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { busy, h, notice, problemBox, section, table } from "../ui.js";

export async function rewardsSection(afterEarning) {
  const result = h("div", { role: "status" });
  const catalog = h("div");
  const mine = h("div");
  const el = h("div", { class: "stack" },
    section(t("rewards.title"), result, catalog),
    section(t("rewards.mine"), mine));

  async function redeem(item, button) {
    result.replaceChildren();
    try {
      await busy(button, () => api.post(`/rewards/${item.id}/redemptions`));
      result.replaceChildren(notice(t("rewards.redeemed", { name: item.name }), "success"));
      await Promise.all([refresh(), afterEarning()]);
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  }

  async function refresh() {
    const [items, redemptions] = await Promise.all([allPages("/rewards"), api.get("/me/redemptions", { limit: 20 })]);
    const names = new Map(items.map((item) => [item.key, item.name]));
    catalog.replaceChildren(table({
      empty: t("rewards.empty"),
      rows: items,
      rowAttrs: (item) => ({ dataset: { reward: item.key } }),
      // The redeem button early in the row: on a phone the rest scrolls sideways.
      columns: [
        { label: t("rewards.item"), value: (item) => item.name },
        { label: t("rewards.cost"), value: (item) => formatNumber(item.cost_points, { max: 0 }), numeric: true },
        { label: t("rewards.actions"), value: (item) => h("button", {
          type: "button", class: "small", disabled: item.stock_left < 1, onclick: (e) => redeem(item, e.currentTarget),
        }, item.stock_left < 1 ? t("rewards.sold_out") : t("rewards.redeem")) },
        { label: t("rewards.stock"), value: (item) => formatNumber(item.stock_left, { max: 0 }), numeric: true },
        { label: t("rewards.min_level"), value: (item) => String(item.min_level), numeric: true },
        { label: t("rewards.limit"), value: (item) => (item.per_member_limit ? String(item.per_member_limit) : "—"), numeric: true },
        { label: t("rewards.until"), value: (item) => (item.valid_until ? formatDateTime(item.valid_until) : "—") },
      ],
    }));
    mine.replaceChildren(table({
      empty: t("rewards.none_mine"),
      rows: redemptions.items,
      columns: [
        { label: t("rewards.item"), value: (r) => names.get(r.item_key) ?? r.item_key },
        { label: t("rewards.cost"), value: (r) => formatNumber(r.cost_points, { max: 0 }), numeric: true },
        { label: t("rewards.status"), value: (r) => t(`redemption.${r.status}`) },
        { label: t("history.when"), value: (r) => formatDateTime(r.created_at) },
      ],
    }));
  }
  await refresh();
  return el;
}
