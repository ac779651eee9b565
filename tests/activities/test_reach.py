"""Reach on a known data set: attended by sex, share of women, organisations, officials.

The data set (one training):

| person | sex         | organisation at the time      | status     |
|--------|-------------|-------------------------------|------------|
| Ai     | female      | Bright Electronics (ent., el.) | attended   |
| Bo     | male        | Bright Electronics             | attended   |
| Cui    | female      | Labour Bureau (gov., —)        | attended   |
| Du     | male        | Labour Bureau                  | attended   |
| En     | undisclosed | Silk Garments (ent., textile)  | attended   |
| Fu     | other       | Textile Union (union, textile) | attended   |
| Gu     | female      | Silk Garments                  | no-show    |
| He     | male        | —                              | attended   |
| Ivy    | female      | Silk Garments                  | registered |
| Jin    | female      | Silk Garments, in the trash    | attended   |

Unnamed attendees: 5 women, 3 men, 2 of unrecorded sex. Parties: an NGO host (not reached),
Cotton Mill (enterprise, textile) as a participant (reached), Bright Electronics also as a
participant (already counted once).

Expected: named women 2 (Ai, Cui), men 3 (Bo, Du, He), other 1 (Fu), not stated 1 (En);
women 2 + 5 = 7, men 3 + 3 = 6, not stated 1 + 2 = 3, other 1, total 7 + 10 = 17; share of
women 7/17. Organisations reached 5: Bright, Bureau, Silk, Union, Cotton Mill; by type
enterprise 3, government 1, trade union 1; by sector electronics 1, textile 3, none 1.
Officials 2 (Cui, Du), of whom 1 woman.
"""

from datetime import date

import pytest

from crm.extensions import db
from crm.models import Activity, Person, User
from crm.services import activities, stakeholders
from crm.services.activities import Attendee, Headcounts, OrgFacts, compute_reach

BRIGHT = OrgFacts(1, "enterprise", "electronics")
BUREAU = OrgFacts(2, "government", None)
SILK = OrgFacts(3, "enterprise", "textile")
UNION = OrgFacts(4, "trade_union", "textile")
COTTON = OrgFacts(5, "enterprise", "textile")


def _check(reach) -> None:
    assert (reach.named_women, reach.named_men, reach.named_other, reach.named_undisclosed) == (
        2,
        3,
        1,
        1,
    )
    assert reach.named == 7
    assert reach.unnamed == Headcounts(5, 3, 2)
    assert (reach.women, reach.men, reach.other, reach.not_stated, reach.total) == (7, 6, 1, 3, 17)
    assert reach.share_of_women == pytest.approx(7 / 17)
    assert reach.organisations == 5
    assert reach.by_type == (("enterprise", 3), ("government", 1), ("trade_union", 1))
    assert reach.by_sector == (("electronics", 1), ("textile", 3), ("", 1))
    assert (reach.officials, reach.officials_women) == (2, 1)
    assert reach.of_type("enterprise") == 3 and reach.of_type("ngo") == 0


def test_reach_of_the_known_data_set_computed_from_plain_facts():
    attendees = [
        Attendee(1, "female", BRIGHT),
        Attendee(2, "male", BRIGHT),
        Attendee(3, "female", BUREAU),
        Attendee(4, "male", BUREAU),
        Attendee(5, "undisclosed", SILK),
        Attendee(6, "other", UNION),
        Attendee(8, "male", None),
        Attendee(8, "male", None),  # the same person twice counts once
    ]
    _check(compute_reach(attendees, Headcounts(5, 3, 2), [COTTON, BRIGHT]))


def test_reach_of_nobody_is_zero_with_no_share():
    reach = compute_reach([], Headcounts())
    assert reach.total == 0 and reach.share_of_women is None and reach.organisations == 0
    assert reach.by_type == () and reach.by_sector == ()


def test_unnamed_attendees_alone_count_by_sex_but_reach_no_organisation():
    reach = compute_reach([], Headcounts(women=3, men=1, unspecified=0))
    assert (reach.women, reach.men, reach.total) == (3, 1, 4)
    assert reach.share_of_women == pytest.approx(0.75)
    assert reach.organisations == 0 and reach.officials == 0


@pytest.fixture
def known_activity(app, actor, make_activity, make_organisation, make_person, employ):
    """The data set of the module docstring, written through the services."""
    activity = make_activity(unnamed_women=5, unnamed_men=3, unnamed_unspecified=2)
    bright = make_organisation(display_name="Bright Electronics", sector="electronics")
    bureau = make_organisation(display_name="Labour Bureau", org_type="government", sector=None)
    silk = make_organisation(display_name="Silk Garments", sector="textile")
    union = make_organisation(
        display_name="Textile Union", org_type="trade_union", sector="textile"
    )
    cotton = make_organisation(display_name="Cotton Mill", sector="textile")
    ngo = make_organisation(display_name="Workers' Voice", org_type="ngo", sector="cross_sector")
    rows = [
        ("Ai", "female", bright, "attended"),
        ("Bo", "male", bright, "attended"),
        ("Cui", "female", bureau, "attended"),
        ("Du", "male", bureau, "attended"),
        ("En", "undisclosed", silk, "attended"),
        ("Fu", "other", union, "attended"),
        ("Gu", "female", silk, "no_show"),
        ("He", "male", None, "attended"),
        ("Ivy", "female", silk, "registered"),
        ("Jin", "female", silk, "attended"),
    ]
    people = {}
    for name, gender, org, _status in rows:
        person = make_person(family_name=name, given_name="Test", gender=gender)
        if org is not None:
            employ(person, org)
        people[name] = person
    with app.app_context():
        admin = db.session.get(User, actor.id)
        live = db.session.get(Activity, activity.id)
        for status in ("attended", "no_show", "registered"):
            activities.add_participants(
                live,
                [people[n].id for n, _g, _o, s in rows if s == status],
                status=status,
                actor=admin,
            )
        for org, role in ((ngo, "host"), (cotton, "participant"), (bright, "participant")):
            activities.add_party(live, organisation_id=org.id, role=role, actor=admin)
        stakeholders.delete(db.session.get(Person, people["Jin"].id), actor=admin)
    return activity, people, {"bright": bright, "bureau": bureau}


def test_reach_of_the_known_data_set_from_the_database(app, known_activity):
    activity, _people, _orgs = known_activity
    with app.app_context():
        _check(activities.reach(db.session.get(Activity, activity.id)))


def test_reach_keeps_the_organisation_at_the_time_after_a_job_change(
    app, actor, known_activity, make_organisation
):
    """Ai moves from Bright Electronics to the bureau after the training: the training still
    reached Bright Electronics, and Ai is not counted as an official."""
    activity, people, orgs = known_activity
    with app.app_context():
        admin = db.session.get(User, actor.id)
        ai = db.session.get(Person, people["Ai"].id)
        (position,) = [a for a in ai.affiliations if a.end_on is None]
        stakeholders.end_affiliation(position, end_on=date(2026, 6, 30), actor=admin)
        stakeholders.add_affiliation(
            ai,
            organisation_id=orgs["bureau"].id,
            title="Inspector",
            start_on=date(2026, 7, 1),
            end_on=None,
            actor=admin,
        )
        _check(activities.reach(db.session.get(Activity, activity.id)))


def test_reach_is_shown_on_the_activity_page(login_as, known_activity):
    activity, _people, _orgs = known_activity
    page = login_as("viewer").get(f"/activities/{activity.id}").get_data(as_text=True)
    reach = page.split('id="reach"')[1].split("</section>")[0]
    assert 'data-testid="reach-total">17<' in reach
    assert 'data-testid="reach-women">7<' in reach and 'data-testid="reach-men">6<' in reach
    assert 'data-testid="reach-share">41%<' in reach
    assert 'data-testid="reach-organisations">5<' in reach
    assert 'data-testid="reach-officials">2 ' in reach
    women_row = reach.split('data-testid="reach-row-women"')[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in women_row.split("text-end")[1:]] == [
        '">2',
        '">5',
        ' fw-semibold">7',
    ]


def test_list_shows_named_and_unnamed_attendees(login_as, known_activity):
    page = login_as("viewer").get("/activities").get_data(as_text=True)
    row = page.split('data-testid="activity-row"')[1].split("</tr>")[0]
    # 7 named attendees (Jin is in the trash) + 10 unnamed.
    assert '<td class="text-end">17</td>' in row
