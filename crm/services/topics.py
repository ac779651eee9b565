"""Activity topics: the editable, bilingual list administrators keep (OSH, wages, ...).

A topic is never deleted, only deactivated: activities keep the topics they were tagged
with, and a deactivated topic is no longer offered for new tags. Each write commits once,
with its audit event (entity type "topics").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import AuditAction, Topic, User
from crm.services import audit
from crm.services.errors import InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)

MAX_NAME = 80

# The programme's list at the start (DESIGN.md, data model): English and Chinese names.
DEFAULTS: tuple[tuple[str, str], ...] = (
    ("Occupational safety and health (OSH)", "职业安全与健康"),
    ("Wages and working time", "工资与工时"),
    ("Freedom of association", "结社自由"),
    ("Forced labour", "强迫劳动"),
    ("Child labour", "童工"),
    ("Non-discrimination", "非歧视"),
    ("Social dialogue", "社会对话"),
    ("Due diligence", "尽责管理"),
    ("Grievance mechanisms", "申诉机制"),
    ("Environment", "环境"),
)


def _require(actor: User | None) -> None:
    if not can(actor, Permission.MANAGE_TOPICS):
        raise PermissionDenied(_("Only administrators can change the list of topics."))


def get(topic_id: int) -> Topic:
    found = db.session.get(Topic, topic_id)
    if found is None:
        raise NotFound(_("No such topic."))
    return found


def all_topics() -> list[Topic]:
    """Every topic, active ones first, by name (the administration page)."""
    stmt = sa.select(Topic).order_by(Topic.is_active.desc(), sa.func.lower(Topic.name))
    return list(db.session.scalars(stmt))


def choices(*, keep: Iterable[int] = ()) -> list[Topic]:
    """Topics to offer in a form: the active ones, plus those in `keep` (already chosen)."""
    kept = [i for i in keep if i]
    condition: sa.ColumnElement[bool] = Topic.is_active.is_(True)
    if kept:
        condition = sa.or_(condition, Topic.id.in_(kept))
    return list(db.session.scalars(sa.select(Topic).where(condition).order_by(Topic.name)))


def _clean(name: str | None, name_zh: str | None, *, exclude_id: int | None) -> tuple[str, str]:
    name = " ".join((name or "").split())
    name_zh = (name_zh or "").strip()
    if not name:
        raise InvalidInput(_("A topic needs a name."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(_("At most %(n)d characters.", n=MAX_NAME), field="name")
    if len(name_zh) > MAX_NAME:
        raise InvalidInput(_("At most %(n)d characters.", n=MAX_NAME), field="name_zh")
    taken = db.session.scalar(
        sa.select(Topic.id).where(
            sa.func.lower(Topic.name) == name.lower(),
            Topic.id != (exclude_id or 0),
        )
    )
    if taken is not None:
        raise InvalidInput(_("There is already a topic with this name."), field="name")
    return name, name_zh


def _flush_or_taken() -> None:
    """The unique constraint decides: the check above compares with the database's lower(),
    which on SQLite folds only ASCII ("Ý" and "ý" pass it), and two saves can race."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise InvalidInput(_("There is already a topic with this name."), field="name") from None


def create(name: str | None, name_zh: str | None, *, actor: User) -> Topic:
    """Add an active topic (administrators). Raises InvalidInput for an empty or taken name."""
    _require(actor)
    name, name_zh = _clean(name, name_zh, exclude_id=None)
    topic = Topic(name=name, name_zh=name_zh or None, is_active=True)
    db.session.add(topic)
    _flush_or_taken()
    audit.record(
        topic,
        actor=actor,
        action=AuditAction.create,
        changes={"name": [None, name], "name_zh": [None, topic.name_zh]},
        summary=name,
    )
    db.session.commit()
    return topic


def update(
    topic: Topic, *, name: str | None, name_zh: str | None, is_active: bool, actor: User
) -> Topic:
    """Rename a topic or (de)activate it; activities tagged with it keep it either way."""
    _require(actor)
    name, name_zh = _clean(name, name_zh, exclude_id=topic.id)
    before = audit.snapshot(topic, ("name", "name_zh", "is_active"))
    topic.name, topic.name_zh, topic.is_active = name, name_zh or None, bool(is_active)
    changed = audit.diff(before, audit.snapshot(topic, ("name", "name_zh", "is_active")))
    _flush_or_taken()
    if changed:
        audit.record(topic, actor=actor, action=AuditAction.update, changes=changed, summary=name)
    db.session.commit()
    return topic


def _known_names() -> set[str]:
    """Every topic's English name (lower case) and Chinese name."""
    names: set[str] = set()
    for name, name_zh in db.session.execute(sa.select(Topic.name, Topic.name_zh)):
        names.add(name.lower())
        if name_zh:
            names.add(name_zh)
    return names


def _is_missing(name: str, name_zh: str, known: set[str]) -> bool:
    return name.lower() not in known and name_zh not in known


def add_defaults(*, actor: User) -> int:
    """Add the default topics that are missing (no topic has their English name, ignoring
    case, or their Chinese name); commits. Returns how many were added. Existing topics,
    deactivated ones included, are left as they are."""
    _require(actor)
    known = _known_names()
    added = 0
    for name, name_zh in DEFAULTS:
        if not _is_missing(name, name_zh, known):
            continue
        topic = Topic(name=name, name_zh=name_zh, is_active=True)
        db.session.add(topic)
        db.session.flush()
        audit.record(
            topic,
            actor=actor,
            action=AuditAction.create,
            changes={"name": [None, name], "name_zh": [None, name_zh]},
            summary=name,
        )
        added += 1
    db.session.commit()
    log.info("added %d default topics", added)
    return added


def missing_defaults() -> int:
    """How many default topics are not in the list (the administration page offers them)."""
    known = _known_names()
    return sum(1 for name, name_zh in DEFAULTS if _is_missing(name, name_zh, known))
