"""Persistence of the ledger (the only place in ``ledger/`` that knows SQLAlchemy).

``transfers`` and ``balances`` map the hash chains and the derived balances, ``repository``
reads and writes them under the locks of the shard heads (``ledger.shards``), ``engagement``
maps and reads levels, earning rules, check-ins, tasks, referrals, the catalog and
redemptions. Callers import from those modules.
"""
