"""The official rules of a contest, in zh-CN or en, rendered from its settings. Pure code.

``official_rules`` is a function of the ``Contest`` record (and the prize limits) only: the same
settings render the same document, so a rules snapshot fixed at lock renders exactly what
members were shown. Sections come in a fixed order with stable keys (``organiser``,
``eligibility``, ``dates``, ``how_to_win``, ``prizes``, ``draw``, ``notification``, ``terms``,
``compliance``); the ``draw`` section appears only when the contest has draw prizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from engine.contests.model import Contest
from engine.contests.prize_rules import DrawPrize, PrizeLimits
from engine.contests.prize_table import RankRange
from engine.contests.spec import PrizeLine

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")

_TEXT: dict[str, dict[Language, str]] = {
    "title": {"zh-CN": "{title} 官方规则", "en": "{title}: official rules"},
    "organiser": {"zh-CN": "主办方", "en": "Organiser"},
    "eligibility": {"zh-CN": "参与资格", "en": "Eligibility"},
    "dates": {"zh-CN": "活动时间", "en": "Dates"},
    "how_to_win": {"zh-CN": "参赛与排名", "en": "Taking part and ranking"},
    "prizes": {"zh-CN": "奖品", "en": "Prizes"},
    "draw": {"zh-CN": "抽奖方式", "en": "Draw method"},
    "notification": {"zh-CN": "获奖通知", "en": "How winners are notified"},
    "terms": {"zh-CN": "条款", "en": "Terms"},
    "compliance": {"zh-CN": "合规声明", "en": "Compliance"},
    "unset": {"zh-CN": "（未填写）", "en": "(not given)"},
    "min_level": {
        "zh-CN": "参赛者等级须达到 {n} 级。",
        "en": "Entrants must be level {n} or above.",
    },
    "capacity": {"zh-CN": "名额上限 {n} 人。", "en": "At most {n} entries."},
    "private": {"zh-CN": "本比赛凭邀请码参加。", "en": "Entry is by invite code."},
    "one_entry": {"zh-CN": "每人限参赛一次。", "en": "One entry per person."},
    "registration": {"zh-CN": "报名时间：{start} 至 {end}", "en": "Registration: {start} to {end}"},
    "open_start": {"zh-CN": "即日起", "en": "now"},
    "open_end": {"zh-CN": "比赛结束前", "en": "the last trading day"},
    "trading": {"zh-CN": "交易时间：{start} 至 {end}", "en": "Trading: {start} to {end}"},
    "award_date": {"zh-CN": "颁奖日期：{d}", "en": "Prizes awarded on: {d}"},
    "draw_date": {"zh-CN": "抽奖日期：{d}", "en": "Draw held on: {d}"},
    "cash": {
        "zh-CN": "每位参赛者获得模拟资金 {cash}（{market} 市场），不涉及真实资金。",
        "en": "Each entrant trades {cash} of simulated cash ({market} market); no real money.",
    },
    "metric": {"zh-CN": "排名指标：{metric}", "en": "Ranked by: {metric}"},
    "secondary": {"zh-CN": "同分时比较：{metric}", "en": "Ties broken by: {metric}"},
    "qualification": {
        "zh-CN": "计入排名须至少成交 {t} 笔、平仓 {r} 笔、交易 {d} 天。",
        "en": "To be ranked: at least {t} fills, {r} closing fills and {d} active days.",
    },
    "line": {"zh-CN": "{places}：{award}", "en": "{places}: {award}"},
    "pk_line": {"zh-CN": "团队对战 {places}：{award}", "en": "Team PK {places}: {award}"},
    "draw_line": {
        "zh-CN": "抽奖 {i}：{n} 名（成交 ≥ {t} 笔者可参与），每名 {award}，价值 ¥{value}{desc}",
        "en": "Draw {i}: {n} winner(s) among entrants with ≥ {t} fills, each {award}, "
        "worth ¥{value}{desc}",
    },
    "ranks": {"zh-CN": "第 {a}–{b} 名", "en": "ranks {a}–{b}"},
    "rank": {"zh-CN": "第 {a} 名", "en": "rank {a}"},
    "percent": {"zh-CN": "前 {a}%–{b}%", "en": "top {a}%–{b}%"},
    "points": {"zh-CN": "{n} 积分", "en": "{n} points"},
    "xp": {"zh-CN": "{n} 经验", "en": "{n} XP"},
    "item": {"zh-CN": "奖品“{item}”", "en": "reward item “{item}”"},
    "no_prizes": {"zh-CN": "本比赛不设奖品。", "en": "This contest has no prizes."},
    "prize_value": {"zh-CN": "奖品价值：{v}", "en": "Prize value: {v}"},
    "draw_method": {
        "zh-CN": "抽奖在比赛结束后进行。创建比赛时生成随机种子，并公开其 SHA-256 承诺值 {c}；"
        "结算后公开种子。每位符合条件者在第 n 项抽奖中的号码为 "
        'SHA-256("种子:{id}:i:会员编号")（第 n 项抽奖 i = n − 1），号码最小者中奖，'
        "每人至多中一项。",
        "en": "The draw is held after the contest ends. A random seed was made when the contest "
        "was created and its SHA-256 commitment {c} published; the seed is published at "
        "settlement. An eligible member's ticket in draw n is SHA-256(\"seed:{id}:i:member "
        'id") with i = n − 1; the lowest tickets win, and nobody wins more than one draw '
        "prize.",
    },
    "seed": {"zh-CN": "抽奖种子：{s}", "en": "Draw seed: {s}"},
    "terms_url": {"zh-CN": "完整条款：{u}", "en": "Full terms: {u}"},
    "free_entry": {
        "zh-CN": "免费参加：参赛不收取任何费用或积分。",
        "en": "Free entry: joining costs no money and no points.",
    },
    "entry_fee": {"zh-CN": "报名费：{n} 积分。", "en": "Entry fee: {n} points."},
    "cap": {
        "zh-CN": "单项抽奖奖品价值不超过 ¥{cap}（积分按每分 ¥{rate} 折算）。",
        "en": "No draw prize is worth more than ¥{cap} (points valued at ¥{rate} each).",
    },
}


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the document: a stable ``key``, its heading and its lines."""

    key: str
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OfficialRules:
    contest_id: int
    language: Language
    title: str
    sections: tuple[Section, ...]

    def to_markdown(self) -> str:
        """The document as Markdown: a title, then one ``##`` heading per section."""
        parts = [f"# {self.title}"]
        for section in self.sections:
            parts.append(f"## {section.title}")
            parts.extend(section.lines)
        return "\n\n".join(parts) + "\n"


def official_rules(
    contest: Contest, *, language: Language = "zh-CN", limits: PrizeLimits | None = None
) -> OfficialRules:
    """The contest's official rules in ``language`` (zh-CN or en)."""
    t = _Translator(language)
    limits = limits or PrizeLimits()
    d = contest.disclosures
    sections = [
        Section("organiser", t("organiser"), (t.given(d.organiser),)),
        Section("eligibility", t("eligibility"), _eligibility(contest, t)),
        Section("dates", t("dates"), _dates(contest, t)),
        Section("how_to_win", t("how_to_win"), _how_to_win(contest, t)),
        Section("prizes", t("prizes"), _prizes(contest, t)),
    ]
    if contest.draws:
        sections.append(Section("draw", t("draw"), _draw(contest, t)))
    sections += [
        Section("notification", t("notification"), (t.given(d.winner_notification),)),
        Section("terms", t("terms"), _terms(contest, t)),
        Section("compliance", t("compliance"), _compliance(contest, t, limits)),
    ]
    return OfficialRules(contest.id, language, t("title", title=contest.title), tuple(sections))


class _Translator:
    def __init__(self, language: Language) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"no official rules in {language!r}")
        self.language: Language = language

    def __call__(self, key: str, **values: object) -> str:
        return _TEXT[key][self.language].format(**values)

    def given(self, text: str) -> str:
        return text.strip() or self("unset")


def _eligibility(c: Contest, t: _Translator) -> tuple[str, ...]:
    lines = [t.given(c.disclosures.eligibility), t("one_entry")]
    if c.min_level > 1:
        lines.append(t("min_level", n=c.min_level))
    if c.capacity is not None:
        lines.append(t("capacity", n=c.capacity))
    if c.private:
        lines.append(t("private"))
    return tuple(lines)


def _dates(c: Contest, t: _Translator) -> tuple[str, ...]:
    start = _moment(c.registration_opens_at) or t("open_start")
    end = _moment(c.registration_closes_at) or t("open_end")
    lines = [
        t("registration", start=start, end=end),
        t("trading", start=c.trading_start.isoformat(), end=c.trading_end.isoformat()),
        t("award_date", d=_day(c.disclosures.award_date) or t("unset")),
    ]
    if c.draws:
        lines.append(t("draw_date", d=_day(c.disclosures.draw_date) or t("unset")))
    return tuple(lines)


def _how_to_win(c: Contest, t: _Translator) -> tuple[str, ...]:
    q = c.qualification
    lines = [
        t("cash", cash=f"{c.starting_cash:,.2f}", market=c.market),
        t("metric", metric=c.metric.kind.value),
    ]
    if c.secondary_metric:
        lines.append(t("secondary", metric=c.secondary_metric))
    if q.min_trades or q.min_round_trips or q.min_active_days:
        lines.append(t("qualification", t=q.min_trades, r=q.min_round_trips, d=q.min_active_days))
    return tuple(lines)


def _prizes(c: Contest, t: _Translator) -> tuple[str, ...]:
    lines = [f"- {t('line', places=_places(p, t), award=_award(p, t))}" for p in c.prizes]
    pk_lines = c.pk.prizes if c.pk is not None else ()
    lines += [f"- {t('pk_line', places=_places(p, t), award=_award(p, t))}" for p in pk_lines]
    lines += [f"- {_draw_line(i, p, t)}" for i, p in enumerate(c.draws, 1)]
    if not lines:
        return (t("no_prizes"),)
    d = c.disclosures
    return (t.given(d.prize_description), *lines, t("prize_value", v=t.given(d.prize_value)))


def _draw(c: Contest, t: _Translator) -> tuple[str, ...]:
    lines = [t("draw_method", c=c.draw_commitment or t("unset"), id=c.id)]
    if c.draw_seed is not None:
        lines.append(t("seed", s=c.draw_seed))
    return tuple(lines)


def _terms(c: Contest, t: _Translator) -> tuple[str, ...]:
    d = c.disclosures
    lines = [text for text in (d.terms_text.strip(),) if text]
    if d.terms_url.strip():
        lines.append(t("terms_url", u=d.terms_url.strip()))
    return tuple(lines) or (t("unset"),)


def _compliance(c: Contest, t: _Translator, limits: PrizeLimits) -> tuple[str, ...]:
    fee = t("entry_fee", n=c.entry_fee_points) if c.entry_fee_points else t("free_entry")
    cap = limits.cap_for(c.market)
    if not c.draws or cap is None:
        return (fee,)
    return (fee, t("cap", cap=f"{cap:,}", rate=limits.points_cny_rate))


def _places(line: PrizeLine, t: _Translator) -> str:
    places = line.places
    if isinstance(places, RankRange):
        kind = "rank" if places.first == places.last else "ranks"
        return t(kind, a=places.first, b=places.last)
    return t("percent", a=places.from_percent, b=places.to_percent)


def _award(line: PrizeLine | DrawPrize, t: _Translator) -> str:
    parts = []
    if line.points:
        parts.append(t("points", n=f"{line.points:,}"))
    if line.xp:
        parts.append(t("xp", n=f"{line.xp:,}"))
    if line.item_key:
        parts.append(t("item", item=line.item_key))
    return " + ".join(parts)


def _draw_line(i: int, prize: DrawPrize, t: _Translator) -> str:
    desc = f" ({prize.description})" if prize.description.strip() else ""
    return t(
        "draw_line",
        i=i,
        n=prize.winners,
        t=prize.min_trades,
        award=_award(prize, t),
        value=f"{prize.cash_value:,}",
        desc=desc,
    )


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="minutes")


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
