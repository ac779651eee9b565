"""Daily reminder digests: one email per person with follow-ups due within two days or overdue.

Run by cron (`flask --app wsgi crm send-reminders`). A follow-up is included at most once a
day: its `reminder_sent_at` is set when the message that lists it has been accepted by the
SMTP server, so a second run the same day sends nothing new, and a server that is down marks
nothing.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask_babel import force_locale, ngettext
from sqlalchemy.orm import joinedload

from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import FollowUp, FollowUpStatus, User, utcnow
from crm.services import clock, mail

log = logging.getLogger(__name__)

DUE_WITHIN_DAYS = 2


@dataclass(frozen=True)
class Digest:
    user: User
    follow_ups: list[FollowUp]


@dataclass(frozen=True)
class Report:
    digests: int
    follow_ups: int


def pending(*, today: date, day_start: datetime) -> list[Digest]:
    """Digests still to send today: open follow-ups due by `today + 2` not reminded since
    `day_start` (local midnight), for enabled assignees."""
    stmt = (
        sa.select(FollowUp)
        .join(User, User.id == FollowUp.assignee_id)
        .where(
            FollowUp.deleted_at.is_(None),
            FollowUp.status == FollowUpStatus.open,
            FollowUp.due_on <= today + timedelta(days=DUE_WITHIN_DAYS),
            User.is_enabled,
            sa.or_(FollowUp.reminder_sent_at.is_(None), FollowUp.reminder_sent_at < day_start),
        )
        .options(joinedload(FollowUp.assignee), joinedload(FollowUp.stakeholder))
        .order_by(User.id, FollowUp.due_on, FollowUp.id)
    )
    by_user: dict[int, list[FollowUp]] = defaultdict(list)
    users: dict[int, User] = {}
    for follow_up in db.session.scalars(stmt):
        by_user[follow_up.assignee_id].append(follow_up)
        users[follow_up.assignee_id] = follow_up.assignee
    return [Digest(users[uid], items) for uid, items in by_user.items()]


def compose(digest: Digest, *, today: date, settings: mail.Settings, base_url: str) -> EmailMessage:
    """The digest as an email in the user's language."""
    with force_locale(digest.user.locale.value):
        overdue = [f for f in digest.follow_ups if f.due_on < today]
        lines = [_("Hello %(name)s,", name=digest.user.name), ""]
        if overdue:
            lines.append(_("Overdue:"))
            lines += [_line(f) for f in overdue]
            lines.append("")
        soon = [f for f in digest.follow_ups if f.due_on >= today]
        if soon:
            lines.append(_("Due in the next two days:"))
            lines += [_line(f) for f in soon]
            lines.append("")
        lines.append(_("Your follow-ups: %(url)s", url=f"{base_url.rstrip('/')}/follow-ups/mine"))
        subject = ngettext(
            "%(num)d follow-up needs your attention",
            "%(num)d follow-ups need your attention",
            len(digest.follow_ups),
        )
        return mail.message(
            settings, to=[digest.user.email], subject=subject, body="\n".join(lines)
        )


def _line(follow_up: FollowUp) -> str:
    about = f" ({follow_up.stakeholder.display_name})" if follow_up.stakeholder else ""
    return f"- {clock.display(follow_up.due_on)}  {follow_up.title}{about}"


def send(*, today: date, day_start: datetime, settings: mail.Settings, base_url: str) -> Report:
    """Send today's digests over one SMTP connection; commits the marks of what was sent.

    Raises mail.MailError when the server cannot be reached or refuses a message; the
    follow-ups of digests already accepted stay marked, the others stay unmarked.
    """
    digests = pending(today=today, day_start=day_start)
    if not digests:
        return Report(0, 0)
    sent = items = 0
    try:
        with smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout) as smtp:
            if settings.use_tls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            for digest in digests:
                message = compose(digest, today=today, settings=settings, base_url=base_url)
                smtp.send_message(message)
                now = utcnow()
                for follow_up in digest.follow_ups:
                    follow_up.reminder_sent_at = now
                db.session.flush()
                sent += 1
                items += len(digest.follow_ups)
    except (OSError, smtplib.SMTPException) as err:
        db.session.commit()  # keep the marks of digests the server accepted
        # The type only: a refused recipient's message holds their email address.
        log.error("reminders stopped after %d digests: %s", sent, type(err).__name__)
        raise mail.MailError(f"{settings.server}:{settings.port}: {err}") from err
    db.session.commit()
    log.info("sent %d reminder digests with %d follow-ups", sent, items)
    return Report(sent, items)
