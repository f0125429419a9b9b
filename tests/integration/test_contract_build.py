"""The committed ContentRegistry build is what the pinned solcjs makes of the committed source."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.chains import NODE_MODULES, require_or_skip

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
BUILD = CONTRACTS / "build" / "ContentRegistry.json"


def _committed_build() -> dict[str, Any]:
    build: dict[str, Any] = json.loads(BUILD.read_text(encoding="utf-8"))
    return build


def test_committed_build_is_of_the_committed_source() -> None:
    source = (CONTRACTS / "ContentRegistry.sol").read_bytes()
    assert _committed_build()["sourceSha256"] == hashlib.sha256(source).hexdigest(), (
        "ContentRegistry.sol changed since the build was committed; run `make contracts`"
    )


def test_committed_build_names_the_locked_compiler() -> None:
    lock = json.loads((CONTRACTS / "package-lock.json").read_text(encoding="utf-8"))
    locked = lock["packages"]["node_modules/solc"]["version"]
    compiler = _committed_build()["compiler"]
    assert compiler["name"] == "solcjs"
    assert compiler["version"].startswith(f"{locked}+commit."), (locked, compiler["version"])
    assert compiler["settings"]["optimizer"] == {"enabled": True, "runs": 200}


def test_recompiling_with_the_pinned_solc_gives_the_committed_build(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_MODULES / "solc").is_dir():
        require_or_skip(
            f"node or solc is not installed ({NODE_MODULES}: npm ci --prefix contracts)"
        )
    fresh_path = tmp_path / "ContentRegistry.json"
    subprocess.run(
        [str(node), str(CONTRACTS / "compile.mjs"), "--out", str(fresh_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    fresh = json.loads(fresh_path.read_text(encoding="utf-8"))
    committed = _committed_build()
    assert fresh["bytecode"] == committed["bytecode"], "bytecode differs; run `make contracts`"
    assert fresh["deployedBytecode"] == committed["deployedBytecode"]
    assert fresh == committed
