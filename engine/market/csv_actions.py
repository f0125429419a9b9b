"""Corporate actions from CSV: ``symbol, ex_date, kind, cash_per_share, ratio`` (any case, any
column order; extra columns ignored).

``kind`` is ``dividend`` or ``split``; a dividend gives ``cash_per_share`` (currency units per
share, pre-tax) and leaves ``ratio`` empty, a split gives ``ratio`` as new shares per old share
(``2``, ``13/10``, ``2:1`` new:old, ``1.3``) and leaves ``cash_per_share`` empty. An A-share
10送3派2 (3 bonus shares and 2 yuan per 10 shares) is two rows on one ex-date: ``dividend`` 0.2
and ``split`` 13/10. Numbers are parsed as ``Decimal`` from the text, never through float. The
first broken rule raises ``InvalidCorporateAction`` naming the file line (header is line 1).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from engine.market.corporate_actions import (
    ActionKind,
    CorporateAction,
    InvalidCorporateAction,
    parse_ratio,
)

REQUIRED = ("symbol", "ex_date", "kind")
OPTIONAL = ("cash_per_share", "ratio")


def parse_actions(text: str) -> list[CorporateAction]:
    """The actions in CSV ``text``, in file order; raises ``InvalidCorporateAction``."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise InvalidCorporateAction("the file is empty", rule="no_rows")
    positions = {name.strip().lower(): index for index, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in positions]
    if missing or not any(name in positions for name in OPTIONAL):
        raise InvalidCorporateAction(
            f"row 1: need columns {', '.join(REQUIRED)} and cash_per_share and/or ratio",
            field="columns",
            rule="columns",
        )
    actions: list[CorporateAction] = []
    seen: dict[tuple[str, date, ActionKind], int] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = reader.line_num
        values = {
            name: cells[index].strip() if index < len(cells) else ""
            for name, index in positions.items()
        }
        action = _action(values, row)
        if action.key in seen:
            raise InvalidCorporateAction(
                f"row {row}: the same {action.kind} of {action.symbol} on {action.ex_date} is "
                f"on row {seen[action.key]} too",
                field="rows",
                rule="unique",
            )
        seen[action.key] = row
        actions.append(action)
    if not actions:
        raise InvalidCorporateAction("the file has a header but no actions", rule="no_rows")
    return actions


def _action(values: dict[str, str], row: int) -> CorporateAction:
    symbol = values["symbol"].upper()
    if not symbol:
        raise InvalidCorporateAction(f"row {row}: symbol is empty", field="symbol", rule="required")
    try:
        ex_date = date.fromisoformat(values["ex_date"][:10])
    except ValueError:
        raise InvalidCorporateAction(
            f"row {row}: ex_date {values['ex_date']!r} is not YYYY-MM-DD",
            field="ex_date",
            rule="date",
        ) from None
    try:
        kind = ActionKind(values["kind"].lower())
    except ValueError:
        raise InvalidCorporateAction(
            f"row {row}: kind {values['kind']!r} is not dividend or split",
            field="kind",
            rule="one_of",
        ) from None
    try:
        return CorporateAction(
            symbol,
            ex_date,
            kind,
            cash_per_share=_cash(values.get("cash_per_share", ""), row),
            ratio=parse_ratio(values.get("ratio") or "1"),
        )
    except InvalidCorporateAction as error:
        raise InvalidCorporateAction(
            f"row {row}: {error.detail}", field=error.field, rule=error.rule
        ) from None


def _cash(text: str, row: int) -> Decimal:
    if not text:
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidCorporateAction(
            f"row {row}: cash_per_share {text!r} is not a number",
            field="cash_per_share",
            rule="number",
        ) from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 9:
        raise InvalidCorporateAction(
            f"row {row}: cash_per_share {text} is out of range",
            field="cash_per_share",
            rule="range",
        )
    if value.quantize(Decimal("0.000001")) != value:
        raise InvalidCorporateAction(
            f"row {row}: cash_per_share {text} needs at most 6 decimal places",
            field="cash_per_share",
            rule="number",
        )
    return value


__all__ = ["parse_actions"]
