"""Every operator action is audited: ``@audited(action, subject=…, state=…)`` on a route.

The decorated route runs as before; when it returns (the action succeeded and committed), one
entry is appended to the audit log (``core.audit``) naming the operator, the action, the
subject, a summary of the request (secrets redacted) and the subject's state before and after.
A refused action (the route raises: 4xx) writes nothing. The entry is its own transaction,
right after the action's: the services own their transactions (some commit several times),
so the two cannot share one. Should that write fail, the entry is logged at CRITICAL on
``paperleague.audit`` and the route still answers its result (the action took effect).

``subject`` is a template over the route's parameters (``"contest:{contest_id}"``,
``"member:{body.member_id}"``) or, for a creation, over its result (``"season:{result.id}"``:
nothing existed before). ``state(database, key)`` reads the subject's state as JSON (``key``:
the subject after its first ``:``); without it, ``after`` is the route's result.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel

from core.audit.model import AuditDraft, JsonValue, redacted
from core.audit.services import AuditUnitOfWork, as_json, record
from core.config import Settings
from core.db import Database
from core.errors import DomainError
from core.hashchain import canonical_json
from core.users.model import User

logger = logging.getLogger("paperleague.audit")

StateReader = Callable[[Database, str], JsonValue]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

AUDIT_SPEC = "__audit_spec__"
_REQUEST = "audit_request_"  # the parameter the decorator adds; FastAPI fills it with the Request


@dataclass(frozen=True, slots=True)
class AuditSpec:
    action: str  # "contest.update": dotted lower-case words
    subject: str  # a template over the route's parameters, or over ``result``
    state: StateReader | None = None

    @property
    def names_result(self) -> bool:
        return "{result" in self.subject


def audited(
    action: str, *, subject: str, state: StateReader | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Decorate a (synchronous) route so that each success appends an audit entry."""
    spec = AuditSpec(action, subject, state)
    AuditDraft(actor_id=None, action=action, subject=subject)  # refuses a malformed action now

    def wrap(endpoint: Endpoint) -> Endpoint:
        if inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"@audited takes synchronous routes; {endpoint.__name__} is async")
        signature = inspect.signature(endpoint, eval_str=True)
        request = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)

        @functools.wraps(endpoint)
        def audited_endpoint(**kwargs: Any) -> Any:
            return _run(spec, endpoint, kwargs.pop(_REQUEST), kwargs)

        # FastAPI reads the parameters from ``__signature__``: the route's own, plus the request.
        audited_endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), request]
        )
        setattr(audited_endpoint, AUDIT_SPEC, spec)
        return audited_endpoint  # type: ignore[return-value]

    return wrap


def audit_spec(endpoint: Callable[..., Any]) -> AuditSpec | None:
    """The audit declaration of a route's endpoint, if it has one."""
    return getattr(endpoint, AUDIT_SPEC, None)


def _run(
    spec: AuditSpec, endpoint: Callable[..., Any], request: Request, kwargs: dict[str, Any]
) -> Any:
    database: Database = request.app.state.database
    subject = None if spec.names_result else spec.subject.format(**kwargs)
    before = None if subject is None else _state(spec, database, subject)
    result = endpoint(**kwargs)  # raises on refusal: nothing is recorded
    try:
        _record(spec, database, request, kwargs, before=before, result=result)
    except Exception:  # the action took effect: a 500 would invite a retry that repeats it
        logger.critical(
            "audit entry lost: %s %s", spec.action, _lost(request, kwargs), exc_info=True
        )
    return result


def _lost(request: Request, kwargs: Mapping[str, Any]) -> str:
    """What the log can still say of an entry that could not be written (secrets redacted)."""
    try:
        return canonical_json(_summary(request, kwargs))
    except Exception:  # the summary itself failed: the method and path at least
        return f"{request.method} {request.url.path}"


def _record(
    spec: AuditSpec,
    database: Database,
    request: Request,
    kwargs: dict[str, Any],
    *,
    before: JsonValue,
    result: Any,
) -> None:
    subject = spec.subject.format(**kwargs, result=result)
    after = _state(spec, database, subject) if spec.state is not None else _json(result)
    draft = AuditDraft(
        actor_id=_actor(kwargs),
        action=spec.action,
        subject=subject,
        request=_summary(request, kwargs),
        before=before,
        after=after,
    )
    record(AuditUnitOfWork(database.sessions), draft)


def _state(spec: AuditSpec, database: Database, subject: str) -> JsonValue:
    if spec.state is None:
        return None
    try:
        return _json(spec.state(database, subject.partition(":")[2]))
    except DomainError:  # the subject does not exist (yet, or any more)
        return None


def _actor(kwargs: Mapping[str, Any]) -> int | None:
    return next((value.id for value in kwargs.values() if isinstance(value, User)), None)


def _summary(request: Request, kwargs: Mapping[str, Any]) -> JsonValue:
    """Method, path, request id and the route's own parameters (bodies, path and query
    values); services, units of work, the app's settings (a database URL holds its password)
    and the operator are left out, secrets redacted."""
    params = {name: _json(value) for name, value in kwargs.items() if _is_param(value)}
    return {
        "method": request.method,
        "path": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        "params": redacted(params),
    }


def _is_param(value: Any) -> bool:
    """Whether a route argument is a request parameter (a body, a path or query value)."""
    if isinstance(value, Settings):  # a dependency, and a BaseModel too
        return False
    return value is None or isinstance(value, BaseModel | str | int | float | date)


def _json(value: Any) -> JsonValue:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    return as_json(value)
