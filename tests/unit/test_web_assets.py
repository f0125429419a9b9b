"""The web UI's static parts: the vendored Chart.js is the pinned one, nothing loads from a CDN,
and both languages name every text the pages ask for."""

from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
VENDORED = WEB / "vendor" / "chart.umd.min.js"
LOCALES = WEB / "locales"
# t("page.key") with a literal key; template-literal keys (t(`state.${s}`)) are not checked.
STATIC_KEY = re.compile(r"""\bt\("([^"]+)"\s*[,)]""")
ENTRY = re.compile(r'^\s*"([^"]+)":\s*"', re.MULTILINE)


def _keys(locale: str) -> set[str]:
    return set(ENTRY.findall((LOCALES / f"{locale}.js").read_text(encoding="utf-8")))


def _sources() -> list[Path]:
    return [
        p for p in WEB.rglob("*.js") if {"node_modules", "vendor", "locales"}.isdisjoint(p.parts)
    ]


def test_vendored_chart_js_is_the_locked_version() -> None:
    lock = json.loads((WEB / "package-lock.json").read_text(encoding="utf-8"))
    locked = lock["packages"]["node_modules/chart.js"]["version"]
    banner = VENDORED.read_text(encoding="utf-8")[:200]
    assert f"Chart.js v{locked}" in banner, "the pin changed without `make web`"
    installed = WEB / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
    if installed.is_file():  # after `make web` the copy must be exact
        assert installed.read_bytes() == VENDORED.read_bytes()


def test_pages_load_nothing_from_other_hosts() -> None:
    for path in [WEB / "index.html", *_sources()]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", text), path
        assert not re.search(r"""import[^;]*["']https?://""", text), path


def test_both_languages_have_the_same_keys() -> None:
    english, chinese = _keys("en"), _keys("zh-CN")
    assert len(english) > 200
    assert english - chinese == set(), "missing in zh-CN"
    assert chinese - english == set(), "missing in en"


def test_every_literal_key_the_pages_use_is_translated() -> None:
    known = _keys("en")
    used = {key: path.name for path in _sources() for key in STATIC_KEY.findall(path.read_text())}
    assert len(used) > 100
    missing = {key: where for key, where in used.items() if key not in known}
    assert missing == {}


def test_every_value_the_api_sends_has_a_name() -> None:
    """Pages name enum values by key (`state.${contest.state}`): a new value needs its text."""
    from contracts.content import ReviewReason, ReviewStatus
    from engine.contests.model import ContestState
    from engine.leagues.model import Basis, Zone
    from engine.market.model import Market
    from engine.trading.orders import OrderStatus, OrderType, Reason, Side, TimeInForce
    from ledger.catalog import RedemptionStatus

    families = {
        "state": ContestState,
        "market": Market,
        "side": Side,
        "order_type": OrderType,
        "tif": TimeInForce,
        "status": OrderStatus,
        "rule": Reason,
        "redemption": RedemptionStatus,
        "review_status": ReviewStatus,
        "review_reason": ReviewReason,
        "league.zone": Zone,
        "league.basis": Basis,
    }
    known = _keys("en")
    missing = [f"{prefix}.{v.value}" for prefix, enum in families.items() for v in enum]
    assert [key for key in missing if key not in known] == []
