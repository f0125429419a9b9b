"""Persistence of the ledger (the only place in ``ledger/`` that knows SQLAlchemy).

``transfers`` and ``balances`` map the hash chain and the derived balances, ``repository`` reads
and writes them under the chain-head lock, ``engagement`` maps and reads levels, earning rules,
check-ins, tasks, referrals, the catalog and redemptions. Callers import from those modules.
"""
