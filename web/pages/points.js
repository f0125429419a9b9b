/**
 * Points: balance and level (progress to the next, privileges), the daily check-in with its
 * streak, tasks, the reward catalog with redemption, and the ledger history.
 */

import { api } from "../api.js";
import { pointsHistory } from "../components/points_history.js";
import { rewardsSection } from "../components/rewards.js";
import { tasksSection } from "../components/tasks.js";
import { formatNumber, t } from "../i18n.js";
import { busy, h, problemBox, section } from "../ui.js";

export async function render(root) {
  const balance = h("div");
  const refreshBalance = async () => balance.replaceChildren(summary(await api.get("/me/points")));
  const history = pointsHistory();
  const afterEarning = () => Promise.all([refreshBalance(), history.refresh()]);
  root.append(
    h("h1", {}, t("points.title")),
    h("p", {}, h("a", { href: "#/onboarding?next=/points" }, t("onboarding.profile_link"))),
    h("div", { class: "points-grid" },
      section(t("points.balance_title"), balance),
      checkInSection(afterEarning)),
    await tasksSection(afterEarning),
    await rewardsSection(afterEarning),
    history.el);
  await afterEarning();
}

function summary(p) {
  const n = (value) => formatNumber(value, { max: 0 });
  const toNext = p.next_threshold
    ? t("points.to_next", { xp: n(p.lifetime_xp), threshold: n(p.next_threshold), level: p.next_level })
    : t("points.top_level", { xp: n(p.lifetime_xp) });
  const flags = p.privileges.flags.map((flag) => h("li", {}, t(`flag.${flag}`)));
  const items = Object.entries(p.items).map(([key, count]) => h("li", {}, `${key} × ${count}`));
  return h("div", { class: "stack" },
    h("dl", { class: "figures" },
      h("div", { class: "figure" }, h("dt", {}, t("points.balance")), h("dd", { id: "points-balance" }, n(p.balance))),
      h("div", { class: "figure" }, h("dt", {}, t("points.available")), h("dd", {}, n(p.available))),
      h("div", { class: "figure" }, h("dt", {}, t("points.level")), h("dd", {}, t("points.level_value", { number: p.level, name: p.level_name })))),
    h("label", { for: "level-progress" }, toNext),
    h("progress", { id: "level-progress", max: p.next_threshold ?? 1, value: p.next_threshold ? p.lifetime_xp : 1 }),
    h("h3", {}, t("points.privileges")),
    h("ul", { class: "plain" },
      h("li", {}, t("points.multiplier", { value: formatNumber(p.privileges.points_multiplier, { max: 4 }) })),
      flags),
    items.length ? [h("h3", {}, t("points.items")), h("ul", { class: "plain" }, items)] : null);
}

function checkInSection(afterEarning) {
  const result = h("div", { role: "status" });
  const button = h("button", { type: "button", class: "primary", id: "check-in" }, t("points.check_in"));
  button.addEventListener("click", async () => {
    result.replaceChildren();
    try {
      const c = await busy(button, () => api.post("/me/check-ins"));
      result.replaceChildren(h("p", { class: "notice success", dataset: { streak: c.streak } },
        t("points.checked_in", { points: c.points, xp: c.xp }), " ",
        h("strong", { class: "streak" }, t("points.streak", { days: c.streak }))));
      await afterEarning();
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  });
  return section(t("points.check_in_title"), h("p", { class: "hint" }, t("points.check_in_hint")), button, result);
}
