"""The ledger's use cases: this package's public interface, for callers outside ``ledger/``.

The names below are what the API, the engine, the simulation and the benchmarks call
(``services.transfer(uow, …)``); each lives in the module that owns it, and code inside
``ledger/`` imports from that module:

- ``unit_of_work``: ``LedgerUnitOfWork``;
- ``transfers``: ``transfer``, ``submit``, ``submit_each``, ``reverse``, and for services
  composing ledger writes with their own, ``append``, ``record_failures``, ``LedgerRefusal``;
- ``expiry``: ``expire_holds``, ``expire_points``;
- ``balances``: ``balance``, ``balance_at``, ``history``, ``trial_balance``;
- ``verification``: ``verify`` (all invariants together: ``ledger.checks.run_checks``);
- ``roots``: ``seal_root`` (a seal over every shard chain's head, ``Root``).

``Balance`` and ``Transfer`` (from ``ledger.model``) are listed as the values these return.
"""

from ledger.model import Balance, Transfer
from ledger.services.balances import TrialBalance, balance, balance_at, history, trial_balance
from ledger.services.expiry import expire_holds, expire_points
from ledger.services.roots import Root, seal_root
from ledger.services.transfers import (
    LedgerRefusal,
    append,
    record_failures,
    reverse,
    submit,
    submit_each,
    transfer,
)
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.services.verification import VerifyReport, verify

__all__ = [
    "Balance",
    "LedgerRefusal",
    "LedgerUnitOfWork",
    "Transfer",
    "Root",
    "TrialBalance",
    "VerifyReport",
    "append",
    "balance",
    "balance_at",
    "expire_holds",
    "expire_points",
    "history",
    "record_failures",
    "reverse",
    "seal_root",
    "submit",
    "submit_each",
    "transfer",
    "trial_balance",
    "verify",
]
