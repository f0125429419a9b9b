"""Sign-up, tokens and the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from api.http.deps import CurrentUser, LedgerUow, SettingsDep, UsersUow
from api.http.problems import problem_doc
from api.http.schemas.common import MemberSignUpIn, ProfilePatch, TokenOut, UserOut
from api.http.security import issue_access_token
from core.errors import RuleViolation
from core.users import services
from ledger import engagement

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={409: problem_doc("Username taken")},
)
def sign_up(body: MemberSignUpIn, uow: UsersUow, ledger: LedgerUow) -> UserOut:
    """Create a member account, optionally referred by another member."""
    inviter = None
    if body.referral_code is not None:
        inviter = services.find_by_username(uow, body.referral_code)
        if inviter is None:
            raise RuleViolation(
                "no member has this referral code", field="referral_code", rule="known_member"
            )
    user = services.sign_up(
        uow, username=body.username, password=body.password, display_name=body.display_name
    )
    if inviter is not None:
        engagement.record_referral(ledger, invitee_id=user.id, inviter_id=inviter.id)
    return UserOut.of(user)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={401: problem_doc("Wrong username or password")},
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], uow: UsersUow, settings: SettingsDep
) -> TokenOut:
    """Exchange username and password (OAuth2 password form) for a bearer token."""
    user = services.authenticate(uow, username=form.username, password=form.password)
    access_token, expires_in = issue_access_token(user.id, settings)
    return TokenOut(access_token=access_token, expires_in=expires_in)


@router.get("/me", response_model=UserOut, responses={401: problem_doc("Not authenticated")})
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.of(user)


@router.patch(
    "/me",
    response_model=UserOut,
    responses={401: problem_doc("Not authenticated"), 422: problem_doc("Invalid setting")},
)
def update_me(body: ProfilePatch, user: CurrentUser, uow: UsersUow) -> UserOut:
    """Change your settings (rank history public or private)."""
    return UserOut.of(
        services.update_profile(uow, user.id, rank_history_public=body.rank_history_public)
    )
