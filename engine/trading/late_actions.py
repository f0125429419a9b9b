"""Corporate actions imported too late: refused, not applied backwards.

The clock applies an action at the open of the first contest day on or after its ex-date
(``engine.trading.corporate``). An action stored once a running contest's clock has reached
its ex-date would never be applied there, and applying it at the next tick would be wrong:
the as-traded bars since the ex-date are already post-split (or ex-dividend) prices, members
have traded at them, and the entitlement belongs to the shares held at the ex-date's open,
not to today's holding (a member who bought after the ex-date would get the split on shares
bought at the split price: a fake gain; the days already ranked keep their fake loss). So
the import is refused (rule ``ex_date_passed``), naming the contest: import actions before
their ex-date. Contests whose trading window ended before the ex-date, or that had not
started trading at it, are unaffected; finished contests keep their books as ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from core.errors import RuleViolation
from core.rule_codes import Rule
from engine.market.corporate_actions import CorporateAction
from engine.market.csv_actions import parse_actions
from engine.market.services import CSV_SOURCE, _csv_text
from engine.trading.uow import TradingUnitOfWork


def refuse_late_actions(uow: TradingUnitOfWork, actions: Sequence[CorporateAction]) -> None:
    """Raise ``RuleViolation`` (``ex_date_passed``) for the first new action whose ex-date a
    running contest trading its symbol has already reached. Inside the caller's transaction."""
    if not actions:
        return
    stored = {
        (a.symbol, a.ex_date, a.kind)
        for symbol in {a.symbol for a in actions}
        for a in uow.market.actions_of(symbol)
    }
    new = [a for a in actions if (a.symbol, a.ex_date, a.kind) not in stored]
    for contest in uow.trading.running_contests():
        if contest.clock_day is None or contest.settled_at is not None:
            continue
        for action in new:
            if (
                action.symbol in contest.universe
                and contest.trading_start <= action.ex_date <= contest.clock_day
            ):
                raise RuleViolation(
                    f"{action.symbol} {action.kind.value} ex {action.ex_date.isoformat()}: "
                    f"contest {contest.id} has traded up to {contest.clock_day.isoformat()}, "
                    "so it could not be applied on its ex-date; import actions before their "
                    "ex-date",
                    field="ex_date",
                    rule=Rule.EX_DATE_PASSED,
                )


def store_actions(
    uow: TradingUnitOfWork, actions: Iterable[CorporateAction], *, source: str
) -> int:
    """Store ``actions`` (known symbols) unless one comes too late for a running contest
    (``refuse_late_actions``); all or nothing; returns how many were new."""
    wanted = list(actions)
    with uow:
        refuse_late_actions(uow, wanted)
        stored = uow.market.put_actions(wanted, source=source)
        uow.commit()
    return stored


def import_actions_csv(uow: TradingUnitOfWork, text_or_path: str | Path) -> int:
    """The actions of a CSV file or text (``engine.market.csv_actions``), through
    ``store_actions``."""
    return store_actions(uow, parse_actions(_csv_text(text_or_path)), source=CSV_SOURCE)
