"""A small, realistic bilingual demo data set (`flask crm seed-demo`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import accounts

DEMO_PASSWORD = "demo-password"

USERS = [
    ("admin@example.org", "Ada Admin", Role.admin, "en"),
    ("manager@example.org", "Marie Dubois", Role.manager, "en"),
    ("coordinator@example.org", "Li Na 李娜", Role.coordinator, "zh"),
    ("member@example.org", "Zhang Wei 张伟", Role.member, "zh"),
    ("viewer@example.org", "Victor Observer", Role.viewer, "en"),
]


@dataclass(frozen=True)
class SeedResult:
    users: int
    organisations: int
    people: int
    logins: list[tuple[str, str]]


def is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed() -> SeedResult:
    """Create the demo users and stakeholders. Commits per record through the services."""
    users = [
        accounts.create_user(
            email, name=name, role=role, password=DEMO_PASSWORD, locale=locale, actor=None
        )
        for email, name, role, locale in USERS
    ]
    return SeedResult(len(users), 0, 0, [(u.email, u.role.value) for u in users])
