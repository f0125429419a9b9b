"""The complete schema: importing this registers every mapped table on ``Base.metadata``.

Alembic's env.py and the migration tests compare against it. Each package's store module
that maps tables must be imported here.
"""

import api.http.store  # noqa: F401
import contracts.store  # noqa: F401
import contracts.store_attestations  # noqa: F401
import core.audit.store  # noqa: F401
import core.integrity.store  # noqa: F401
import core.jobs.store  # noqa: F401
import core.member_events_store  # noqa: F401
import core.outbox_store  # noqa: F401
import core.page_cache_store  # noqa: F401
import core.privacy.store  # noqa: F401
import core.segments.store  # noqa: F401
import core.users.store  # noqa: F401
import engine.contests.store  # noqa: F401
import engine.contests.store_rules  # noqa: F401
import engine.integrity.store  # noqa: F401
import engine.leagues.store  # noqa: F401
import engine.market.store  # noqa: F401
import engine.market.store_intraday  # noqa: F401
import engine.trading.store  # noqa: F401
import ledger.campaigns.store  # noqa: F401
import ledger.quizzes.store  # noqa: F401
import ledger.store.balances  # noqa: F401
import ledger.store.engagement  # noqa: F401
import ledger.store.transfers  # noqa: F401
from core.db import Base

metadata = Base.metadata
