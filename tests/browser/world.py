"""The world a browser test plays in, set up through the services (market data, accounts) and
the HTTP API (what an operator or member would do): a CN replay season with a team contest
with PK rounds; a US season with a plain contest and a private one (invite code); a reward in
the catalog; four rival members in the CN contest, in two teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from api.http.security import issue_access_token
from core.config import Settings
from core.db import Database
from core.users import services as users
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork
from engine.market.model import Market
from engine.market.services import install_synthetic
from engine.uow import EngineUnitOfWork
from tests.contest_builders import DISCLOSURES_JSON

PASSWORD = "correct horse battery"
START = date(2024, 1, 1)
BARS = 30
INVITE_CODE = "club-2024"


@dataclass
class World:
    url: str
    http: httpx.Client
    operator: dict[str, str]
    cn_contest: dict[str, Any]
    us_contest: dict[str, Any]
    private_contest: dict[str, Any]
    cn_symbols: list[str]
    rivals: list[dict[str, str]]

    def advance(self, contest_id: int, bars: int = 1) -> dict[str, Any]:
        """The operator moves a replay contest's clock by ``bars`` trading days."""
        return ok(
            self.http.post(
                f"/v1/admin/contests/{contest_id}/clock", json={"bars": bars}, headers=self.operator
            )
        )

    def finish_and_settle(self, contest_id: int) -> dict[str, Any]:
        """Run the clock to the contest's last day, then pay its prizes."""
        while not self.advance(contest_id, bars=10)["finished"]:
            pass
        url = f"/v1/admin/contests/{contest_id}/settlement"
        return ok(self.http.post(url, headers=self.operator))  # type: ignore[no-any-return]

    def rivals_trade(self) -> None:
        """Each rival buys a different stock, so the board has spread (after the first bar)."""
        for i, headers in enumerate(self.rivals):
            order = {"symbol": self.cn_symbols[i], "side": "buy", "qty": str(1000 * (i + 1))}
            ok(
                self.http.post(
                    f"/v1/contests/{self.cn_contest['id']}/orders", json=order, headers=headers
                ),
                201,
            )


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def build_world(url: str, database: Database, settings: Settings, *, bare: bool = False) -> World:
    """The whole world; ``bare``: only the operator and the rivals (no market, no contests, no
    reward), for pages that need none, since the contests cost seconds a test."""
    uow = EngineUnitOfWork(database.sessions)
    # One password hash for everyone, tokens issued directly: Argon2 costs ~0.1 s a call.
    accounts = [NewAccount("operator", roles=frozenset({Role.OPERATOR}))]
    accounts += [NewAccount(f"rival{n}", f"Rival {n}") for n in range(4)]
    created = users.create_users(UsersUnitOfWork(database.sessions), accounts, password=PASSWORD)
    operator, *rivals = [_bearer(user, settings) for user in created]
    http = httpx.Client(base_url=url, timeout=30)
    if bare:
        return World(url, http, operator, {}, {}, {}, [], rivals)
    cn, us = _synthetic(uow, Market.CN, seed=11), _synthetic(uow, Market.US, seed=12)
    ok(
        http.post(
            "/v1/admin/rewards",
            json={"key": "salon-ticket", "name": "Salon ticket", "cost_points": 5, "stock": 3},
            headers=operator,
        ),
        201,
    )
    with uow.reading():
        days = uow.market.trading_days(cn + us, START, date(2100, 1, 1))
    cn_contest = _contest(
        http,
        operator,
        _season(http, operator, "CN", cn, days, name="A-share spring"),
        days,
        title="A-share cup",
        teams={"max_size": 3, "score": "mean"},
        pk={"round_bars": 2, "win": {"points": 30, "xp": 5}},
        prizes=[{"ranks": [1, 3], "points": 100, "xp": 20}],
    )
    us_season = _season(http, operator, "US", us, days, name="US spring")
    us_contest = _contest(http, operator, us_season, days, title="Wall Street sprint")
    private_contest = _contest(
        http, operator, us_season, days, title="Club night", private=True, invite_code=INVITE_CODE
    )
    for headers in rivals:
        ok(http.post(f"/v1/contests/{cn_contest['id']}/entries", json={}, headers=headers), 201)
    for captain, mate in ((0, 1), (2, 3)):
        team = ok(
            http.post(
                f"/v1/contests/{cn_contest['id']}/teams",
                json={"name": f"Rivals {captain // 2 + 1}"},
                headers=rivals[captain],
            ),
            201,
        )
        ok(
            http.post(
                f"/v1/teams/{team['id']}/members",
                json={"invite_code": team["invite_code"]},
                headers=rivals[mate],
            ),
            201,
        )
    return World(url, http, operator, cn_contest, us_contest, private_contest, cn, rivals)


def _synthetic(uow: EngineUnitOfWork, market: Market, *, seed: int) -> list[str]:
    found = install_synthetic(uow, market, count=5, seed=seed, start=START, days=BARS)  # type: ignore[arg-type]
    return [instrument.symbol for instrument in found]


def _bearer(user: User, settings: Settings) -> dict[str, str]:
    token, _ = issue_access_token(user, settings)
    return {"Authorization": f"Bearer {token}"}


def _season(
    http: httpx.Client,
    operator: dict[str, str],
    market: str,
    symbols: list[str],
    days: list[date],
    *,
    name: str,
) -> dict[str, Any]:
    today = date.today()
    body = {
        "name": name,
        "timezone": "Asia/Shanghai" if market == "CN" else "America/New_York",
        "starts_on": str(today - timedelta(days=1)),
        "ends_on": str(today + timedelta(days=120)),
        "market": market,
        "universe": symbols,
        "replay_start": str(days[0]),
        "replay_end": str(days[-1]),
    }
    return ok(http.post("/v1/admin/seasons", json=body, headers=operator), 201)  # type: ignore[no-any-return]


def _contest(
    http: httpx.Client,
    operator: dict[str, str],
    season: dict[str, Any],
    days: list[date],
    *,
    title: str,
    **settings: Any,
) -> dict[str, Any]:
    body = {
        "season_id": season["id"],
        "title": title,
        "trading_start": str(days[0]),
        "trading_end": str(days[-1]),
        "starting_cash": "1000000.00",
        "disclosures": DISCLOSURES_JSON,
        **settings,
    }
    return ok(http.post("/v1/admin/contests", json=body, headers=operator), 201)  # type: ignore[no-any-return]
