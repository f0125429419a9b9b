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


def test_reads_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERLEAGUE_DATABASE_URL", "postgresql+psycopg://u@db/paper")
    monkeypatch.setenv("PAPERLEAGUE_ENVIRONMENT", "production")
    monkeypatch.setenv("PAPERLEAGUE_JWT_SECRET", STRONG)
    monkeypatch.setenv("PAPERLEAGUE_MAX_BODY_BYTES", "4096")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db/paper"
    assert settings.max_body_bytes == 4096
    assert not settings.is_sqlite


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize("secret", ["", "changeme", "change-me", "secret", DEVELOPMENT_SECRET])
def test_placeholder_secret_refused_outside_development(environment: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="PAPERLEAGUE_JWT_SECRET"):
        Settings(environment=environment, jwt_secret=secret)  # type: ignore[arg-type]


def test_short_secret_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="shorter than 32"):
        Settings(environment="production", jwt_secret="x" * 31)  # type: ignore[arg-type]


def test_placeholder_secret_allowed_in_development() -> None:
    settings = Settings(environment="development")
    assert settings.jwt_secret.get_secret_value() == DEVELOPMENT_SECRET


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
