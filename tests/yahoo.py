"""An offline Yahoo Finance: a curl_cffi session that replays recorded HTTP responses.

yfinance runs unchanged on top of it (cookie and crumb handshake, retries with the other
cookie strategy, the timezone lookup, JSON parsing, frame building); only the network is
replaced, at ``Session.request``. Fixtures in tests/fixtures/yfinance/ are whole HTTP
responses (status, headers, body) in Yahoo's v8 chart format. Like Yahoo, the chart endpoint
keeps only the sessions inside ``[period1, period2)``.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from curl_cffi.requests import Response, Session
from curl_cffi.requests.headers import Headers

from engine.market.yfinance_source import YFinanceSource

FIXTURES = Path(__file__).parent / "fixtures" / "yfinance"


def recorded(name: str) -> dict[str, Any]:
    """A recorded response: ``{"status": int, "headers": {...}, "body": json or text}``."""
    recording: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return recording


def offline_source(
    charts: dict[str, list[dict[str, Any]]], cache_dir: Path, **options: Any
) -> tuple[YFinanceSource, FakeYahoo]:
    """A ``YFinanceSource`` on a ``FakeYahoo``, with yfinance's process-wide response cache
    emptied (it would otherwise answer from an earlier test's recordings)."""
    from yfinance.data import YfData

    YfData.cache_get.cache_clear()
    fake = FakeYahoo(charts)
    return YFinanceSource(session=fake, cache_dir=cache_dir, **options), fake


@dataclass
class Call:
    method: str
    url: str
    params: dict[str, Any]


class FakeYahoo(Session):
    """Serves ``charts[symbol]``: a list of recorded responses used in turn, the last one
    repeating. Every request is recorded in ``calls``."""

    def __init__(self, charts: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.charts = {symbol.upper(): list(responses) for symbol, responses in charts.items()}
        self.calls: list[Call] = []
        self.served: dict[str, int] = defaultdict(int)

    def request(self, method: str, url: str, params: Any = None, **_: Any) -> Response:  # type: ignore[override]
        params = dict(params or {})
        self.calls.append(Call(method, url, params))
        parts = urlsplit(url)
        if parts.netloc == "fc.yahoo.com":
            return _response(url, 404, {"content-type": "text/html"}, "<html>404</html>")
        if parts.path.endswith("/v1/test/getcrumb"):
            return _response(url, 200, {"content-type": "text/plain"}, "offline-crumb")
        if "/v8/finance/chart/" in parts.path:
            return self._chart(url, parts.path.rsplit("/", 1)[-1].upper(), params)
        if "/quoteSummary/" in parts.path:
            symbol = parts.path.rsplit("/", 1)[-1].upper()
            response = _from_recording(url, recorded("quote_not_found.json"))
            response.content = response.content.replace(b"ZZZNOPE", symbol.encode())
            return response
        return _response(url, 404, {"content-type": "text/html"}, "<html>not found</html>")

    def chart_calls(self, symbol: str) -> list[Call]:
        return [c for c in self.calls if c.url.endswith(f"/v8/finance/chart/{symbol.upper()}")]

    def _chart(self, url: str, symbol: str, params: dict[str, Any]) -> Response:
        responses = self.charts.get(symbol) or [recorded("delisted_chart.json")]
        index = min(self.served[symbol], len(responses) - 1)
        self.served[symbol] += 1
        recording = responses[index]
        if recording["status"] == 200 and "period1" in params:
            recording = _within(recording, int(params["period1"]), int(params["period2"]))
        return _from_recording(url, recording)


def _within(recording: dict[str, Any], period1: int, period2: int) -> dict[str, Any]:
    """The recorded chart cut to sessions in [period1, period2), as Yahoo answers a range."""
    recording = copy.deepcopy(recording)
    result = recording["body"]["chart"]["result"][0]
    keep = [i for i, ts in enumerate(result.get("timestamp", [])) if period1 <= ts < period2]
    if not keep:  # Yahoo's answer for a range without sessions: meta only
        result.pop("timestamp", None)
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return recording
    result["timestamp"] = [result["timestamp"][i] for i in keep]
    for block in ("quote", "adjclose"):
        for series in result["indicators"].get(block, []):
            for key, values in series.items():
                series[key] = [values[i] for i in keep]
    return recording


def _from_recording(url: str, recording: dict[str, Any]) -> Response:
    body = recording["body"]
    text = body if isinstance(body, str) else json.dumps(body)
    return _response(url, recording["status"], recording["headers"], text)


def _response(url: str, status: int, headers: dict[str, str], text: str) -> Response:
    response = Response()
    response.url = url
    response.status_code = status
    response.ok = 200 <= status < 400
    response.reason = "OK" if response.ok else "Error"
    response.headers = Headers(headers)
    response.content = text.encode()
    return response
