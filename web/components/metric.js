/** A contest's ranking metric as text: returns as percentages, ratios and scores as numbers. */

import { formatNumber, formatPercent } from "../i18n.js";

const AS_PERCENT = new Set(["total_return", "excess_return"]);

export function formatMetric(contest, value) {
  return AS_PERCENT.has(contest.metric.kind) ? formatPercent(value) : formatNumber(value, { min: 3, max: 3 });
}
