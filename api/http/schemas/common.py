"""Request and response bodies (Pydantic), kept apart from the ORM and the domain records."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
)
from pydantic_core import PydanticCustomError

from core.errors import RuleViolation
from core.users.model import (
    Role,
    User,
    check_password,
    normalize_display_name,
    normalize_username,
)

T = TypeVar("T")
_NUMBER = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")


def _iso_text(kind: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise PydanticCustomError(f"{kind}_type", f"Input should be an ISO 8601 {kind}")
        return value

    return check


# Dates and times travel as ISO 8601 text, as the schema says. Pydantic alone would also read a
# number, or a string of digits, as Unix seconds: ``0`` would be 1970-01-01.
Day = Annotated[date, BeforeValidator(_iso_text("date"))]
Moment = Annotated[datetime, BeforeValidator(_iso_text("datetime"))]
# An instant that must carry its offset (a naive one is refused: ``timezone_aware``).
AwareMoment = Annotated[AwareDatetime, BeforeValidator(_iso_text("datetime"))]


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


def domain_rule(check: Callable[[str], str]) -> AfterValidator:
    """Run a domain check during parsing, so every broken field is reported at once, each
    under the domain's own rule name."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except RuleViolation as exc:
            raise PydanticCustomError(exc.rule, exc.detail) from exc

    return AfterValidator(validate)


Username = Annotated[str, Field(max_length=64, examples=["alice"]), domain_rule(normalize_username)]
Password = Annotated[str, Field(max_length=256), domain_rule(check_password)]
DisplayName = Annotated[
    str, Field(max_length=256, examples=["Alice"]), domain_rule(normalize_display_name)
]


class SignUpIn(BaseModel):
    username: Username
    password: Password
    display_name: DisplayName


class MemberSignUpIn(SignUpIn):
    referral_code: str | None = Field(
        default=None, max_length=64, description="The inviting member's username"
    )


class CreateUserIn(SignUpIn):
    roles: list[Role] = Field(min_length=1, max_length=3, examples=[["operator"]])


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: Password


class RolesIn(BaseModel):
    roles: list[Role] = Field(min_length=1, max_length=3)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[Role]
    created_at: datetime
    rank_history_public: bool = Field(
        description="Whether other members may read your rank history (operators always may)"
    )

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=sorted(user.roles),
            created_at=user.created_at,
            rank_history_public=user.rank_history_public,
        )


class ProfilePatch(BaseModel):
    """Your settings to change; absent fields stay (null is refused: a setting has no "none")."""

    model_config = ConfigDict(extra="forbid")

    rank_history_public: StrictBool | None = Field(
        default=None, description="false: others get 404 for your rank history"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_null", "may be left out, but not null")
        return value


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    revision: str | None
    head: str | None
