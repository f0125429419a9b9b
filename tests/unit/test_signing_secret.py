"""The generated token signing secret: created once, private, shared by every process."""

from __future__ import annotations

import logging
import multiprocessing
import stat
from pathlib import Path

import pytest

from core import signing
from core.config import DEVELOPMENT_SECRET, Settings
from core.signing import SECRET_FILE, SigningSecretError, load_or_create_secret, with_signing_secret


def test_an_unset_secret_is_generated_once_private_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'league.db'}")
    with caplog.at_level(logging.WARNING, logger="paperleague.security"):
        first = with_signing_secret(settings)
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = first.signing_secret()
    assert len(secret) >= 32 and secret != DEVELOPMENT_SECRET
    assert [r.getMessage() for r in caplog.records if "generated a new token" in r.getMessage()]
    assert str(path.resolve()) in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="paperleague.security"):
        again = with_signing_secret(settings)
    assert again.signing_secret() == secret  # tokens survive a restart
    assert caplog.records == []


def test_the_data_directory_setting_holds_the_secret(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://u@h/db", data_dir=tmp_path / "state")
    secret = with_signing_secret(settings).signing_secret()
    assert (tmp_path / "state" / SECRET_FILE).read_text().strip() == secret


def test_a_configured_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, jwt_secret="k" * 40)  # type: ignore[arg-type]
    assert with_signing_secret(settings).signing_secret() == "k" * 40
    assert list(tmp_path.iterdir()) == []


def _secret_of(path: str) -> str:
    return load_or_create_secret(Path(path))


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    path = str(tmp_path / SECRET_FILE)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        secrets = pool.map(_secret_of, [path] * 8)
    assert len(set(secrets)) == 1
    assert Path(path).read_text().strip() == secrets[0]


def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / SECRET_FILE
    load_or_create_secret(path)
    path.chmod(0o644)
    with pytest.raises(SigningSecretError, match="chmod 600"):
        load_or_create_secret(path)


@pytest.mark.parametrize("content", [DEVELOPMENT_SECRET + "\n", "short\n"])
def test_a_weak_secret_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / SECRET_FILE
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(SigningSecretError, match="placeholder or shorter"):
        load_or_create_secret(path)


def test_an_incomplete_secret_file_is_refused_after_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signing, "READ_BACK_SECONDS", 0.1)
    path = tmp_path / SECRET_FILE
    path.write_text("x" * 40)  # no newline: its writer died half-way
    path.chmod(0o600)
    with pytest.raises(SigningSecretError, match="incomplete"):
        load_or_create_secret(path)
