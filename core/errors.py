"""Domain exceptions. The API maps each family to one HTTP status and a problem+json body."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    title = "Request cannot be processed"
    slug = "domain-error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(DomainError):
    title = "Not found"
    slug = "not-found"


class Conflict(DomainError):
    """The request clashes with the current state (a taken name, a replay with other content)."""

    title = "Conflict"
    slug = "conflict"


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule; names the field and the rule."""

    title = "Rule violated"
    slug = "rule-violation"

    def __init__(self, detail: str, *, field: str, rule: str, **extensions: Any) -> None:
        super().__init__(detail, field=field, rule=rule, **extensions)
        self.field = field
        self.rule = rule


class Unauthenticated(DomainError):
    title = "Not authenticated"
    slug = "unauthenticated"


class PermissionDenied(DomainError):
    title = "Forbidden"
    slug = "forbidden"


class TooManyRequests(DomainError):
    """Too many attempts; carries ``retry_after`` (whole seconds to wait)."""

    title = "Too many requests"
    slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int, **extensions: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extensions)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency outside our control (a market-data source, a chain node) failed; retry later."""

    title = "Service unavailable"
    slug = "unavailable"
