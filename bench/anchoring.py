"""Batched anchoring of content certificates on the in-process eth-tester chain.

What one run measures (see ``bench/README.md``):

1. **Merkle build** — ``MerkleTree.of`` over 1 … 100,000 leaves, with proof size and the time
   to check one proof.
2. **Gas per certificate** — one ``anchor(root, count)`` costs the same whatever the batch
   holds, so batching divides it: measured gas per anchoring transaction at batch sizes
   1 (each piece anchored alone, the peer), 100, 1,000 and 10,000, scaled to ``--count``.
3. **End to end** — ``--count`` pieces registered through
   ``contracts.registration.register_content`` (normalization, hashes, MinHash/LSH
   near-duplicate lookup, compliance screening) on a
   temporary SQLite database, then anchored with ``anchor_pending`` in batches of ``--batch``;
   every piece must end up anchored and a sample of certificates must verify.
4. **Verification per certificate** — offline (content → leaf → root), the contract's
   ``verify`` by ``eth_call``, and the complete ``verify_certificate`` against the chain.

Run ``make bench-anchoring`` or ``python -m bench.anchoring [--count N] [--batch N]``.
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import sqlalchemy

from bench import harness
from bench.harness import BenchFailure
from contracts import anchoring, merkle, services
from contracts.certificates import Certificate, leaf_of
from contracts.chain import Chain, new_in_process_chain
from contracts.chain_reader import OnChainReader
from contracts.merkle import MerkleTree
from contracts.normalize import content_hashes
from contracts.registration import register_content
from contracts.registry import RegistryClient
from contracts.uow import ContentUnitOfWork
from contracts.verification import verify_certificate
from core import migrations
from core.db import Database
from core.users import services as users
from core.users.model import Role

BATCH_SIZES = (1, 100, 1_000, 10_000)
# Defaults of --count, --batch, --gas-samples and --verify-samples, without and with --quick.
FULL = {"count": 100_000, "batch": 10_000, "gas_samples": 20, "verify_samples": 200}
QUICK = {"count": 2_000, "batch": 1_000, "gas_samples": 5, "verify_samples": 50}
TREE_SIZES = (1, 100, 1_000, 10_000, 100_000)
WORDS_PER_PIECE = 120


@dataclass(frozen=True, slots=True)
class TreeFigure:
    leaves: int
    build_ms: float
    proof_elements: int  # of the longest proof
    proof_bytes: int
    verify_us: float  # one proof, in Python


@dataclass(frozen=True, slots=True)
class GasFigure:
    batch_size: int
    gas_per_tx: int  # median over the sample transactions
    gas_per_certificate: float
    transactions: int  # to anchor --count pieces
    total_gas: int
    ratio_to_alone: float  # gas per certificate anchored alone / here
    tx_per_second: float  # anchoring transactions per second on eth-tester (with receipt)


@dataclass(frozen=True, slots=True)
class EndToEnd:
    pieces: int
    register_seconds: float
    batches: int
    anchor_seconds: float
    total_gas: int

    @property
    def registrations_per_second(self) -> float:
        return self.pieces / self.register_seconds

    @property
    def pieces_anchored_per_second(self) -> float:
        return self.pieces / self.anchor_seconds


@dataclass(frozen=True, slots=True)
class VerifyFigure:
    sample: int
    offline_us: float  # content hash, leaf and proof: no chain
    contract_verify_ms: float  # the contract's verify(), one eth_call
    full_ms: float  # verify_certificate with every chain check


# --- 1. Merkle trees ---------------------------------------------------------------------------


def tree_figures(max_leaves: int, rng: random.Random) -> list[TreeFigure]:
    figures = []
    for size in (s for s in TREE_SIZES if s <= max(max_leaves, 1)):
        leaves = [rng.randbytes(32) for _ in range(size)]
        repeats = 3 if size >= 10_000 else 10
        _, build = harness.median_timed(partial(MerkleTree.of, leaves), repeats)
        tree = MerkleTree.of(leaves)
        proofs = [(tree.proof(i), leaves[i]) for i in rng.sample(range(size), min(size, 500))]
        started = time.perf_counter()
        for proof, leaf in proofs:
            if not merkle.verify(proof, tree.root, leaf):
                raise BenchFailure(f"a proof in the {size}-leaf tree does not verify")
        verify_us = (time.perf_counter() - started) / len(proofs) * 1e6
        longest = max(len(p) for p, _ in proofs)
        figures.append(TreeFigure(size, build * 1e3, longest, longest * 32, verify_us))
    return figures


# --- 2. gas per certificate --------------------------------------------------------------------


def gas_figures(count: int, samples: int, rng: random.Random) -> list[GasFigure]:
    registry = RegistryClient.deploy(new_in_process_chain())
    measured: dict[int, tuple[int, float]] = {}
    for size in BATCH_SIZES:
        gas, started = [], time.perf_counter()
        for _ in range(samples):
            gas.append(registry.anchor(rng.randbytes(32), size).gas_used)
        measured[size] = (int(statistics.median(gas)), samples / (time.perf_counter() - started))
    alone = measured[1][0]
    figures = []
    for size, (gas_per_tx, tx_per_second) in measured.items():
        transactions = math.ceil(count / size)
        figures.append(
            GasFigure(
                batch_size=size,
                gas_per_tx=gas_per_tx,
                gas_per_certificate=gas_per_tx / size,
                transactions=transactions,
                total_gas=transactions * gas_per_tx,
                ratio_to_alone=alone / (gas_per_tx / size),
                tx_per_second=tx_per_second,
            )
        )
    return figures


# --- 3. end to end -----------------------------------------------------------------------------


def piece_text(index: int, vocabulary: list[str], rng: random.Random) -> bytes:
    words = " ".join(rng.choice(vocabulary) for _ in range(WORDS_PER_PIECE))
    return f"Research note {index}. {words}.".encode()


def end_to_end(
    count: int, batch: int, chain: Chain, rng: random.Random, *, directory: Path
) -> tuple[EndToEnd, Database, RegistryClient, dict[int, bytes]]:
    """Register ``count`` pieces, anchor them in batches; returns the figures, the database
    (a SQLite file in ``directory``), the registry and every piece's content by id (the caller
    disposes of the database)."""
    database = Database.connect(f"sqlite:///{directory / 'content.db'}")
    migrations.upgrade(database.engine)
    author = users.create_user(
        users.UsersUnitOfWork(database.sessions),
        username="bench-author",
        password="bench password not secret",
        display_name="Bench",
        roles=[Role.AUTHOR],
    )
    vocabulary = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(5000)
    ]
    uow = ContentUnitOfWork(database.sessions)
    contents: dict[int, bytes] = {}
    started = time.perf_counter()
    for index in range(count):
        content = piece_text(index, vocabulary, rng)
        piece = register_content(
            uow, author.id, title=f"note {index}", content=content, content_type="text/plain"
        )
        contents[piece.id] = content
        _progress_every(index + 1, count, started, "registered")
    register_seconds = time.perf_counter() - started

    registry = RegistryClient.deploy(chain)
    batches, total_gas, started = 0, 0, time.perf_counter()
    while (anchored := anchoring.anchor_pending(uow, registry, limit=batch)) is not None:
        batches += 1
        total_gas += anchored.gas_used or 0
        print(
            f"  batch {anchored.id}: {anchored.count} pieces, {anchored.gas_used} gas", flush=True
        )
    anchor_seconds = time.perf_counter() - started
    with uow.reading():
        pending, _ = uow.batches.pending_summary()
    if pending:
        raise BenchFailure(f"{pending} pieces are still pending after anchoring")
    figures = EndToEnd(count, register_seconds, batches, anchor_seconds, total_gas)
    return figures, database, registry, contents


def _progress_every(done: int, total: int, started: float, what: str) -> None:
    if done % max(1, total // 10) == 0 or done == total:
        rate = done / (time.perf_counter() - started)
        print(f"  {what} {done:,}/{total:,} ({rate:,.0f}/s)", flush=True)


# --- 4. verification ---------------------------------------------------------------------------


def verify_figures(
    database: Database,
    registry: RegistryClient,
    contents: dict[int, bytes],
    sample: int,
    rng: random.Random,
) -> VerifyFigure:
    uow = ContentUnitOfWork(database.sessions)
    ids = rng.sample(sorted(contents), min(sample, len(contents)))
    certificates = [services.certificate(uow, i, author_id=None) for i in ids]
    pairs = [(c, contents[c.id]) for c in certificates]
    reader = OnChainReader(registry.chain)

    started = time.perf_counter()
    for certificate, content in pairs:
        _offline_ok(certificate, content)
    offline = (time.perf_counter() - started) / len(pairs)

    started = time.perf_counter()
    for certificate, _ in pairs:
        if not registry.verify(list(certificate.proof), certificate.root, certificate.leaf):
            raise BenchFailure(f"the contract rejects certificate {certificate.id}")
    on_chain = (time.perf_counter() - started) / len(pairs)

    started = time.perf_counter()
    for certificate, content in pairs:
        verdict = verify_certificate(certificate, content, reader)
        if not verdict.valid:
            raise BenchFailure(f"certificate {certificate.id} fails {verdict.failed}")
    full = (time.perf_counter() - started) / len(pairs)
    return VerifyFigure(len(pairs), offline * 1e6, on_chain * 1e3, full * 1e3)


def _offline_ok(certificate: Certificate, content: bytes) -> None:
    hashes = content_hashes(content, is_text=True)
    leaf = leaf_of(hashes.normalized, hashes.raw, certificate.salt, certificate.author_id)
    if leaf != certificate.leaf or not merkle.verify(certificate.proof, certificate.root, leaf):
        raise BenchFailure(f"certificate {certificate.id} fails offline")


# --- output ------------------------------------------------------------------------------------


def gas_table(figures: list[GasFigure], count: int) -> str:
    rows = [
        (
            "1 (alone)" if f.batch_size == 1 else f"{f.batch_size:,}",
            f"{f.gas_per_tx:,}",
            f"{f.gas_per_certificate:,.1f}",
            f"{f.transactions:,}",
            f"{f.total_gas:,}",
            harness.format_ratio(f.ratio_to_alone),
            f"{f.transactions / f.tx_per_second:,.1f}",
        )
        for f in figures
    ]
    header = (
        "batch",
        "gas/tx",
        "gas/cert",
        f"txs for {count:,}",
        "total gas",
        "vs alone",
        "chain s",
    )
    return harness.text_table(header, rows)


def tree_table(figures: list[TreeFigure]) -> str:
    rows = [
        (
            f"{f.leaves:,}",
            f"{f.build_ms:,.2f}",
            f"{f.proof_elements}",
            f"{f.proof_bytes:,}",
            f"{f.verify_us:,.1f}",
        )
        for f in figures
    ]
    return harness.text_table(("leaves", "build ms", "proof len", "proof bytes", "verify us"), rows)


def summary(e2e: EndToEnd, verify: VerifyFigure, alone: GasFigure) -> str:
    alone_seconds = e2e.pieces / alone.tx_per_second
    return "\n".join(
        [
            f"registered {e2e.pieces:,} pieces in {e2e.register_seconds:,.1f} s "
            f"({e2e.registrations_per_second:,.0f}/s, service path on SQLite)",
            f"anchored them in {e2e.batches} batches in {e2e.anchor_seconds:,.1f} s "
            f"({e2e.pieces_anchored_per_second:,.0f} pieces/s; tree, transaction, proofs stored), "
            f"{e2e.total_gas:,} gas = {e2e.total_gas / e2e.pieces:,.1f} gas per certificate",
            f"anchoring each alone: {alone.total_gas:,} gas, about {alone_seconds:,.0f} s of "
            f"eth-tester transactions: {alone.total_gas / max(e2e.total_gas, 1):,.0f}x the gas, "
            f"{alone_seconds / e2e.anchor_seconds:,.0f}x the time",
            f"verification per certificate ({verify.sample} sampled): offline "
            f"{verify.offline_us:,.0f} us, contract verify() {verify.contract_verify_ms:,.2f} ms, "
            f"complete with chain checks {verify.full_ms:,.2f} ms",
        ]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = harness.parser(
        "anchoring", __doc__, quick="a smaller run: the QUICK figures below by default"
    )
    parser.add_argument("--count", type=int, help="pieces to register and anchor (100,000)")
    parser.add_argument("--batch", type=int, help="pieces per anchor batch (10,000)")
    parser.add_argument("--gas-samples", type=int, help="anchors per batch size (20)")
    parser.add_argument("--verify-samples", type=int, help="certificates to verify (200)")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    for name, default in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.count < 1 or not 1 <= args.batch <= anchoring.MAX_BATCH:
        parser.error(f"--count >= 1 and --batch in 1..{anchoring.MAX_BATCH}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    plan = f"{args.count:,} pieces in batches of {args.batch:,}"
    bench_run = harness.Run.begin("anchoring", plan, quick=args.quick)
    try:
        trees = tree_figures(max(args.count, TREE_SIZES[-1]), rng)
        gas = gas_figures(args.count, args.gas_samples, rng)
        with tempfile.TemporaryDirectory(prefix="pl_bench_anchoring_") as directory:
            e2e, database, registry, contents = end_to_end(
                args.count, args.batch, new_in_process_chain(), rng, directory=Path(directory)
            )
            try:
                verify = verify_figures(database, registry, contents, args.verify_samples, rng)
            finally:
                database.dispose()
    except BenchFailure as failure:
        return harness.failed(failure)
    print("\nMerkle trees (OpenZeppelin StandardMerkleTree layout)")
    print(tree_table(trees))
    print(f"\nGas per certificate by batch size, for {args.count:,} certificates (eth-tester)")
    print(gas_table(gas, args.count))
    print()
    print(summary(e2e, verify, gas[0]))
    machine = harness.machine_info(
        sqlite=sqlite3.sqlite_version,
        sqlalchemy=sqlalchemy.__version__,
        keccak=merkle.keccak256.__module__,
    )
    payload = {
        "date": harness.now(),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine,
        "cpu_busy_before": None
        if bench_run.cpu_busy_before is None
        else round(bench_run.cpu_busy_before, 3),
        "merkle": [asdict(t) for t in trees],
        "gas": [asdict(g) for g in gas],
        "end_to_end": asdict(e2e)
        | {
            "registrations_per_second": round(e2e.registrations_per_second, 1),
            "pieces_anchored_per_second": round(e2e.pieces_anchored_per_second, 1),
        },
        "verification": asdict(verify),
        "wall_seconds": round(bench_run.wall_seconds, 1),
    }
    return bench_run.finish(args.output, payload)


if __name__ == "__main__":
    sys.exit(main())
