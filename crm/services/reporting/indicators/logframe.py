"""Donor indicators (logframe): the records the manager keeps.

An indicator is a record (code, English and Chinese name, unit, baseline, a target per year)
bound to one `Metric` (crm.services.reporting.indicators.metrics). Writes (`create`, `update`,
`delete`) need `Permission.MANAGE_INDICATORS` (managers and administrators), validate
everything before writing, record one AuditEvent (entity type "indicators") and commit once;
`restore` and `purge` are for administrators (the trash). Reading is for every signed-in role.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import AuditAction, Indicator, IndicatorTarget, Metric, User, label, utcnow
from crm.services import audit, lifecycle
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.reporting.indicators.metrics import DIMENSIONS, SUPPORTED, dimension_label
from crm.services.reporting.periods import FIRST_YEAR, LAST_YEAR

log = logging.getLogger(__name__)

MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14, 2)
MAX_TARGETS = 30
FIELDS = (
    "code",
    "name",
    "name_zh",
    "unit",
    "metric",
    "disaggregations",
    "baseline",
    "baseline_year",
    "notes",
)
MAX_LENGTHS = {"code": 20, "name": 300, "name_zh": 300, "unit": 60, "notes": 5000}


def number_text(value: Decimal | int | None) -> str:
    """A baseline or target without trailing zeros: 40, 12.5 (the audit trail's form too)."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# ---------------------------------------------------------------------------------------------
# Reading records
# ---------------------------------------------------------------------------------------------


def _require(actor: User | None) -> None:
    if not can(actor, Permission.MANAGE_INDICATORS):
        raise PermissionDenied(_("Only managers and administrators can change the indicators."))


def get(indicator_id: int) -> Indicator:
    """The live indicator with that id, or NotFound (also for indicators in the trash)."""
    found = db.session.get(Indicator, indicator_id)
    if found is None or found.deleted_at is not None:
        raise NotFound(_("No such indicator."))
    return found


def _code_key(indicator: Indicator) -> tuple[Any, ...]:
    """Logframe order: codes compared number by number (1.2 before 1.10); no code last."""
    parts = re.split(r"(\d+)", indicator.code or "")
    key = tuple((0, int(p), "") if p.isdecimal() else (1, 0, p.lower()) for p in parts if p)
    return (not indicator.code, key, indicator.name.lower(), indicator.id)


def list_indicators() -> list[Indicator]:
    """Every live indicator with its targets, in the order of their codes (two queries)."""
    stmt = (
        sa.select(Indicator)
        .where(Indicator.deleted_at.is_(None))
        .options(selectinload(Indicator.targets))
    )
    return sorted(db.session.scalars(stmt), key=_code_key)


def target_for(indicator: Indicator, year: int) -> Decimal | None:
    return next((t.target for t in indicator.targets if t.year == year), None)


def state(indicator: Indicator) -> dict[str, Any]:
    """The audited fields as JSON-safe values: what the history and the conflict page show."""
    values = audit.snapshot(indicator, FIELDS)
    values["baseline"] = number_text(indicator.baseline)
    values["disaggregations"] = list(indicator.disaggregations or [])
    values["targets"] = [f"{t.year}: {number_text(t.target)}" for t in indicator.targets]
    return values


# ---------------------------------------------------------------------------------------------
# Validation shared by create and update
# ---------------------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], name: str, *, required: str | None = None) -> str | None:
    value = data.get(name)
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ""):
        if required:
            raise InvalidInput(required, field=name)
        return None
    value = str(value)
    if len(value) > MAX_LENGTHS[name]:
        raise InvalidInput(_("At most %(count)d characters.", count=MAX_LENGTHS[name]), field=name)
    return value


def _amount(value: Any, name: str, *, required: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Give a number (0 when there is none)."), field=name)
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("Give a number, such as 40 or 12.5."), field=name) from None
    if not amount.is_finite():
        raise InvalidInput(_("Give a number, such as 40 or 12.5."), field=name)
    if amount < 0:
        raise InvalidInput(_("The number may not be negative."), field=name)
    if amount > MAX_AMOUNT:
        raise InvalidInput(_("The number is too large."), field=name)
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(_("Use at most two decimals."), field=name)
    return amount


def _year(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = None
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput(
            _("Give a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR),
            field=name,
        )
    return year


def _targets(rows: Iterable[Any]) -> dict[int, Decimal]:
    """{year: target} from rows of {"year", "target"} (rows with neither are skipped)."""
    found: dict[int, Decimal] = {}
    for row in rows:
        row = row if isinstance(row, Mapping) else {"year": row[0], "target": row[1]}
        year_value, target_value = row.get("year"), row.get("target")
        if year_value in (None, "") and target_value in (None, ""):
            continue
        year = _year(year_value, "targets")
        if year is None:
            raise InvalidInput(_("Give the year of each target."), field="targets")
        target = _amount(target_value, "targets", required=False)
        if target is None:
            raise InvalidInput(_("Give the target for %(year)d.", year=year), field="targets")
        if year in found:
            raise InvalidInput(_("%(year)d has two targets: keep one.", year=year), field="targets")
        found[year] = target
    if len(found) > MAX_TARGETS:
        raise InvalidInput(
            _("At most %(count)d yearly targets.", count=MAX_TARGETS), field="targets"
        )
    return dict(sorted(found.items()))


def _validated(data: Mapping[str, Any], *, current: Indicator | None) -> dict[str, Any]:
    """Clean values of every field, or InvalidInput with the field it belongs to."""
    values: dict[str, Any] = {
        "code": _text(data, "code"),
        "name": _text(data, "name", required=_("Give the indicator's name.")),
        "name_zh": _text(data, "name_zh"),
        "unit": _text(data, "unit", required=_("Give the unit: enterprises, people, forums…")),
        "notes": _text(data, "notes"),
    }
    try:
        metric = Metric(data.get("metric") or "")
    except ValueError:
        raise InvalidInput(_("Choose a figure from the list."), field="metric") from None
    values["metric"] = metric
    chosen = data.get("disaggregations") or []
    if isinstance(chosen, str):
        chosen = [chosen]
    unknown = [d for d in chosen if d not in DIMENSIONS]
    if unknown:
        raise InvalidInput(_("Choose disaggregations from the list."), field="disaggregations")
    unsupported = [d for d in chosen if d not in SUPPORTED[metric]]
    if unsupported:
        raise InvalidInput(
            _(
                "“%(figure)s” cannot be broken down by %(what)s. It can be broken down by: "
                "%(allowed)s.",
                figure=label(metric),
                what=", ".join(dimension_label(d).lower() for d in unsupported),
                allowed=", ".join(dimension_label(d).lower() for d in SUPPORTED[metric]),
            ),
            field="disaggregations",
        )
    values["disaggregations"] = [d for d in DIMENSIONS if d in chosen]
    values["baseline"] = _amount(data.get("baseline"), "baseline", required=True)
    values["baseline_year"] = _year(data.get("baseline_year"), "baseline_year")
    if "targets" in data:
        values["targets"] = _targets(data.get("targets") or [])
    elif current is not None:
        values["targets"] = {t.year: t.target for t in current.targets}
    else:
        values["targets"] = {}
    if values["code"] is not None:
        clash = sa.select(Indicator.id).where(
            Indicator.deleted_at.is_(None),
            sa.func.lower(Indicator.code) == values["code"].lower(),
        )
        if current is not None:
            clash = clash.where(Indicator.id != current.id)
        if db.session.scalar(clash.limit(1)) is not None:
            raise InvalidInput(
                _("Another indicator has the code %(code)s.", code=values["code"]), field="code"
            )
    return values


def _assign(indicator: Indicator, values: Mapping[str, Any]) -> None:
    for name in FIELDS:
        setattr(indicator, name, values[name])
    wanted: dict[int, Decimal] = values["targets"]
    # Update rows in place by year: deleting and re-inserting a year in one flush would
    # collide with the unique (indicator, year) constraint.
    kept = []
    for target in indicator.targets:
        if target.year in wanted:
            if target.target != wanted[target.year]:
                target.target = wanted[target.year]
            kept.append(target)
    have = {t.year for t in kept}
    kept.extend(IndicatorTarget(year=y, target=t) for y, t in wanted.items() if y not in have)
    kept.sort(key=lambda t: t.year)
    if [id(t) for t in kept] != [id(t) for t in indicator.targets]:
        indicator.targets = kept


# ---------------------------------------------------------------------------------------------
# Create, update, delete
# ---------------------------------------------------------------------------------------------


def create(data: Mapping[str, Any], *, actor: User) -> Indicator:
    """Create an indicator from plain values (`targets`: rows of year and target); audited.

    Managers and administrators. Raises InvalidInput (nothing written) for values the rules
    reject: a missing name or unit, an unknown figure, a disaggregation the figure cannot
    give, a negative number, a year outside 1990–2100, a year with two targets.
    """
    _require(actor)
    values = _validated(data, current=None)
    indicator = Indicator(created_by_id=actor.id, disaggregations=[])
    with db.session.no_autoflush:
        _assign(indicator, values)
    db.session.add(indicator)
    db.session.flush()
    audit.record(
        indicator,
        actor=actor,
        action=AuditAction.create,
        changes={k: [None, v] for k, v in state(indicator).items() if v not in (None, "", [])},
        summary=indicator.name,
    )
    db.session.commit()
    log.info("created indicator %s", indicator.id)
    return indicator


def _stale(indicator: Indicator) -> Conflict:
    return Conflict(
        _("Someone else saved this indicator while you were editing it."),
        current=state(indicator),
    )


def update(
    indicator: Indicator, changes: Mapping[str, Any], *, version: int, actor: User
) -> Indicator:
    """Apply changes made on top of `version`; one audit event with the diff.

    Raises Conflict (nothing written) when someone saved the indicator since `version` was
    read, InvalidInput for values the rules reject (see `create`).
    """
    _require(actor)
    if indicator.deleted_at is not None:
        raise NotFound(_("No such indicator."))
    if indicator.version != version:
        raise _stale(indicator)
    merged = {**{name: getattr(indicator, name) for name in FIELDS}, **changes}
    values = _validated(merged, current=indicator)
    before = state(indicator)
    try:
        with db.session.no_autoflush:
            _assign(indicator, values)
            after = state(indicator)
        changed = audit.diff(before, after)
        if changed:
            # Targets live in another table: bump the version so that others see the change.
            indicator.updated_at = utcnow()
            audit.record(
                indicator,
                actor=actor,
                action=AuditAction.update,
                changes=changed,
                summary=indicator.name,
            )
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(indicator)
        raise _stale(indicator) from None
    return indicator


def _check_restore(indicator: Indicator) -> None:
    """InvalidInput when a live indicator has taken the code of one coming back."""
    if not indicator.code:
        return
    clash = db.session.scalar(
        sa.select(Indicator.id)
        .where(
            Indicator.deleted_at.is_(None),
            sa.func.lower(Indicator.code) == indicator.code.lower(),
        )
        .limit(1)
    )
    if clash is not None:
        raise InvalidInput(_("Another indicator has the code %(code)s.", code=indicator.code))


LIFECYCLE = lifecycle.Lifecycle(
    summary=lambda indicator: indicator.name,
    may_delete=lambda _indicator, actor: can(actor, Permission.MANAGE_INDICATORS),
    refused=lambda: _("Only managers and administrators can change the indicators."),
    missing=lambda: _("No such indicator."),
    check_restore=_check_restore,
)


def delete(indicator: Indicator, *, actor: User) -> None:
    """Move an indicator to the trash: it leaves the list and its figures are no longer
    shown; its targets are kept with it. NotFound when it is in the trash already."""
    lifecycle.delete(indicator, LIFECYCLE, actor=actor)


def restore(indicator: Indicator, *, actor: User) -> None:
    """Take an indicator out of the trash (administrators). InvalidInput when it is live, or
    when a live indicator has taken its code meanwhile (change that one's code first)."""
    lifecycle.restore(indicator, LIFECYCLE, actor=actor)


def purge(indicator: Indicator, *, actor: User) -> None:
    """Delete a trashed indicator and its targets for good (administrators); the audit trail
    keeps a purge event. The database deletes its targets with it (ON DELETE CASCADE); the
    records it counted are not touched."""
    lifecycle.purge(indicator, LIFECYCLE, actor=actor)
