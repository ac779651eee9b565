"""A small, realistic bilingual demo data set (`flask crm seed-demo`).

Fixtures, not domain: this package writes through the services (crm.services) and nothing
in the services imports it. It holds:

* here, `seed`: the demo accounts (USERS, DEMO_PASSWORD), then everything below, in order;
* `network`: organisations, their relationships, and the people in them;
* `examples`: the stakeholders the interface's and the README's examples name (华为, 王芳);
* `programme`: the programme's activities, attendance and the year's milestone contacts;
* `outreach`: a year of routine outreach and its follow-ups, for the engagement report;
* `logframe`: the donor indicators;
* `generate`: a large, deterministic data set for benchmarks (`flask crm generate`), which
  is not part of the demo.

Everything is written through the services, as the demo administrator, so each record has
its audit history and search document. Each service commits, which costs a few hundred
small transactions: acceptable for a one-off. The data is fixed, so two seeds of empty
databases give the same records.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from crm.access import Role
from crm.demo import examples, logframe, network, outreach, programme
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import User
from crm.services import accounts, topics
from crm.services.errors import Conflict

DEMO_PASSWORD = "demo-password-2026"  # follows the password rule (crm.services.accounts)

# (email, name, role, interface language); the administrator comes first and creates the rest.
USERS = [
    ("admin@example.org", "Chen Hao 陈浩", Role.admin, "en"),
    ("manager@example.org", "Marie Dubois 杜玛丽", Role.manager, "en"),
    ("coordinator@example.org", "Li Na 李娜", Role.coordinator, "zh"),
    ("member@example.org", "Zhang Wei 张伟", Role.member, "zh"),
    ("viewer@example.org", "Victor Hansen 韩维克", Role.viewer, "en"),
]


@dataclass(frozen=True)
class SeedResult:
    users: int
    organisations: int
    people: int
    affiliations: int
    relationships: int
    logins: list[tuple[str, str]]
    activities: int = 0
    participants: int = 0
    interactions: int = 0
    follow_ups: int = 0


def is_empty() -> bool:
    """True when the database has no user at all (the first run of `make run`)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def existing_demo_users() -> list[User]:
    """The demo accounts already in the database, in the order of USERS."""
    emails = [email for email, *_rest in USERS]
    found = {u.email: u for u in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}
    return [found[email] for email in emails if email in found]


def logins() -> list[tuple[str, str]]:
    """(email, role) of the demo accounts that can still sign in with DEMO_PASSWORD."""
    return [
        (user.email, user.role.value)
        for user in existing_demo_users()
        if user.is_enabled and check_password_hash(user.password_hash, DEMO_PASSWORD)
    ]


def seed() -> SeedResult:
    """Create the demo users, organisations, people, positions and relationships.

    Refuses (Conflict, nothing written) when any demo account exists already, so a second
    run never half-loads a duplicate set. Every record goes through the stakeholder
    services as the demo administrator, one commit each, so all of it has audit history.
    """
    taken = existing_demo_users()
    if taken:
        raise Conflict(
            _("The demo data is already loaded (%(email)s exists).", email=taken[0].email)
        )
    # Each of the ~450 service calls commits. Expiring every loaded object at each commit
    # would reload the actor, the organisations and the people before every next call: about
    # 700 extra SELECTs. Nothing else writes these rows meanwhile, so keep them loaded.
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        return _load()
    finally:
        session.expire_on_commit = expire_on_commit


def _create_users() -> list[User]:
    """The demo accounts: the administrator first (created by nobody), who creates the rest."""
    email, name, role, locale = USERS[0]
    admin = accounts.create_user(
        email, name=name, role=role, password=DEMO_PASSWORD, locale=locale, actor=None
    )
    users = [admin]
    for email, name, role, locale in USERS[1:]:
        users.append(
            accounts.create_user(
                email, name=name, role=role, password=DEMO_PASSWORD, locale=locale, actor=admin
            )
        )
    return users


def _load() -> SeedResult:
    users = _create_users()
    admin = users[0]
    owners = {user.role: user.id for user in users}
    # The programme's default activity topics (the administrators' list starts with them).
    topics.add_defaults(actor=admin)
    loaded = network.load(admin=admin, owners=owners)
    named = examples.load(admin=admin, owners=owners)
    orgs = {**loaded.organisations, **named.organisations}
    people_by_org = {**loaded.people_by_org, **named.people_by_org}
    done = programme.load(
        users=users,
        orgs=orgs,
        people_by_org=people_by_org,
        topic_ids={t.name: t.id for t in topics.all_topics()},
    )
    routine = outreach.load(users=users, orgs=orgs, people_by_org=people_by_org)
    # The donor indicators (logframe), kept by the demo manager.
    logframe.load(actor=next(u for u in users if u.role == Role.manager))
    return SeedResult(
        users=len(users),
        organisations=len(orgs),
        people=len(network.PEOPLE) + len(examples.PEOPLE),
        affiliations=loaded.affiliations + named.affiliations,
        relationships=len(network.RELATIONSHIPS),
        logins=[(u.email, u.role.value) for u in users],
        activities=done.activities,
        participants=done.participants,
        interactions=done.interactions + routine.interactions,
        follow_ups=done.follow_ups + routine.follow_ups,
    )
