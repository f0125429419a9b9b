from pathlib import Path

import pytest
from pydantic import ValidationError

from core.config import DEFAULT_DATABASE_URL, DEVELOPMENT_SECRET, Settings

STRONG = "s" * 40


def test_defaults_are_an_embedded_development_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPERLEAGUE_DATABASE_URL", "PAPERLEAGUE_ENVIRONMENT", "PAPERLEAGUE_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.environment == "development"
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.is_sqlite
    assert settings.jwt_secret is None  # generated on first start (core/signing.py)


def test_reads_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERLEAGUE_DATABASE_URL", "postgresql+psycopg://u@db/paper")
    monkeypatch.setenv("PAPERLEAGUE_ENVIRONMENT", "production")
    monkeypatch.setenv("PAPERLEAGUE_JWT_SECRET", STRONG)
    monkeypatch.setenv("PAPERLEAGUE_MAX_BODY_BYTES", "4096")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db/paper"
    assert settings.max_body_bytes == 4096
    assert not settings.is_sqlite


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize("secret", ["", "changeme", "change-me", "secret", DEVELOPMENT_SECRET])
def test_placeholder_secret_refused_in_every_environment(environment: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="PAPERLEAGUE_JWT_SECRET"):
        Settings(environment=environment, jwt_secret=secret)  # type: ignore[arg-type]


def test_short_secret_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(environment="production", jwt_secret="x" * 31)  # type: ignore[arg-type]


def test_short_secret_refused_in_development_too() -> None:
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(environment="development", jwt_secret="x" * 31)  # type: ignore[arg-type]


def test_production_needs_a_configured_secret() -> None:
    with pytest.raises(ValidationError, match="PAPERLEAGUE_JWT_SECRET is not set"):
        Settings(environment="production")


def test_an_unset_secret_is_left_to_be_generated_outside_production() -> None:
    settings = Settings(environment="development")
    assert settings.jwt_secret is None
    with pytest.raises(RuntimeError, match="no signing secret"):
        settings.signing_secret()


@pytest.mark.parametrize(
    "url,directory",
    [
        ("sqlite:///./paperleague.db", Path(".")),
        ("sqlite:////srv/paper/league.db", Path("/srv/paper")),
        ("sqlite+pysqlite:///data/x.db?timeout=5", Path("data")),
        ("sqlite://", Path(".")),
        ("sqlite:///:memory:", Path(".")),
        ("postgresql+psycopg://u@h/db", Path(".")),
    ],
)
def test_data_directory_defaults_next_to_the_sqlite_file(url: str, directory: Path) -> None:
    assert Settings(database_url=url).data_directory == directory
    chosen = Settings(database_url=url, data_dir=Path("/var/lib/paperleague"))
    assert chosen.data_directory == Path("/var/lib/paperleague")


def test_real_secret_accepted_and_hidden_in_repr() -> None:
    settings = Settings(environment="production", jwt_secret=STRONG)  # type: ignore[arg-type]
    assert STRONG not in repr(settings)


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/x", "postgresql://u@h/db", "postgresql+psycopg2://u@h/db"]
)
def test_unsupported_database_urls_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="psycopg 3"):
        Settings(database_url=url)


def test_unknown_environment_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(environment="staging")  # type: ignore[arg-type]
