"""Members trading in a contest: orders, account, positions, equity history; market data."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, status
from starlette.concurrency import run_in_threadpool

from api.http.chain_deps import ContentUow
from api.http.deps import (
    CurrentUser,
    DatabaseDep,
    EngineUow,
    GroupCommitsDep,
    IdPath,
    OptionalUser,
    PageParams,
    VisibleContestId,
    VisibleContestQuery,
)
from api.http.problems import problem_doc
from api.http.schemas.common import Day, Page
from api.http.schemas.quotes import FillOut
from api.http.schemas.trading import (
    AccountOut,
    BarOut,
    EquityPoint,
    InstrumentOut,
    NoteIn,
    NoteOut,
    OrderIn,
    OrderOut,
    PositionOut,
)
from contracts.services import compliance_terms
from contracts.uow import ContentUnitOfWork
from core.pagination import decode_cursor, encode_cursor
from core.users.model import Role
from engine.contests import board_pages
from engine.market.model import Market
from engine.trading import journal, services, views
from engine.trading.orders import OrderStatus

router = APIRouter(
    tags=["trading"],
    responses={401: problem_doc("Not authenticated"), 404: problem_doc("No entry in the contest")},
)
market_router = APIRouter(prefix="/market", tags=["market data"])
StatusFilter = Annotated[
    list[OrderStatus] | None,
    Query(description="Only orders in these statuses (repeat the parameter for several)"),
]
Symbol = Annotated[str, Path(min_length=1, max_length=32)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)]


def keyed_client_order_id(key: str) -> str:
    """The client order id of an order sent without one but with an Idempotency-Key: a retry
    after a crash between the order's commit and its stored response finds the first order."""
    return "idem-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@router.post(
    "/contests/{contest_id}/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={
        409: problem_doc("client_order_id reused with different fields"),
        422: problem_doc("Order refused: `rule` is the reason code"),
    },
)
async def place_order(
    contest_id: VisibleContestId,
    body: OrderIn,
    user: CurrentUser,
    uow: EngineUow,
    database: DatabaseDep,
    combiners: GroupCommitsDep,
    key: IdempotencyKey = None,
) -> OrderOut:
    """Place an order (optionally with a journal note); it fills from the next revealed bar."""
    request = body.to_request()
    if request.client_order_id is None and key is not None:
        request = replace(request, client_order_id=keyed_client_order_id(key))
    screened = None
    if body.note is not None:  # the compliance terms: an order without a note reads nothing more
        content = ContentUnitOfWork(database.sessions)
        terms = await run_in_threadpool(compliance_terms, content)
        screened = journal.check_note(body.note, terms)
    # Joined with the contest's concurrent orders: one transaction, judged in arrival order;
    # awaited, not in a pool thread: the batch runs in the combiner's worker.
    order = await combiners.orders.submit_async(contest_id, (user.id, request, screened))
    note = None
    if body.note is not None:
        note = (await run_in_threadpool(journal.notes_of, uow, [order.id])).get(order.id)
    return OrderOut.of(order, note=note)


@router.put(
    "/contests/{contest_id}/orders/{order_id}/note",
    response_model=NoteOut,
    responses={422: problem_doc("Blank, too long, or a prohibited claim (`terms` names them)")},
)
def put_note(
    contest_id: VisibleContestId,
    order_id: IdPath,
    body: NoteIn,
    user: CurrentUser,
    uow: EngineUow,
    content: ContentUow,
) -> NoteOut:
    """Attach or replace the trade-journal note of one of your orders."""
    saved = journal.set_note(
        uow,
        contest_id,
        member_id=user.id,
        order_id=order_id,
        note=body.note,
        terms=compliance_terms(content),
    )
    board_pages.note_changed(uow, contest_id)
    return NoteOut(order_id=saved.order_id, note=saved.note, updated_at=saved.updated_at)


@router.get("/contests/{contest_id}/orders", response_model=Page[OrderOut])
def list_orders(
    contest_id: VisibleContestId,
    user: CurrentUser,
    uow: EngineUow,
    page: PageParams,
    status_filter: Annotated[StatusFilter, Query(alias="status")] = None,
) -> Page[OrderOut]:
    """Your orders in the contest, newest first."""
    orders, following = services.list_orders(
        uow,
        contest_id,
        user.id,
        status=[s.value for s in status_filter] if status_filter else None,
        after=decode_cursor(page.cursor),
        limit=page.limit,
    )
    notes = journal.notes_of(uow, [o.id for o in orders])
    return Page(
        items=[OrderOut.of(o, note=notes.get(o.id)) for o in orders],
        next_cursor=None if following is None else encode_cursor(following),
    )


@router.get("/contests/{contest_id}/orders/{order_id}", response_model=OrderOut)
def get_order(
    contest_id: VisibleContestId, order_id: IdPath, user: CurrentUser, uow: EngineUow
) -> OrderOut:
    """One of your orders, with its journal note."""
    order = services.get_order(uow, contest_id, user.id, order_id)
    return OrderOut.of(order, note=journal.notes_of(uow, [order.id]).get(order.id))


@router.delete(
    "/contests/{contest_id}/orders/{order_id}",
    response_model=OrderOut,
    responses={409: problem_doc("The order is no longer open")},
)
def cancel_order(
    contest_id: VisibleContestId, order_id: IdPath, user: CurrentUser, uow: EngineUow
) -> OrderOut:
    """Cancel an open order and release the buying power it held."""
    return OrderOut.of(services.cancel_order(uow, contest_id, user.id, order_id))


@router.get("/contests/{contest_id}/fills", response_model=Page[FillOut])
def list_fills(
    contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow, page: PageParams
) -> Page[FillOut]:
    """Your trade history in the contest: every fill, newest first."""
    found, following = services.list_fills(
        uow, contest_id, user.id, after=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(
        items=[FillOut.of(fill_id, f) for fill_id, f in found],
        next_cursor=None if following is None else encode_cursor(following),
    )


@router.get("/contests/{contest_id}/account", response_model=AccountOut)
def account(contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow) -> AccountOut:
    """Cash, equity, buying power and performance statistics at the clock's last close."""
    return AccountOut.of(views.account_summary(uow, contest_id, user.id))


@router.get("/contests/{contest_id}/positions", response_model=list[PositionOut])
def positions(contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow) -> list[PositionOut]:
    """Your positions, marked at the clock's last close."""
    return [PositionOut.of(p) for p in views.positions(uow, contest_id, user.id)]


@router.get("/contests/{contest_id}/portfolio/history", response_model=list[EquityPoint])
def portfolio_history(
    contest_id: VisibleContestId, user: CurrentUser, uow: EngineUow
) -> list[EquityPoint]:
    """Your daily equity curve: cash and equity at each revealed day's closes."""
    return [
        EquityPoint(day=day, cash=cash, equity=equity)
        for day, cash, equity in views.portfolio_history(uow, contest_id, user.id)
    ]


@market_router.get(
    "/instruments",
    response_model=Page[InstrumentOut],
    responses={401: problem_doc("Bad bearer token"), 404: problem_doc("Unknown contest")},
)
def instruments(
    uow: EngineUow,
    page: PageParams,
    contest_id: VisibleContestQuery,
    market: Market | None = None,
    q: Annotated[
        str | None,
        Query(max_length=64, description="A symbol prefix or a name substring (any case)"),
    ] = None,
) -> Page[InstrumentOut]:
    """Tradable instruments: symbol, name, market, board, currency, lot size; ``q`` searches
    them, ``contest_id`` keeps the contest's universe."""
    found, following = services.list_instruments(
        uow,
        market=market,
        after=decode_cursor(page.cursor, kind=str),
        limit=page.limit,
        query=q,
        contest_id=contest_id,
    )
    return Page(
        items=[InstrumentOut.of(i) for i in found],
        next_cursor=None if following is None else encode_cursor(following),
    )


@market_router.get(
    "/{symbol}/bars",
    response_model=list[BarOut],
    responses={401: problem_doc("Bad bearer token"), 404: problem_doc("Unknown symbol")},
)
def bars(
    symbol: Symbol,
    uow: EngineUow,
    viewer: OptionalUser,
    contest_id: VisibleContestQuery,
    start: Day = date(1990, 1, 1),
    end: Day = date(2100, 1, 1),
) -> list[BarOut]:
    """Daily bars up to the earliest clock of the running contests on the symbol."""
    found = services.visible_bars(
        uow,
        symbol.strip().upper(),
        start=start,
        end=end,
        contest_id=contest_id,
        operator=viewer is not None and viewer.has_any(Role.OPERATOR),
    )
    return [BarOut.of(b) for b in found]
