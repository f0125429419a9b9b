"""Operators manage accounts: list users, create operators and authors, change roles."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import IdPath, OperatorUser, PageParams, UsersUow
from api.http.problems import problem_doc
from api.http.schemas.common import CreateUserIn, Page, RolesIn, UserOut
from core.pagination import decode_cursor, encode_cursor
from core.users import services

router = APIRouter(
    prefix="/admin/users",
    tags=["admin"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Operators only"),
    },
)


@router.get("", response_model=Page[UserOut])
def list_users(_: OperatorUser, uow: UsersUow, page: PageParams) -> Page[UserOut]:
    """All users, oldest first."""
    users, last = services.list_users(uow, after=decode_cursor(page.cursor), limit=page.limit)
    return Page(
        items=[UserOut.of(u) for u in users],
        next_cursor=None if last is None else encode_cursor(last),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={409: problem_doc("Username taken, or Idempotency-Key conflict")},
)
@audited("user.create", subject="user:{result.id}", state=states.user)
def create_user(body: CreateUserIn, _: OperatorUser, uow: UsersUow) -> UserOut:
    """Create a user with any roles (e.g. another operator, or an author)."""
    user = services.create_user(
        uow,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        roles=body.roles,
    )
    return UserOut.of(user)


@router.put(
    "/{user_id}/roles", response_model=UserOut, responses={404: problem_doc("No such user")}
)
@audited("user.set_roles", subject="user:{user_id}", state=states.user)
def set_roles(user_id: IdPath, body: RolesIn, _: OperatorUser, uow: UsersUow) -> UserOut:
    """Replace a user's roles."""
    return UserOut.of(services.set_roles(uow, user_id, body.roles))
