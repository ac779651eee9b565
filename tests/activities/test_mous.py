"""MoUs: the signing rules, and where each stands on a given day (boundary dates included)."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import Activity, User
from crm.services import activities
from crm.services.activities import MouStatus, mou_status
from crm.services.errors import InvalidInput

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("agreement", "expires_on", "expected"),
    [
        ("draft", None, MouStatus.pending),
        ("negotiating", TODAY - timedelta(days=400), MouStatus.pending),
        (None, None, MouStatus.pending),
        ("signed", None, MouStatus.active),  # open-ended
        ("signed", TODAY + timedelta(days=91), MouStatus.active),
        ("signed", TODAY + timedelta(days=90), MouStatus.expiring),
        ("signed", TODAY + timedelta(days=1), MouStatus.expiring),
        ("signed", TODAY, MouStatus.expiring),  # in force until the end of its last day
        ("signed", TODAY - timedelta(days=1), MouStatus.expired),
        ("expired", TODAY + timedelta(days=300), MouStatus.expired),  # the status says so
        ("terminated", TODAY + timedelta(days=300), MouStatus.terminated),
    ],
)
def test_mou_status_on_a_given_day(agreement, expires_on, expected):
    assert mou_status(agreement, expires_on, today=TODAY) == expected


def _mou(make_activity, title, *, agreement, signed_on=date(2025, 1, 1), expires_on=None):
    return make_activity(
        type="mou",
        title=title,
        start_on=signed_on or date(2025, 1, 1),
        end_on=None,
        signed_on=signed_on if agreement != "draft" else None,
        expires_on=expires_on,
        agreement_status=agreement,
    )


def test_mou_board_puts_each_mou_in_its_bucket_with_its_signatories(
    app, actor, make_activity, make_organisation
):
    active = _mou(make_activity, "Open-ended MoU", agreement="signed")
    expiring = _mou(
        make_activity, "MoU ending soon", agreement="signed", expires_on=TODAY + timedelta(90)
    )
    last_day = _mou(make_activity, "MoU ending today", agreement="signed", expires_on=TODAY)
    expired = _mou(
        make_activity, "MoU ended yesterday", agreement="signed", expires_on=TODAY - timedelta(1)
    )
    draft = _mou(make_activity, "Draft MoU", agreement="draft", signed_on=None)
    make_activity(title="Not an MoU")
    ministry = make_organisation(display_name="Ministry of Human Resources", org_type="government")
    ilo = make_organisation(display_name="ILO Beijing", org_type="international")
    host = make_organisation(display_name="Host only")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        for org, role in ((ministry, "signatory"), (ilo, "signatory"), (host, "host")):
            activities.add_party(
                db.session.get(Activity, active.id), organisation_id=org.id, role=role, actor=admin
            )
        board = activities.mou_board(today=TODAY)
        assert [r.activity.id for r in board.bucket("active")] == [active.id]
        assert [r.activity.id for r in board.bucket("expiring")] == [last_day.id, expiring.id]
        assert [r.days_left for r in board.bucket("expiring")] == [0, 90]
        assert [r.activity.id for r in board.bucket("expired")] == [expired.id]
        assert [r.activity.id for r in board.bucket("pending")] == [draft.id]
        assert board.counts() == {
            "pending": 1,
            "active": 1,
            "expiring": 2,
            "expired": 1,
            "terminated": 0,
        }
        (row,) = board.bucket("active")
        assert sorted(o.display_name for o in row.signatories) == [
            "ILO Beijing",
            "Ministry of Human Resources",
        ]


def test_mou_page_shows_the_buckets(login_as, make_activity):
    _mou(make_activity, "Ministry MoU 2024", agreement="signed", expires_on=date(2025, 1, 31))
    page = login_as("viewer").get("/activities/mous").get_data(as_text=True)
    expired = page.split('data-testid="bucket-expired"')[1].split("</section>")[0]
    assert "Ministry MoU 2024" in expired
    active = page.split('data-testid="bucket-active"')[1].split("</section>")[0]
    assert "Ministry MoU 2024" not in active


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"signed_on": date(2026, 3, 1), "expires_on": date(2026, 3, 1)}, "expires_on"),
        ({"signed_on": date(2026, 3, 1), "expires_on": date(2026, 2, 1)}, "expires_on"),
        ({"agreement_status": "signed", "signed_on": None}, "signed_on"),
        ({"agreement_status": "terminated", "signed_on": None}, "signed_on"),
        ({"agreement_status": "void"}, "agreement_status"),
    ],
)
def test_mou_rules_in_the_service(app, actor, over, field):
    values = {"type": "mou", "title": "MoU", "start_on": date(2026, 3, 1), **over}
    with app.app_context():
        with pytest.raises(InvalidInput) as err:
            activities.create(values, actor=db.session.get(User, actor.id))
        assert err.value.field == field
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_an_mou_expiring_the_day_after_signing_is_accepted(make_activity):
    mou = _mou(make_activity, "Short MoU", agreement="signed", expires_on=date(2025, 1, 2))
    assert (mou.signed_on, mou.expires_on) == (date(2025, 1, 1), date(2025, 1, 2))


def test_a_new_mou_without_a_status_is_a_draft(make_activity):
    mou = make_activity(type="mou", title="Draft", agreement_status=None)
    assert mou.agreement_status == "draft"


def test_the_activity_page_of_an_mou_shows_its_status_and_signatories(
    login_as, make_activity, make_organisation, app, actor
):
    mou = _mou(make_activity, "Ministry MoU", agreement="signed", expires_on=date(2099, 1, 1))
    ministry = make_organisation(display_name="Ministry of Human Resources", org_type="government")
    with app.app_context():
        activities.add_party(
            db.session.get(Activity, mou.id),
            organisation_id=ministry.id,
            role="signatory",
            actor=db.session.get(User, actor.id),
        )
    page = login_as("viewer").get(f"/activities/{mou.id}").get_data(as_text=True)
    card = page.split('id="mou"')[1].split("</section>")[0]
    assert 'data-testid="mou-status">Active<' in card and "Ministry of Human Resources" in card
