"""``submit_each`` applies its groups as ``submit`` one call after another would, in one
transaction: the same transfers, the same refusals, the same ids recorded as failed.

Two worlds (their own transfer ids and member accounts) live through the same requests: one
call by call, the other in one ``submit_each``.
"""

from itertools import count

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from ledger import services
from ledger.model import ISSUANCE, POINTS, Transfer, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork

MEMBERS = 3
WORLD_OFFSET = {"a": 1000, "b": 2000}

# A transfer: (id index, debit, credit, amount); an account index of -1 is the issuer.
transfers = st.tuples(
    st.integers(0, 4),
    st.integers(-1, MEMBERS - 1),
    st.integers(-1, MEMBERS - 1),
    st.integers(1, 60),
)
groups = st.lists(st.lists(transfers, min_size=1, max_size=2), min_size=1, max_size=6)


def _account(world: str, index: int) -> str:
    return ISSUANCE if index < 0 else points_account(WORLD_OFFSET[world] + index)


def _request(world: str, example: int, spec: tuple[int, int, int, int]) -> TransferRequest:
    id_index, debit, credit, amount = spec
    return TransferRequest(
        id=f"{world}:{example}:{id_index}",
        debit=_account(world, debit),
        credit=_account(world, credit),
        asset=POINTS,
        amount=amount,
        reason="transfer",
    )


def _seen(outcome: list[Transfer] | DomainError, world: str) -> object:
    """An outcome without the world's names, so the two worlds compare."""
    if isinstance(outcome, DomainError):
        return (type(outcome).__name__, outcome.extensions.get("rule"))
    return [(t.id.split(":", 1)[1], t.amount, t.kind) for t in outcome]


def test_submit_each_is_submit_one_call_after_another(ledger_uow: LedgerUnitOfWork) -> None:
    examples = count()

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(groups)
    # Every refusal the coverage check below asks for, whatever the generated examples hit:
    # an id reused with other accounts, an overdraft, and the overdraft's id again.
    @example([[(0, -1, 0, 10)], [(0, -1, 1, 10)], [(1, 0, 1, 50)], [(1, 0, 1, 50)]])
    def check(specs: list[list[tuple[int, int, int, int]]]) -> None:
        example = next(examples)
        one_by_one: list[list[Transfer] | DomainError] = []
        for group in specs:
            try:
                one_by_one.append(
                    services.submit(ledger_uow, [_request("a", example, s) for s in group])
                )
            except DomainError as refusal:
                one_by_one.append(refusal)
        together = services.submit_each(
            ledger_uow, [[_request("b", example, s) for s in group] for group in specs]
        )
        assert [_seen(o, "b") for o in together] == [_seen(o, "a") for o in one_by_one]
        with ledger_uow.reading():
            for member in range(MEMBERS):
                a, b = (
                    ledger_uow.ledger.balances_of([(_account(w, member), POINTS)])[
                        (_account(w, member), POINTS)
                    ]
                    for w in ("a", "b")
                )
                assert (a.debits_posted, a.credits_posted) == (b.debits_posted, b.credits_posted)
            failed = {
                w: {
                    i.split(":", 2)[2]: row.code
                    for i, row in ledger_uow.ledger.failures_by_id(
                        f"{w}:{example}:{n}" for n in range(5)
                    ).items()
                }
                for w in ("a", "b")
            }
        assert failed["a"] == failed["b"]
        made.update(type(o).__name__ for o in together if isinstance(o, DomainError))

    made: set[str] = set()

    check()
    assert services.verify(ledger_uow).ok
    assert {"InsufficientFunds", "TransferExists", "IdAlreadyFailed"} <= made, made
