"""The demo's users, one per role, all with the same printed password."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from booking.access import Principal, Role
from booking.errors import Conflict
from booking.repository import UnitOfWork
from booking.services import users
from booking.users import User
from vks.auth.passwords import Passwords

PASSWORD = "vks-demo-2026"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    org_id: str
    full_name: str


DEMO_USERS = (
    DemoUser("rcc", Role.RCC_OPERATOR, "kuzbass", "Оператор РКЦ Кузбасса"),
    DemoUser("kem-coord", Role.MUNICIPAL_COORDINATOR, "kemerovo", "Белова Ольга Николаевна"),
    DemoUser("net20", Role.NETWORK_ADMIN, "kem-net-20", "Соколова Елена Викторовна"),
    DemoUser("net5", Role.NETWORK_ADMIN, "nvk-net-5", "Кузнецов Андрей Павлович"),
    DemoUser("netins", Role.NETWORK_ADMIN, "ins-net-1", "Ведяшкина Татьяна Ивановна"),
    DemoUser("school12", Role.LOCAL_COORDINATOR, "kem-school-12", "Морозова Анна Сергеевна"),
    DemoUser("teacher", Role.TEACHER, "kem-school-20", "Иванова Мария Петровна"),
    DemoUser("viewer", Role.VIEWER, "kuzbass", "Наблюдатель"),
)


def create_demo_users(
    uow_factory: Callable[[], UnitOfWork], rcc: Principal, passwords: Passwords
) -> list[DemoUser]:
    """Add the demo users (those already there are kept)."""
    hashed = passwords.hash(PASSWORD)
    for demo in DEMO_USERS:
        user = User(
            id=uuid.uuid4().hex[:16],
            username=demo.username,
            password_hash=hashed,
            role=demo.role,
            org_id=demo.org_id,
            full_name=demo.full_name,
        )
        with contextlib.suppress(Conflict):
            users.add_user(uow_factory(), rcc, user)
    return list(DEMO_USERS)
