/** A symbol's intraday chart: the minute closes of its last visible day
 * (GET /v1/market/{symbol}/minutes) as a Chart.js line. A gap longer than a minute (the A-share
 * 11:30–13:00 lunch break, a feed outage) breaks the line instead of bridging it. */

import { api } from "../api.js";
import { formatDate, formatPrice, t } from "../i18n.js";
import { h, section } from "../ui.js";

const MINUTE_MS = 60_000;
// Minutes are labelled in the exchange's own time (09:30–15:00 in Shanghai, wherever the viewer is).
const EXCHANGE_ZONE = { CN: "Asia/Shanghai", US: "America/New_York" };

export function intradayChart(contest) {
  const canvas = h("canvas", { role: "img", "aria-label": t("intraday.empty") });
  const summary = h("p", { class: "visually-hidden intraday-summary" });
  const el = section(t("intraday.title"), h("div", { class: "chart-box" }, canvas), summary);
  let chart = null;
  let destroyed = false;

  async function show(symbol) {
    const minutes = await api.get(`/market/${encodeURIComponent(symbol)}/minutes`, { contest_id: contest.id });
    if (destroyed || !canvas.isConnected) return;
    const { labels, closes } = withGaps(minutes.bars, EXCHANGE_ZONE[contest.market]);
    const text = minutes.bars.length
      ? t("intraday.summary", { symbol, day: formatDate(minutes.day), bars: minutes.bars.length, last: formatPrice(minutes.bars.at(-1).close) })
      : t("intraday.empty");
    canvas.setAttribute("aria-label", text);
    summary.textContent = text;
    el.dataset.bars = String(minutes.bars.length);
    if (!window.Chart) return;  // the vendored script failed to load: the text summary stays
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = closes;
      chart.data.datasets[0].label = symbol;
      chart.update();
      return;
    }
    const style = getComputedStyle(document.body);
    chart = new window.Chart(canvas, {
      type: "line",
      data: { labels, datasets: [{ label: symbol, data: closes, borderColor: style.getPropertyValue("--accent"), pointRadius: 0, spanGaps: false }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { ticks: { callback: (value) => formatPrice(value) } } },
        plugins: { legend: { display: false } },
      },
    });
  }
  const destroy = () => { destroyed = true; chart?.destroy(); };
  return { el, show, destroy };
}

/** Labels (exchange-local HH:MM) and closes, with a null point wherever minutes are missing. */
function withGaps(bars, timeZone) {
  const labels = [];
  const closes = [];
  const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
  let previous = null;
  for (const bar of bars) {
    const at = new Date(bar.start);
    if (previous && at - previous > MINUTE_MS) {
      labels.push("");
      closes.push(null);
    }
    labels.push(time.format(at));
    closes.push(Number(bar.close));
    previous = at;
  }
  return { labels, closes };
}
