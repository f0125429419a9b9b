"""Sign-up, tokens and the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from api.http.deps import (
    ClientAddress,
    ClientSignalDep,
    CurrentUser,
    LedgerUow,
    SettingsDep,
    SignInLimitsDep,
    UsersUow,
)
from api.http.problems import problem_doc, too_many_doc
from api.http.schemas.common import (
    MemberSignUpIn,
    PasswordChangeIn,
    ProfilePatch,
    TokenOut,
    UserOut,
)
from api.http.security import issue_access_token
from core.config import Settings
from core.errors import RuleViolation
from core.users import services
from core.users.model import User
from ledger import engagement

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={409: problem_doc("Username taken")},
)
def sign_up(
    body: MemberSignUpIn, uow: UsersUow, ledger: LedgerUow, signal: ClientSignalDep
) -> UserOut:
    """Create a member account, optionally referred by another member (send `X-Device-Id`)."""
    inviter = None
    if body.referral_code is not None:
        inviter = services.find_by_username(uow, body.referral_code)
        if inviter is None:
            raise RuleViolation(
                "no member has this referral code", field="referral_code", rule="known_member"
            )
    user = services.sign_up(
        uow,
        username=body.username,
        password=body.password,
        display_name=body.display_name,
        signal=signal,
    )
    if inviter is not None:
        engagement.record_referral(ledger, invitee_id=user.id, inviter_id=inviter.id)
    return UserOut.of(user)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={
        401: problem_doc("Wrong username or password"),
        429: too_many_doc("Too many failed sign-ins for the username or from the address"),
    },
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    response: Response,
    uow: UsersUow,
    settings: SettingsDep,
    limits: SignInLimitsDep,
    address: ClientAddress,
    signal: ClientSignalDep,
) -> TokenOut:
    """Exchange username and password (OAuth2 password form) for a bearer token.

    Failed attempts are limited per username and per client address (429 with Retry-After)."""
    user = services.authenticate(
        uow,
        username=form.username,
        password=form.password,
        address=address,
        limits=limits,
        signal=signal,
    )
    return _token_out(user, settings, response)


def _token_out(user: User, settings: Settings, response: Response) -> TokenOut:
    """A token answer; never stored by a cache (RFC 6749 §5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    access_token, expires_in = issue_access_token(user, settings)
    return TokenOut(access_token=access_token, expires_in=expires_in)


@router.post(
    "/auth/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={401: problem_doc("Not authenticated")},
)
def logout_all(user: CurrentUser, uow: UsersUow) -> Response:
    """Sign out everywhere: every token issued to you so far, this one too, stops working."""
    services.revoke_tokens(uow, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/me/password",
    response_model=TokenOut,
    responses={
        401: problem_doc("Not authenticated"),
        429: too_many_doc("Too many failed sign-ins for the username or from the address"),
    },
)
def change_password(
    body: PasswordChangeIn,
    response: Response,
    user: CurrentUser,
    uow: UsersUow,
    settings: SettingsDep,
    limits: SignInLimitsDep,
    address: ClientAddress,
) -> TokenOut:
    """Change your password; every earlier token stops working, and a new one is returned."""
    changed = services.change_password(
        uow,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
        address=address,
        limits=limits,
    )
    return _token_out(changed, settings, response)


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
