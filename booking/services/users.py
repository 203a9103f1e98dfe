"""User use cases. Passwords arrive already hashed (`vks/auth` hashes and verifies them);
the domain stores the hash and turns a user into the `Principal` the services take."""

from __future__ import annotations

from dataclasses import replace

from booking.access import Action, Principal, Role, authorize
from booking.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from booking.paging import Page, collection_page
from booking.repository import UnitOfWork
from booking.services.lookups import Lookups
from booking.users import User


def add_user(uow: UnitOfWork, principal: Principal, user: User) -> User:
    """Only the RCC creates users (and service accounts); the role must exist and the
    organisation must be known."""
    authorize(principal, Action.MANAGE_REGION)
    if not user.username.strip():
        raise InvalidInput("a user needs a username", field="username")
    try:
        role = Role(user.role)
    except ValueError:
        raise InvalidInput(f"unknown role {user.role!r}", field="role") from None
    with uow:
        Lookups(uow).org(user.org_id)
        if uow.users.get(user.id) is not None:
            raise Conflict(f"user {user.id} already exists", id=user.id)
        if uow.users.by_username(user.username) is not None:
            raise Conflict(f"username {user.username!r} is taken", username=user.username)
        stored = replace(user, role=role, version=1)
        uow.users.add(stored)
        uow.commit()
        return stored


def set_user_active(uow: UnitOfWork, principal: Principal, user_id: str, active: bool) -> User:
    authorize(principal, Action.MANAGE_REGION)
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound(f"unknown user {user_id}")
        user.active = active
        user.version += 1
        uow.users.update(user)
        uow.commit()
        return user


def find_user(uow: UnitOfWork, username: str) -> User | None:
    """For the login endpoint (no principal yet): the user with this username, if any."""
    with uow:
        return uow.users.by_username(username)


def principal_of(uow: UnitOfWork, user: User) -> Principal:
    """The principal an active user acts as (its organisation's path resolved now)."""
    if not user.active:
        raise NotAuthenticated(f"user {user.username} is deactivated")
    with uow:
        org = Lookups(uow).org(user.org_id)
        return Principal(user_id=user.id, role=Role(user.role), org_id=org.id, org_path=org.path)


def users_page(
    uow: UnitOfWork, principal: Principal, *, offset: int = 0, limit: int = 100
) -> Page[User]:
    """One page of the users and service accounts, by id (the RCC manages them)."""
    authorize(principal, Action.MANAGE_REGION)
    with uow:
        return collection_page(uow.users, offset, limit)
