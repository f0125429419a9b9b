/**
 * The pages: hash paths, the module drawing each, and who may open it; and the top bar's links.
 *
 * A page module exports `render(root, {params, query, user})`: it draws into `root` (an empty
 * element), may be async, and may return a cleanup function (timers, charts) that runs before
 * the next page. `params` come from `:name` parts of the path, `query` is a URLSearchParams.
 * `public: true` pages open without signing in; `roles` limits a page (and its link) to users
 * holding any of those roles.
 */

export const HOME = "/contests";

export const ROUTES = [
  { path: "/login", load: () => import("./pages/login.js"), public: true },
  { path: "/consent", load: () => import("./pages/consent.js") },
  { path: "/signup", load: () => import("./pages/signup.js"), public: true },
  { path: "/contests", load: () => import("./pages/lobby.js") },
  { path: "/contests/:id", load: () => import("./pages/contest.js") },
  { path: "/contests/:id/leaderboard", load: () => import("./pages/leaderboard.js") },
  { path: "/contests/:id/team", load: () => import("./pages/team.js") },
  { path: "/points", load: () => import("./pages/points.js") },
  { path: "/quizzes", load: () => import("./pages/quizzes.js") },
  { path: "/quizzes/:id", load: () => import("./pages/quizzes.js") },
  { path: "/onboarding", load: () => import("./pages/onboarding.js") },
  { path: "/league", load: () => import("./pages/league.js") },
  { path: "/verify", load: () => import("./pages/verify.js"), public: true },
  { path: "/author", load: () => import("./pages/author.js"), roles: ["author"] },
  { path: "/admin", load: () => import("./pages/admin.js"), roles: ["operator"] },
  { path: "/admin/seasons/new", load: () => import("./pages/admin_season.js"), roles: ["operator"] },
  { path: "/admin/seasons/:id", load: () => import("./pages/admin_season.js"), roles: ["operator"] },
  { path: "/admin/contests/new", load: () => import("./pages/admin_contest.js"), roles: ["operator"] },
  { path: "/admin/contests/:id", load: () => import("./pages/admin_contest.js"), roles: ["operator"] },
  { path: "/admin/engagement", load: () => import("./pages/admin_engagement.js"), roles: ["operator"] },
  { path: "/admin/ledger", load: () => import("./pages/admin_ledger.js"), roles: ["operator"] },
  { path: "/admin/reviews", load: () => import("./pages/admin_reviews.js"), roles: ["operator"] },
  { path: "/admin/audit", load: () => import("./pages/admin_audit.js"), roles: ["operator"] },
  { path: "/admin/analytics", load: () => import("./pages/admin_analytics.js"), roles: ["operator"] },
  { path: "/admin/webhooks", load: () => import("./pages/admin_webhooks.js"), roles: ["operator"] },
  { path: "/admin/segments", load: () => import("./pages/admin_segments.js"), roles: ["operator"] },
  { path: "/admin/campaigns", load: () => import("./pages/admin_campaigns.js"), roles: ["operator"] },
];

/** Top bar links: `label` is an i18n key; `match` marks the link current for sub-pages. */
export const NAV = [
  { href: "#/contests", label: "nav.contests", match: "/contests" },
  { href: "#/points", label: "nav.points", match: "/points" },
  { href: "#/quizzes", label: "nav.quizzes", match: "/quizzes" },
  { href: "#/league", label: "nav.league", match: "/league" },
  { href: "#/author", label: "nav.author", match: "/author", roles: ["author"] },
  { href: "#/admin", label: "nav.admin", match: "/admin", roles: ["operator"] },
  { href: "#/verify", label: "nav.verify", match: "/verify" },
];
