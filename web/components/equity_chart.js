/** The equity curve (GET /v1/contests/{id}/portfolio/history) drawn with the vendored Chart.js,
 * with the starting cash as a dashed reference line. */

import { api } from "../api.js";
import { formatDate, formatMoney, t } from "../i18n.js";
import { h, section } from "../ui.js";

export function equityChart(contest) {
  const canvas = h("canvas", { role: "img", "aria-label": t("chart.equity_empty") });
  const summary = h("p", { class: "visually-hidden" });
  const el = section(t("chart.equity"), h("div", { class: "chart-box" }, canvas), summary);
  let chart = null;
  let destroyed = false;

  async function refresh() {
    const points = await api.get(`/contests/${contest.id}/portfolio/history`);
    // The member may have left the page while the request was out: never draw on a detached
    // canvas (Chart.js measures its parent).
    if (destroyed || !canvas.isConnected) return;
    const labels = points.map((p) => formatDate(p.day));
    const equity = points.map((p) => Number(p.equity));
    const start = points.map(() => Number(contest.starting_cash));
    const text = points.length
      ? t("chart.equity_summary", { days: points.length, first: formatMoney(points[0].equity, contest.market), last: formatMoney(points.at(-1).equity, contest.market) })
      : t("chart.equity_empty");
    canvas.setAttribute("aria-label", text);
    summary.textContent = text;
    if (!window.Chart) return;  // the vendored script failed to load: the text summary stays
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = equity;
      chart.data.datasets[1].data = start;
      chart.update();
      return;
    }
    const style = getComputedStyle(document.body);
    chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: t("chart.equity_line"), data: equity, borderColor: style.getPropertyValue("--accent"), pointRadius: 0, tension: 0.1 },
          { label: t("chart.starting_cash"), data: start, borderColor: style.getPropertyValue("--muted"), borderDash: [4, 4], pointRadius: 0 },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { ticks: { callback: (value) => formatMoney(value, contest.market) } } },
        plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatMoney(item.raw, contest.market)}` } } },
      },
    });
  }
  const destroy = () => {
    destroyed = true;
    chart?.destroy();
  };
  return { el, refresh, destroy };
}
