"""The season's fingerprint: SHA-256 over the final standings and the ledger's state, written as
canonical JSON (sorted keys, no spaces), so the same seed gives the same hex on every run.

Only what the seed decides goes in: standings, team standings, every ledger balance and the
number of transfers. Wall-clock values (a user's ``created_at``, a block's timestamp) and
random salts (content certificates) stay out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.model import AccountId, Asset, Balance


def season_digest(
    *,
    standings: Sequence[Sequence[Any]],
    team_standings: Sequence[Sequence[Any]],
    balances: Mapping[tuple[AccountId, Asset], Balance],
    transfers: int,
) -> str:
    """Hex SHA-256 of the canonical JSON of the season's outcome."""
    document = {
        "standings": [list(row) for row in standings],
        "team_standings": [list(row) for row in team_standings],
        "ledger": {
            "transfers": transfers,
            "balances": [
                [
                    account,
                    asset,
                    b.debits_posted,
                    b.credits_posted,
                    b.debits_pending,
                    b.credits_pending,
                ]
                for (account, asset), b in sorted(balances.items())
            ],
        },
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _totals(balance: Balance) -> list[int]:
    return [
        balance.debits_posted,
        balance.credits_posted,
        balance.debits_pending,
        balance.credits_pending,
    ]
