"""Every model of the stakeholder tracker (SQLAlchemy 2 typed declarations).

Enumerations are `StrEnum`s stored as VARCHAR with a named CHECK constraint, so adding a
value is a migration. Datetimes are stored in UTC and come back timezone-aware on every
database, SQLite included. Editable records share `Editable`: timestamps, author, a
`version` counter for optimistic locking and `deleted_at` for the trash.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, overload

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, WriteOnlyMapped, declared_attr, mapped_column, relationship

from crm import i18n
from crm.access import Role
from crm.extensions import Model, db
from crm.i18n import lazy_gettext as _l


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime on every engine: UTC in, aware UTC out (SQLite drops tzinfo)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    @overload
    def process_result_value(self, value: datetime, dialect: sa.Dialect) -> datetime: ...
    @overload
    def process_result_value(self, value: None, dialect: sa.Dialect) -> None: ...
    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum: type[StrEnum], name: str, length: int = 24) -> sa.Enum:
    """VARCHAR plus a named CHECK listing the enum's values (not a native database enum)."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=True,
        length=length,
        name=name,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# ---------------------------------------------------------------------------------------------
# Enumerations and their display labels
# ---------------------------------------------------------------------------------------------


class StakeholderKind(StrEnum):
    organisation = "organisation"
    person = "person"


class EngagementLevel(StrEnum):
    unaware = "unaware"
    aware = "aware"
    engaged = "engaged"
    committed = "committed"
    champion = "champion"


class OrgType(StrEnum):
    enterprise = "enterprise"
    government = "government"
    industry_body = "industry_body"
    trade_union = "trade_union"
    ngo = "ngo"
    academic = "academic"
    international = "international"
    other = "other"


class Sector(StrEnum):
    electronics = "electronics"
    textile = "textile"
    both = "both"
    cross_sector = "cross_sector"


class Ownership(StrEnum):
    state_owned = "state_owned"
    private = "private"
    foreign_invested = "foreign_invested"
    joint_venture = "joint_venture"
    not_applicable = "not_applicable"


class SizeBand(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"
    unknown = "unknown"


class SupplyChainRole(StrEnum):
    brand_buyer = "brand_buyer"
    tier1_supplier = "tier1_supplier"
    tier2_supplier = "tier2_supplier"
    not_applicable = "not_applicable"


class Gender(StrEnum):
    female = "female"
    male = "male"
    other = "other"
    undisclosed = "undisclosed"


class Language(StrEnum):
    en = "en"
    zh = "zh"


class Consent(StrEnum):
    given = "given"
    withdrawn = "withdrawn"
    unknown = "unknown"


class ConsentPurpose(StrEnum):
    """What a person's consent is for (crm.services.consent); each has its own status."""

    communication = "communication"  # digests, invitations, mailings, contact exports
    reports = "reports"  # named in reports for the donors and headquarters (cross-border)
    publication = "publication"  # photographs and publication


class ConsentSource(StrEnum):
    sign_in_sheet = "sign_in_sheet"
    email = "email"
    verbal = "verbal"
    web_form = "web_form"
    import_ = "import"
    other = "other"


class ContactKind(StrEnum):
    email = "email"
    phone = "phone"
    wechat = "wechat"


class RelationshipType(StrEnum):
    member_of = "member_of"
    subsidiary_of = "subsidiary_of"
    supplier_to = "supplier_to"
    supervised_by = "supervised_by"
    partner_of = "partner_of"
    reports_to = "reports_to"
    other = "other"


class ActivityType(StrEnum):
    training = "training"
    forum = "forum"
    mou = "mou"
    research = "research"
    dialogue = "dialogue"
    webinar = "webinar"
    awareness = "awareness"
    other = "other"


class ActivityStatus(StrEnum):
    planned = "planned"
    held = "held"
    cancelled = "cancelled"


class AgreementStatus(StrEnum):
    draft = "draft"
    negotiating = "negotiating"
    signed = "signed"
    expired = "expired"
    terminated = "terminated"


class PartyRole(StrEnum):
    host = "host"
    co_organiser = "co_organiser"
    partner = "partner"
    sponsor = "sponsor"
    signatory = "signatory"
    participant = "participant"


class ParticipationStatus(StrEnum):
    invited = "invited"
    registered = "registered"
    attended = "attended"
    no_show = "no_show"


class ParticipationRole(StrEnum):
    participant = "participant"
    speaker = "speaker"
    trainer = "trainer"


class Channel(StrEnum):
    meeting = "meeting"
    call = "call"
    email = "email"
    wechat = "wechat"
    visit = "visit"
    video_call = "video_call"
    event = "event"
    letter = "letter"
    other = "other"


class Direction(StrEnum):
    outbound = "outbound"
    inbound = "inbound"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"


class FollowUpStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class AuditAction(StrEnum):
    create = "create"
    update = "update"
    delete = "delete"
    restore = "restore"
    purge = "purge"
    merge = "merge"
    export = "export"
    access = "access"  # a subject-access export of one person's data
    erase = "erase"  # a person's personal data erased (anonymised)
    consent = "consent"  # a consent status recorded
    retention = "retention"  # a retention run, or a person exempted from it


class Metric(StrEnum):
    """Figures the system computes, to which a logframe indicator is bound."""

    enterprises_trained = "enterprises_trained"
    officials_trained = "officials_trained"
    participants_trained = "participants_trained"
    forums_held = "forums_held"
    mous_signed = "mous_signed"
    research_published = "research_published"
    stakeholders_engaged = "stakeholders_engaged"


class EnumLabels:
    """Display labels of enum members, keyed by enum *and* value.

    StrEnum members compare equal to their strings, so in a plain dict `AuditAction.update`
    and `DuplicateAction.update` (or `Gender.other` and `RelationshipType.other`) would
    overwrite each other.
    """

    def __init__(self) -> None:
        self._labels: dict[tuple[type, str], Any] = {}
        self._by_value: dict[str, Any] = {}

    def add(self, pairs: Iterable[tuple[StrEnum, Any]]) -> None:
        for member, text in pairs:
            self._labels[(type(member), member.value)] = text
            self._by_value.setdefault(member.value, text)

    def update(self, labels: dict[StrEnum, Any]) -> None:
        """Only for labels of one enum at a time: a dict literal collapses equal values."""
        self.add(labels.items())

    def get(self, value: Any, default: Any = None) -> Any:
        if isinstance(value, StrEnum):
            return self._labels.get((type(value), value.value), default)
        return self._by_value.get(value, default)


LABELS = EnumLabels()
LABELS.add(
    [
        (EngagementLevel.unaware, _l("Unaware")),
        (EngagementLevel.aware, _l("Aware")),
        (EngagementLevel.engaged, _l("Engaged")),
        (EngagementLevel.committed, _l("Committed")),
        (EngagementLevel.champion, _l("Champion")),
        (StakeholderKind.organisation, _l("Organisation")),
        (StakeholderKind.person, _l("Person")),
        (OrgType.enterprise, _l("Enterprise")),
        (OrgType.government, _l("Government")),
        (OrgType.industry_body, _l("Industry body")),
        (OrgType.trade_union, _l("Trade union")),
        (OrgType.ngo, _l("NGO")),
        (OrgType.academic, _l("Academic / research")),
        (OrgType.international, _l("International organisation")),
        (OrgType.other, _l("Other")),
        (Sector.electronics, _l("Electronics")),
        (Sector.textile, _l("Textile and garment")),
        (Sector.both, _l("Electronics and textile")),
        (Sector.cross_sector, _l("Cross-sector")),
        (Ownership.state_owned, _l("State-owned")),
        (Ownership.private, _l("Private")),
        (Ownership.foreign_invested, _l("Foreign-invested")),
        (Ownership.joint_venture, _l("Joint venture")),
        (Ownership.not_applicable, _l("Not applicable")),
        (SizeBand.micro, _l("Micro (under 20)")),
        (SizeBand.small, _l("Small (20–99)")),
        (SizeBand.medium, _l("Medium (100–999)")),
        (SizeBand.large, _l("Large (1,000 and more)")),
        (SizeBand.unknown, _l("Unknown")),
        (SupplyChainRole.brand_buyer, _l("Brand or buyer")),
        (SupplyChainRole.tier1_supplier, _l("Tier-1 supplier")),
        (SupplyChainRole.tier2_supplier, _l("Tier-2+ supplier")),
        (SupplyChainRole.not_applicable, _l("Not applicable")),
        (Gender.female, _l("Female")),
        (Gender.male, _l("Male")),
        (Gender.other, _l("Other")),
        (Gender.undisclosed, _l("Undisclosed")),
        (Language.en, _l("English")),
        (Language.zh, _l("Chinese")),
        (Consent.given, _l("Given")),
        (Consent.withdrawn, _l("Withdrawn")),
        (Consent.unknown, _l("Unknown")),
        (ContactKind.email, _l("Email")),
        (ContactKind.phone, _l("Phone")),
        (ContactKind.wechat, _l("WeChat ID")),
        (RelationshipType.member_of, _l("member of")),
        (RelationshipType.subsidiary_of, _l("subsidiary of")),
        (RelationshipType.supplier_to, _l("supplier to")),
        (RelationshipType.supervised_by, _l("supervised by")),
        (RelationshipType.partner_of, _l("partner of")),
        (RelationshipType.reports_to, _l("reports to")),
        (RelationshipType.other, _l("related to")),
        (ActivityType.training, _l("Training")),
        (ActivityType.forum, _l("Forum")),
        (ActivityType.mou, _l("MoU")),
        (ActivityType.research, _l("Research")),
        (ActivityType.dialogue, _l("Dialogue")),
        (ActivityType.webinar, _l("Webinar")),
        (ActivityType.awareness, _l("Awareness raising")),
        (ActivityType.other, _l("Other")),
        (ActivityStatus.planned, _l("Planned")),
        (ActivityStatus.held, _l("Held")),
        (ActivityStatus.cancelled, _l("Cancelled")),
        (AgreementStatus.draft, _l("Draft")),
        (AgreementStatus.negotiating, _l("Negotiating")),
        (AgreementStatus.signed, _l("Signed")),
        (AgreementStatus.expired, _l("Expired")),
        (AgreementStatus.terminated, _l("Terminated")),
        (PartyRole.host, _l("Host")),
        (PartyRole.co_organiser, _l("Co-organiser")),
        (PartyRole.partner, _l("Partner")),
        (PartyRole.sponsor, _l("Sponsor")),
        (PartyRole.signatory, _l("Signatory")),
        (PartyRole.participant, _l("Participant")),
        (ParticipationStatus.invited, _l("Invited")),
        (ParticipationStatus.registered, _l("Registered")),
        (ParticipationStatus.attended, _l("Attended")),
        (ParticipationStatus.no_show, _l("No-show")),
        (ParticipationRole.participant, _l("Participant")),
        (ParticipationRole.speaker, _l("Speaker")),
        (ParticipationRole.trainer, _l("Trainer")),
        (Channel.meeting, _l("Meeting")),
        (Channel.call, _l("Call")),
        (Channel.email, _l("Email")),
        (Channel.wechat, _l("WeChat")),
        (Channel.visit, _l("Visit")),
        (Channel.video_call, _l("Video call")),
        (Channel.event, _l("Event")),
        (Channel.letter, _l("Letter")),
        (Channel.other, _l("Other")),
        (Direction.outbound, _l("Outbound")),
        (Direction.inbound, _l("Inbound")),
        (Priority.low, _l("Low")),
        (Priority.normal, _l("Normal")),
        (Priority.high, _l("High")),
        (FollowUpStatus.open, _l("Open")),
        (FollowUpStatus.done, _l("Done")),
        (FollowUpStatus.cancelled, _l("Cancelled")),
        (AuditAction.create, _l("created")),
        (AuditAction.update, _l("updated")),
        (AuditAction.delete, _l("moved to trash")),
        (AuditAction.restore, _l("restored")),
        (AuditAction.purge, _l("purged")),
        (AuditAction.merge, _l("merged")),
        (AuditAction.export, _l("exported")),
        (AuditAction.access, _l("exported their data")),
        (AuditAction.erase, _l("erased")),
        (AuditAction.consent, _l("recorded consent")),
        (AuditAction.retention, _l("applied retention")),
        (ConsentPurpose.communication, _l("Programme communication")),
        (ConsentPurpose.reports, _l("Reports for donors and headquarters")),
        (ConsentPurpose.publication, _l("Photographs and publication")),
        (ConsentSource.sign_in_sheet, _l("Sign-in sheet")),
        (ConsentSource.email, _l("Email")),
        (ConsentSource.verbal, _l("Verbal")),
        (ConsentSource.web_form, _l("Web form")),
        (ConsentSource.import_, _l("Import")),
        (ConsentSource.other, _l("Other")),
        (Metric.enterprises_trained, _l("Enterprises trained")),
        (Metric.officials_trained, _l("Government officials trained")),
        (Metric.participants_trained, _l("Participants trained")),
        (Metric.forums_held, _l("Forums held")),
        (Metric.mous_signed, _l("MoUs signed")),
        (Metric.research_published, _l("Research outputs published")),
        (Metric.stakeholders_engaged, _l("Stakeholders engaged")),
    ]
)


def label(value: Any) -> str:
    """The translated display label of an enum member (the raw value when it has none)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(label(v) for v in value)
    if not isinstance(value, str):
        return str(value)
    found = LABELS.get(value)
    if found is None:
        return str(value)
    # Once per language and request: a list translates the same few labels on every row.
    return i18n.remembered(("label", type(value), value), lambda: str(found))


# ---------------------------------------------------------------------------------------------
# Shared columns
# ---------------------------------------------------------------------------------------------


class Editable:
    """Columns every editable record carries (DESIGN.md: data model)."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # Every UPDATE checks and bumps `version`: a stale write raises StaleDataError.
        # `cls` is the mapped model this mixin is part of; the mixin alone has no `__table__`.
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


# ---------------------------------------------------------------------------------------------
# Users and access
# ---------------------------------------------------------------------------------------------


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role", 16))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[Language] = mapped_column(enum_column(Language, "user_locale", 8), default="en")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Part of every session and remember cookie (`get_id`): a new one (sign-out, password
    # change, deactivation, "sign out everywhere") ends every session of the user at once.
    session_token: Mapped[str] = mapped_column(sa.String(64))
    # Two-factor sign-in (crm.services.two_factor): the TOTP secret, set once confirmed; the
    # last time step accepted, so a code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_active(self) -> bool:  # Flask-Login asks this before signing a user in
        return self.is_enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class RecoveryCode(Model):
    """A one-time code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    # The token's first characters, shown in the list so that its owner can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16), default="")
    # A read-only token may read what its user may read and write nothing.
    read_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AuditEvent(Model):
    """One create, update, delete, restore, purge or merge, with field-level before/after."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[AuditAction] = mapped_column(enum_column(AuditAction, "audit_action", 16))
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int]
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    # {"field": [before, after], ...}; JSON-safe values only.
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    actor: Mapped[User | None] = relationship()


# ---------------------------------------------------------------------------------------------
# Stakeholders: organisations and people (joined-table inheritance)
# ---------------------------------------------------------------------------------------------

stakeholder_tags = sa.Table(
    "stakeholder_tags",
    db.metadata,
    sa.Column(
        "stakeholder_id",
        sa.ForeignKey("stakeholders.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


# (index name suffix, column) of the stakeholder lists' sorts: crm.services.stakeholders.listing.
LIVE_SORTS = (
    ("name", "sort_name"),
    ("pinyin", "name_pinyin"),
    ("engagement", "engagement_level"),
    ("influence", "influence"),
    ("updated", "updated_at"),
    ("last_contact", "last_contacted_at"),
    ("next_follow_up", "next_follow_up_on"),
)


class Stakeholder(Editable, Model):
    __tablename__ = "stakeholders"
    __table_args__ = (
        sa.CheckConstraint("influence BETWEEN 1 AND 5", name="influence_range"),
        sa.CheckConstraint("interest BETWEEN 1 AND 5", name="interest_range"),
        # The lists' sorts, over live records only (partial indexes): each ORDER BY is
        # (column, id) after `kind = ...`, so a page deep in a list is read off the index
        # instead of sorting every row. Partial, because PostgreSQL orders by an index only
        # after equalities, and `deleted_at IS NULL` is not one to it.
        *(
            sa.Index(
                f"ix_stakeholders_live_{name}",
                "kind",
                column,
                "id",
                sqlite_where=sa.text("deleted_at IS NULL"),
                postgresql_where=sa.text("deleted_at IS NULL"),
            )
            for name, column in LIVE_SORTS
        ),
        # Records unchanged since a moment, live or in the trash: who is past the retention
        # period (crm.services.personal_data.retention), oldest first.
        sa.Index("ix_stakeholders_updated", "updated_at", "id"),
        # The records in the trash, by kind: live counts are "all less these" over an index.
        sa.Index(
            "ix_stakeholders_trashed",
            "kind",
            "id",
            sqlite_where=sa.text("deleted_at IS NOT NULL"),
            postgresql_where=sa.text("deleted_at IS NOT NULL"),
        ),
        # The dashboard's influential and quiet: per influence, the longest quiet first.
        sa.Index(
            "ix_stakeholders_live_quiet",
            "influence",
            "last_contacted_at",
            "sort_name",
            "id",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        # The same, by kind: the lists' `?quiet=1` filter and the dashboard's counts of each
        # kind, answered from the index alone (crm.services.overview.quiet_conditions).
        # `deleted_at`, always NULL here, is listed so that SQLite sees the index covers the
        # query's `deleted_at IS NULL` (it otherwise prefers ix_stakeholders_live_influence
        # and reads every row).
        sa.Index(
            "ix_stakeholders_live_quiet_kind",
            "kind",
            "influence",
            "last_contacted_at",
            "deleted_at",
            "id",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        # The reports (crm.services.reporting): every live stakeholder's type, scores, level
        # and sectors read off the index alone, in id order, so that the probes of each one's
        # links in a period (ix_interaction_stakeholders_stakeholder_occurred) walk that index
        # forwards instead of jumping about it.
        sa.Index(
            "ix_stakeholders_report_facts",
            "deleted_at",
            "id",
            "kind",
            "influence",
            "interest",
            "engagement_level",
            "sector_mask",
        ),
        # The report's most influential stakeholders not contacted: read in this order, the
        # first (influence, interest) groups give the first rows of the list. Not partial: the
        # reports test `deleted_at` in a way no index answers (facts.is_live), or SQLite,
        # whose sampled statistics take `deleted_at IS NULL` for a rare value, would start
        # from ix_stakeholders_deleted_at and sort everyone.
        sa.Index("ix_stakeholders_scores", "influence", "interest", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[StakeholderKind] = mapped_column(
        enum_column(StakeholderKind, "stakeholder_kind", 16)
    )
    display_name: Mapped[str] = mapped_column(sa.String(200))
    chinese_name: Mapped[str | None] = mapped_column(sa.String(200))
    # Derived on every write from the Chinese name: "hua wei ji shu" and "hwjs".
    name_pinyin: Mapped[str | None] = mapped_column(sa.String(600))
    name_initials: Mapped[str | None] = mapped_column(sa.String(200))
    # Lower-cased key for sorting: the display name, else the pinyin.
    sort_name: Mapped[str] = mapped_column(sa.String(200), default="")
    # Derived keys for duplicate detection (crm.services.duplicates): the Latin name and the
    # Chinese name, lower-cased, without spaces, punctuation or legal suffixes (有限公司, Ltd.).
    # A person's Latin key is the pinyin of their Chinese name, else family + given name.
    match_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    match_key_zh: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    engagement_level: Mapped[EngagementLevel] = mapped_column(
        enum_column(EngagementLevel, "engagement_level", 16), default=EngagementLevel.unaware
    )
    influence: Mapped[int] = mapped_column(sa.SmallInteger, default=3)
    interest: Mapped[int] = mapped_column(sa.SmallInteger, default=3)
    # Derived from the outreach log, kept by crm.services.contact_dates in the transaction of
    # every write that can change them (never through this mapping, which would bump
    # `version`): the latest live interaction with the record, and the earliest due date of
    # its open live follow-ups.
    last_contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_follow_up_on: Mapped[date | None]
    # Derived, kept by crm.services.sector_masks in the transaction of every write that can
    # change it (never through this mapping): the sectors the reports count the record under,
    # one bit per sector (an organisation's own; a person's current employers').
    sector_mask: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    tags: Mapped[list[Tag]] = relationship(secondary=stakeholder_tags, order_by=Tag.name)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"polymorphic_on": cls.__table__.c.kind, "version_id_col": cls.__table__.c.version}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.display_name!r}>"


class Organisation(Stakeholder):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(
        sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), primary_key=True
    )
    org_type: Mapped[OrgType] = mapped_column(enum_column(OrgType, "org_type", 24), index=True)
    sector: Mapped[Sector | None] = mapped_column(enum_column(Sector, "sector", 16), index=True)
    ownership: Mapped[Ownership | None] = mapped_column(enum_column(Ownership, "ownership", 24))
    size_band: Mapped[SizeBand | None] = mapped_column(enum_column(SizeBand, "size_band", 16))
    supply_chain_role: Mapped[SupplyChainRole | None] = mapped_column(
        enum_column(SupplyChainRole, "supply_chain_role", 24)
    )
    province: Mapped[str | None] = mapped_column(sa.String(60), index=True)
    city: Mapped[str | None] = mapped_column(sa.String(80))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )

    parent: Mapped[Organisation | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    __mapper_args__ = {
        "polymorphic_identity": StakeholderKind.organisation,
        "inherit_condition": id == Stakeholder.id,
    }


class Person(Stakeholder):
    __tablename__ = "people"
    __table_args__ = (
        # The people list's consent filters (crm.services.consent.status_is) count off these
        # when the status asked for is a rare one (withdrawn, given).
        sa.Index("ix_people_consent", "consent"),
        sa.Index("ix_people_consent_reports", "consent_reports"),
        sa.Index("ix_people_consent_publication", "consent_publication"),
        # The few erased people, which the lists leave out (crm.services.personal_data).
        sa.Index(
            "ix_people_erased",
            "id",
            sqlite_where=sa.text("erased_at IS NOT NULL"),
            postgresql_where=sa.text("erased_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), primary_key=True
    )
    family_name: Mapped[str | None] = mapped_column(sa.String(80))
    given_name: Mapped[str | None] = mapped_column(sa.String(80))
    gender: Mapped[Gender] = mapped_column(
        enum_column(Gender, "gender", 16), default=Gender.undisclosed
    )
    job_title: Mapped[str | None] = mapped_column(sa.String(120))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    # The phone number in E.164 (+8613812345678), for duplicate detection; `phone` is as typed
    # (crm.services.contact_details).
    phone_key: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    wechat_id: Mapped[str | None] = mapped_column(sa.String(60), index=True)
    preferred_language: Mapped[Language | None] = mapped_column(
        enum_column(Language, "preferred_language", 8)
    )
    consent: Mapped[Consent] = mapped_column(
        enum_column(Consent, "consent", 16), default=Consent.unknown
    )
    consent_on: Mapped[date | None]
    consent_source: Mapped[str | None] = mapped_column(sa.String(200))
    # `consent`, `consent_on` and `consent_source` above are the current state of consent to
    # programme communication (ConsentPurpose.communication); the two columns below are the
    # other purposes' current status. Every purpose's history is in consent_records
    # (crm.services.consent keeps these columns and that history together).
    consent_reports: Mapped[Consent] = mapped_column(
        enum_column(Consent, "consent_reports", 16), default=Consent.unknown
    )
    consent_publication: Mapped[Consent] = mapped_column(
        enum_column(Consent, "consent_publication", 16), default=Consent.unknown
    )
    # Set when the person's personal data were erased (anonymised, irreversibly): the row stays
    # so that the figures built on their participations do not change.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An administrator kept this person out of retention (crm services personal data), and why.
    retention_exempt_reason: Mapped[str | None] = mapped_column(sa.String(300))
    retention_exempt_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    retention_exempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The database deletes positions with their person (ON DELETE CASCADE).
    affiliations: Mapped[list[Affiliation]] = relationship(
        back_populates="person", order_by="Affiliation.start_on.desc()", passive_deletes=True
    )

    # Further emails, phones and WeChat IDs (kept from merged duplicates), oldest first.
    contact_details: Mapped[list[ContactDetail]] = relationship(
        back_populates="person", order_by="ContactDetail.id", passive_deletes=True
    )

    __mapper_args__ = {"polymorphic_identity": StakeholderKind.person}


class ConsentRecord(Model):
    """One statement of a person's consent to one purpose: the history behind the current
    status held on the person (Person.consent, consent_reports, consent_publication)."""

    __tablename__ = "consent_records"
    __table_args__ = (
        sa.Index("ix_consent_records_person_purpose", "person_id", "purpose", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"))
    purpose: Mapped[ConsentPurpose] = mapped_column(
        enum_column(ConsentPurpose, "consent_purpose", 16)
    )
    status: Mapped[Consent] = mapped_column(enum_column(Consent, "consent_status", 16))
    # The day the person gave or withdrew it (never in the future), when known.
    stated_on: Mapped[date | None]
    source: Mapped[ConsentSource] = mapped_column(
        enum_column(ConsentSource, "consent_source", 16), default=ConsentSource.other
    )
    note: Mapped[str | None] = mapped_column(sa.String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recorded_by: Mapped[User | None] = relationship()


class CrossBorderTransfer(Model):
    """A person's personal data included in an export marked "for headquarters" in a year.

    One row per person and calendar year, however many such exports named them: the count of
    rows for a year is what PIPL's threshold is measured against (crm.config
    CROSS_BORDER_THRESHOLD).
    """

    __tablename__ = "cross_border_transfers"
    __table_args__ = (sa.UniqueConstraint("person_id", "year", name="uq_cross_border_person_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(index=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The export (its audit event) that first named them that year.
    audit_event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("audit_events.id", ondelete="SET NULL")
    )


class ContactDetail(Model):
    """A further email, phone number or WeChat ID of a person, besides the one on the record.

    Merging two records of one person keeps the address that was not chosen here instead of
    dropping it. `value` is what was typed; `value_key` its normalised form (lower-case email
    or WeChat ID, E.164 phone), unique per person and kind, which duplicate matching uses.
    """

    __tablename__ = "contact_details"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "kind", "value_key", name="uq_contact_detail"),
        sa.Index("ix_contact_details_kind_value_key", "kind", "value_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ContactKind] = mapped_column(enum_column(ContactKind, "contact_kind", 16))
    value: Mapped[str] = mapped_column(sa.String(254))
    value_key: Mapped[str] = mapped_column(sa.String(254))
    source: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )

    person: Mapped[Person] = relationship(back_populates="contact_details")


class Affiliation(Editable, Model):
    """A position a person holds or held; the one without an end is the current employer."""

    __tablename__ = "affiliations"
    __table_args__ = (
        sa.CheckConstraint(
            "end_on IS NULL OR start_on IS NULL OR end_on >= start_on", name="end_after_start"
        ),
        sa.Index("ix_affiliations_org_end", "organisation_id", "end_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE")
    )
    title: Mapped[str | None] = mapped_column(sa.String(120))
    start_on: Mapped[date | None]
    end_on: Mapped[date | None]

    person: Mapped[Person] = relationship(back_populates="affiliations", foreign_keys=[person_id])
    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])

    @property
    def is_current(self) -> bool:
        return self.end_on is None


class StakeholderRelationship(Editable, Model):
    """A directed link: `source` is `type` of `target` (a supplier *supplier_to* a brand)."""

    __tablename__ = "relationships"
    __table_args__ = (
        sa.CheckConstraint("source_id <> target_id", name="not_self"),
        sa.CheckConstraint(
            "end_on IS NULL OR start_on IS NULL OR end_on >= start_on", name="end_after_start"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[RelationshipType] = mapped_column(
        enum_column(RelationshipType, "relationship_type", 16)
    )
    start_on: Mapped[date | None]
    end_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(sa.String(300))

    source: Mapped[Stakeholder] = relationship(foreign_keys=[source_id])
    target: Mapped[Stakeholder] = relationship(foreign_keys=[target_id])


# ---------------------------------------------------------------------------------------------
# Activities
# ---------------------------------------------------------------------------------------------

activity_topics = sa.Table(
    "activity_topics",
    db.metadata,
    sa.Column("activity_id", sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Topic(Model):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name_zh: Mapped[str | None] = mapped_column(sa.String(80))
    is_active: Mapped[bool] = mapped_column(default=True)


class Activity(Editable, Model):
    __tablename__ = "activities"
    __table_args__ = (
        sa.CheckConstraint("end_on IS NULL OR end_on >= start_on", name="end_after_start"),
        sa.CheckConstraint(
            "expires_on IS NULL OR signed_on IS NULL OR expires_on > signed_on",
            name="expires_after_signed",
        ),
        sa.CheckConstraint(
            "unnamed_women >= 0 AND unnamed_men >= 0 AND unnamed_unspecified >= 0",
            name="headcounts_not_negative",
        ),
        sa.Index("ix_activities_type_start", "type", "start_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[ActivityType] = mapped_column(enum_column(ActivityType, "activity_type", 16))
    title: Mapped[str] = mapped_column(sa.String(200))
    title_zh: Mapped[str | None] = mapped_column(sa.String(200))
    title_pinyin: Mapped[str | None] = mapped_column(sa.String(600))
    status: Mapped[ActivityStatus] = mapped_column(
        enum_column(ActivityStatus, "activity_status", 16), default=ActivityStatus.planned
    )
    start_on: Mapped[date] = mapped_column(index=True)
    # Indexed for "not over yet" (end_on >= day OR start_on >= day: crm.services.overview).
    end_on: Mapped[date | None] = mapped_column(index=True)
    city: Mapped[str | None] = mapped_column(sa.String(80))
    sector: Mapped[Sector | None] = mapped_column(enum_column(Sector, "activity_sector", 16))
    description: Mapped[str | None] = mapped_column(sa.Text)
    lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # MoU only
    signed_on: Mapped[date | None]
    expires_on: Mapped[date | None]
    agreement_status: Mapped[AgreementStatus | None] = mapped_column(
        enum_column(AgreementStatus, "agreement_status", 16)
    )
    # Research only: the publication's title or link
    publication: Mapped[str | None] = mapped_column(sa.String(500))
    # Attendees on sign-in sheets who are not registered by name
    unnamed_women: Mapped[int] = mapped_column(default=0)
    unnamed_men: Mapped[int] = mapped_column(default=0)
    unnamed_unspecified: Mapped[int] = mapped_column(default=0)

    lead: Mapped[User | None] = relationship(foreign_keys=[lead_id])
    topics: Mapped[list[Topic]] = relationship(secondary=activity_topics, order_by=Topic.name)
    parties: Mapped[list[ActivityParty]] = relationship(back_populates="activity")
    participations: WriteOnlyMapped[Participation] = relationship(back_populates="activity")


class ActivityParty(Model):
    __tablename__ = "activity_parties"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "organisation_id", "role", name="uq_activity_party"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[PartyRole] = mapped_column(enum_column(PartyRole, "party_role", 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[Activity] = relationship(back_populates="parties")
    organisation: Mapped[Organisation] = relationship()


class Participation(Model):
    __tablename__ = "participations"
    __table_args__ = (
        sa.UniqueConstraint("activity_id", "person_id", name="uq_participation_person"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(
        sa.ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    # The person's organisation at the time, kept when they later change jobs.
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[ParticipationStatus] = mapped_column(
        enum_column(ParticipationStatus, "participation_status", 16),
        default=ParticipationStatus.invited,
    )
    role: Mapped[ParticipationRole] = mapped_column(
        enum_column(ParticipationRole, "participation_role", 16),
        default=ParticipationRole.participant,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    activity: Mapped[Activity] = relationship(back_populates="participations")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])


# ---------------------------------------------------------------------------------------------
# Outreach: interactions and follow-ups
# ---------------------------------------------------------------------------------------------

interaction_stakeholders = sa.Table(
    "interaction_stakeholders",
    db.metadata,
    sa.Column(
        "interaction_id", sa.ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "stakeholder_id", sa.ForeignKey("stakeholders.id", ondelete="CASCADE"), primary_key=True
    ),
    # Derived, kept by crm.services.sector_masks: the interaction's moment while it is live,
    # NULL while it is in the trash. A stakeholder's contacts in a period are read off the
    # index below alone.
    sa.Column("occurred_at", UTCDateTime),
    sa.Index("ix_interaction_stakeholders_stakeholder_occurred", "stakeholder_id", "occurred_at"),
)

interaction_staff = sa.Table(
    "interaction_staff",
    db.metadata,
    sa.Column(
        "interaction_id", sa.ForeignKey("interactions.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class Interaction(Editable, Model):
    __tablename__ = "interactions"
    __table_args__ = (
        # Live interactions by moment; channel and sector_mask ride along, so that the report's
        # monthly counts read the index alone.
        sa.Index(
            "ix_interactions_deleted_occurred",
            "deleted_at",
            "occurred_at",
            "channel",
            "sector_mask",
        ),
        # An activity's interactions, newest first (the activity page), and someone's own log
        # (the dashboard, the list filtered by author): each also covers its foreign key.
        # Partial: most interactions belong to no activity, and an index of only those that
        # do tells SQLite's statistics how few rows `activity_id = ?` finds.
        sa.Index(
            "ix_interactions_activity_occurred",
            "activity_id",
            "occurred_at",
            sqlite_where=sa.text("activity_id IS NOT NULL"),
            postgresql_where=sa.text("activity_id IS NOT NULL"),
        ),
        sa.Index(
            "ix_interactions_logger_deleted_occurred", "logged_by_id", "deleted_at", "occurred_at"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, "channel", 16))
    direction: Mapped[Direction] = mapped_column(
        enum_column(Direction, "direction", 16), default=Direction.outbound
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str | None] = mapped_column(sa.Text)
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="SET NULL")
    )
    is_confidential: Mapped[bool] = mapped_column(default=False)
    logged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Derived, kept by crm.services.sector_masks: the sectors of its live stakeholders, one
    # bit per sector (the union of their `sector_mask`).
    sector_mask: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))

    stakeholders: Mapped[list[Stakeholder]] = relationship(secondary=interaction_stakeholders)
    # By name: the detail page and the form list them in one order on every database.
    staff: Mapped[list[User]] = relationship(secondary=interaction_staff, order_by="User.name")
    activity: Mapped[Activity | None] = relationship()
    logged_by: Mapped[User | None] = relationship(foreign_keys=[logged_by_id])


class FollowUp(Editable, Model):
    __tablename__ = "follow_ups"
    __table_args__ = (
        sa.CheckConstraint(
            "completed_at IS NULL OR status = 'done'", name="completed_only_when_done"
        ),
        sa.Index("ix_follow_ups_assignee_status_due", "assignee_id", "status", "due_on"),
        # Live follow-ups per assignee (My and Team follow-ups, the dashboard): their counts by
        # due date and by completion are read off this index alone.
        sa.Index(
            "ix_follow_ups_live_assignee_status",
            "assignee_id",
            "status",
            "completed_at",
            "due_on",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    details: Mapped[str | None] = mapped_column(sa.Text)
    due_on: Mapped[date]
    priority: Mapped[Priority] = mapped_column(
        enum_column(Priority, "priority", 16), default=Priority.normal
    )
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus, "follow_up_status", 16), default=FollowUpStatus.open
    )
    assignee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    stakeholder_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stakeholders.id", ondelete="SET NULL"), index=True
    )
    interaction_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("interactions.id", ondelete="SET NULL"), index=True
    )
    activity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="SET NULL"), index=True
    )
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    completion_note: Mapped[str | None] = mapped_column(sa.Text)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    creator: Mapped[User | None] = relationship(foreign_keys="FollowUp.created_by_id")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    stakeholder: Mapped[Stakeholder | None] = relationship(foreign_keys=[stakeholder_id])
    interaction: Mapped[Interaction | None] = relationship(foreign_keys=[interaction_id])
    activity: Mapped[Activity | None] = relationship(foreign_keys=[activity_id])


# ---------------------------------------------------------------------------------------------
# Donor indicators (logframe)
# ---------------------------------------------------------------------------------------------


class Indicator(Editable, Model):
    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(300))
    name_zh: Mapped[str | None] = mapped_column(sa.String(300))
    unit: Mapped[str] = mapped_column(sa.String(60))
    metric: Mapped[Metric] = mapped_column(enum_column(Metric, "metric", 32))
    # Any of "sex", "sector", "stakeholder_type".
    disaggregations: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    baseline: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=0)
    baseline_year: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)

    targets: Mapped[list[IndicatorTarget]] = relationship(
        back_populates="indicator", order_by="IndicatorTarget.year", cascade="all, delete-orphan"
    )


class IndicatorTarget(Model):
    __tablename__ = "indicator_targets"
    __table_args__ = (sa.UniqueConstraint("indicator_id", "year", name="uq_indicator_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("indicators.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int]
    target: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))

    indicator: Mapped[Indicator] = relationship(back_populates="targets")


# ---------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------


class SearchDocument(Model):
    """One searchable record in a form every database can index the same way.

    `terms` holds lower-case words separated by spaces: English words, every Chinese character
    as a word of its own, pinyin syllables, the joined pinyin and its initials, email parts,
    phone digits. SQLite indexes it with FTS5 and PostgreSQL with a GIN full-text index; both
    are built by DDL in crm.services.search, outside the ORM. Records in the trash have no
    document.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        sa.UniqueConstraint("entity_type", "entity_id", name="uq_search_documents_entity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(sa.String(20))
    entity_id: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(300))
    subtitle: Mapped[str] = mapped_column(sa.String(300), default="")
    # Whole-name keys, "|"-separated, for ranking exact and prefix matches first.
    keys: Mapped[str] = mapped_column(sa.String(1000), default="")
    terms: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# ---------------------------------------------------------------------------------------------
# Likely duplicates: what /duplicates pages through
# ---------------------------------------------------------------------------------------------


class DuplicatePair(Model):
    """Two live records of one kind that the duplicate matcher flags for each other, under the
    strongest reason they share: `rank` is its place in crm.services.duplicates.REASONS
    (email, phone, WeChat ID, Chinese name, name).

    Derived data, like the search index: crm.services.duplicates keeps it in the transaction
    of every write that can change it (`refresh`) and computes it for everyone (`rebuild`).
    Records in the trash have no pairs. No foreign keys, as for search documents: a merge
    moves every row that points at a record, and a pair is recomputed, never moved.
    """

    __tablename__ = "duplicate_pairs"
    __table_args__ = (
        sa.CheckConstraint("first_id < second_id", name="first_before_second"),
        sa.CheckConstraint("rank BETWEEN 0 AND 4", name="rank_range"),
        # The page: one kind, strongest reason first, then the older records; and a record's
        # older partners (the page shows the oldest).
        sa.Index("ix_duplicate_pairs_kind_rank", "kind", "rank", "first_id", "second_id"),
        sa.Index("ix_duplicate_pairs_second_first", "second_id", "first_id"),
    )

    first_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    second_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[StakeholderKind] = mapped_column(
        enum_column(StakeholderKind, "stakeholder_kind", 16)
    )
    rank: Mapped[int] = mapped_column(sa.SmallInteger)


# ---------------------------------------------------------------------------------------------
# Imports: an uploaded file staged for its preview, then committed in one transaction
# ---------------------------------------------------------------------------------------------


class ImportKind(StrEnum):
    organisations = "organisations"
    people = "people"
    attendance = "attendance"  # an activity's sign-in sheet: people, marked as attended


class ImportStatus(StrEnum):
    staged = "staged"
    committed = "committed"
    discarded = "discarded"


class DuplicateAction(StrEnum):
    """What an import does with a row that matches an existing record."""

    skip = "skip"
    update = "update"
    create = "create"


LABELS.add(
    [
        (ImportKind.organisations, _l("Organisations")),
        (ImportKind.people, _l("People")),
        (ImportKind.attendance, _l("Sign-in sheet")),
        (ImportStatus.staged, _l("Waiting for review")),
        (ImportStatus.committed, _l("Imported")),
        (ImportStatus.discarded, _l("Discarded")),
        (DuplicateAction.skip, _l("Skip the row")),
        (DuplicateAction.update, _l("Update the existing record")),
        (DuplicateAction.create, _l("Create a new record")),
    ]
)


class ImportBatch(Model):
    """A parsed upload waiting for its preview, then the report of what it wrote.

    The table (`headers`, `rows`: [[row number, [cell, ...]], ...] as text), the column
    `mapping` (a field name or "" per column), the per-row `decisions` ({"<row>": "skip" |
    "create" | "update:<id>"}) and the computed `preview` are JSON, so a large file is parsed
    once and the preview pages read it back. `rows` is emptied once the batch is committed or
    discarded: the records hold the data, and a copy of personal data is not kept longer than
    it is needed. `version` makes a second commit of the same batch fail instead of importing
    twice.
    """

    __tablename__ = "import_batches"
    __table_args__ = (sa.Index("ix_import_batches_creator_created", "created_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(enum_column(ImportKind, "import_kind", 24))
    status: Mapped[ImportStatus] = mapped_column(
        enum_column(ImportStatus, "import_status", 16), default=ImportStatus.staged
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_duplicate: Mapped[DuplicateAction] = mapped_column(
        enum_column(DuplicateAction, "duplicate_action", 16), default=DuplicateAction.skip
    )
    # How the file was read (format, encoding, delimiter, sheet), notices, and options of
    # the kind of import (an activity for an attendance sheet).
    source: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    headers: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    rows: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    mapping: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    decisions: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    preview: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    version: Mapped[int] = mapped_column(default=1)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __mapper_args__ = {"version_id_col": version}


# ---------------------------------------------------------------------------------------------
# Background jobs
# ---------------------------------------------------------------------------------------------


class JobKind(StrEnum):
    """What a background job does; crm.jobs holds the code that runs each kind."""

    import_ = "import"
    export = "export"  # large exports (issue #13): the kind is here so it needs no migration


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


LABELS.add(
    [
        (JobKind.import_, _l("Import")),
        (JobKind.export, _l("Export")),
        (JobStatus.queued, _l("Waiting to start")),
        (JobStatus.running, _l("Running")),
        (JobStatus.done, _l("Done")),
        (JobStatus.failed, _l("Failed")),
    ]
)


class Job(Model):
    """Work done in the background for a user, and what they see of it (crm.services.jobs).

    `status` goes queued → running → done or failed. `params` holds what the worker needs
    (ids and choices, never a file's contents), `result` a short answer (the import batch and
    its counts), `error` a message the user can read: never a traceback, which goes to the
    worker's log. While a job runs its progress lives in the job queue's own storage (see
    crm.jobs: an import holds SQLite's only write lock until it commits, so a progress row
    could not be committed beside it); `progress_done` and `progress_total` keep the counts
    once it ends. `subject` names what the job works on ("import_batches:12"), so a second
    job for the same thing is refused while one is queued or running.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint("progress_done >= 0", name="progress_not_negative"),
        sa.Index("ix_jobs_creator_created", "created_by_id", "created_at"),
        sa.Index("ix_jobs_subject_created", "subject", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(enum_column(JobKind, "job_kind", 16))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status", 16), default=JobStatus.queued
    )
    subject: Mapped[str | None] = mapped_column(sa.String(80))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.queued, JobStatus.running)
