"""Merge cannot forget a link: every foreign key to a stakeholder, read from the schema."""

from datetime import UTC, date, datetime

import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    Affiliation,
    ConsentPurpose,
    ConsentRecord,
    ContactDetail,
    CrossBorderTransfer,
    FollowUp,
    Interaction,
    Participation,
    Person,
    StakeholderRelationship,
    Tag,
    User,
)

STAKEHOLDER_TABLES = {"stakeholders", "people", "organisations"}


def _links():
    """(table, column) of every column that points at a stakeholder, an organisation or a
    person, except the primary keys of people and organisations (the records themselves)."""
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name not in STAKEHOLDER_TABLES:
                continue
            if table.name in STAKEHOLDER_TABLES and fk.parent.primary_key:
                continue
            found.append((table, fk.parent))
    return found


def _pointing_at(ids):
    return {
        f"{table.name}.{column.name}": db.session.scalar(
            sa.select(sa.func.count()).select_from(table).where(column.in_(ids))
        )
        for table, column in _links()
    }


def _link_everything(gone_person, gone_org, keep_person, keep_org, in_app, make_organisation):
    """One row in every table that can point at the two records about to be merged away."""
    make_organisation(display_name="Harmony Dyeing", parent_id=gone_org.id)
    partner = make_organisation(display_name="Partner NGO", org_type="ngo")
    with in_app():
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        forum = Activity(type="forum", title="Forum", start_on=date(2026, 5, 1))
        meeting = Interaction(
            occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
            channel="meeting",
            subject="Visit",
            logged_by_id=admin.id,
        )
        meeting.stakeholders = [db.session.get(Person, gone_person.id)]
        tag = Tag(name="union")
        db.session.add_all([forum, meeting, tag])
        db.session.flush()
        db.session.execute(
            sa.insert(db.metadata.tables["stakeholder_tags"]).values(
                stakeholder_id=gone_person.id, tag_id=tag.id
            )
        )
        db.session.add_all(
            [
                ActivityParty(activity_id=forum.id, organisation_id=gone_org.id, role="host"),
                Affiliation(person_id=gone_person.id, organisation_id=gone_org.id),
                Participation(
                    activity_id=forum.id, person_id=gone_person.id, organisation_id=gone_org.id
                ),
                FollowUp(
                    title="Call back",
                    due_on=date(2026, 3, 10),
                    assignee_id=admin.id,
                    stakeholder_id=gone_person.id,
                ),
                StakeholderRelationship(
                    source_id=gone_person.id, target_id=partner.id, type="partner_of"
                ),
                StakeholderRelationship(
                    source_id=partner.id, target_id=gone_org.id, type="supplier_to"
                ),
                ContactDetail(
                    person_id=gone_person.id, kind="email", value="li@old.cn", value_key="li@old.cn"
                ),
                ConsentRecord(
                    person_id=gone_person.id,
                    purpose=ConsentPurpose.communication,
                    status="given",
                    source="verbal",
                ),
                CrossBorderTransfer(person_id=gone_person.id, year=2026),
            ]
        )
        db.session.commit()


def test_merge_moves_every_column_that_points_at_a_stakeholder(
    login_as, make_person, make_organisation, in_app
):
    keep_person = make_person(family_name="Li", given_name="Na", email="li.na@example.cn")
    gone_person = make_person(family_name="Li", given_name="Na")
    keep_org = make_organisation(display_name="Harmony Garments Co., Ltd.")
    gone_org = make_organisation(display_name="Harmony Garments")
    _link_everything(gone_person, gone_org, keep_person, keep_org, in_app, make_organisation)
    with in_app():
        before = _pointing_at([gone_person.id, gone_org.id])
    # A new table that points at stakeholders needs a row above, so that this test sees it moved.
    assert [name for name, count in before.items() if count == 0] == []

    client = login_as("coordinator")
    for keep, gone in ((keep_person, gone_person), (keep_org, gone_org)):
        response = client.post(
            "/duplicates/merge",
            data={"first": keep.id, "second": gone.id, "survivor_version": "1"}
            | {"other_version": "1"},
        )
        assert response.status_code == 302, response.get_data(as_text=True)

    with in_app():
        after = _pointing_at([gone_person.id, gone_org.id])
        assert after == dict.fromkeys(before, 0)
        moved = _pointing_at([keep_person.id, keep_org.id])
        assert all(moved[name] >= 1 for name in before), moved


def test_merged_away_email_and_wechat_stay_as_further_contact_details(
    login_as, make_person, in_app
):
    keep = make_person(
        family_name="Wang", given_name="Fang", email="wang.fang@example.cn", wechat_id="wangfang88"
    )
    gone = make_person(
        family_name="Wang", given_name="Fang", email="fang.wang@old.example.cn", wechat_id="WF_1990"
    )
    client = login_as("coordinator")
    page = client.get(f"/duplicates/merge?first={keep.id}&second={gone.id}").get_data(as_text=True)
    assert 'name="discard_email"' in page and 'name="discard_wechat_id"' in page
    response = client.post(
        "/duplicates/merge",
        data={"first": keep.id, "second": gone.id, "survivor_version": "1", "other_version": "1"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "fang.wang@old.example.cn" in page and "WF_1990" in page
    assert "Other contact details" in page
    assert "2 contact details of the other record are kept" in page
    with in_app():
        details = db.session.scalars(
            sa.select(ContactDetail).where(ContactDetail.person_id == keep.id)
        ).all()
        assert sorted((d.kind, d.value, d.value_key) for d in details) == [
            ("email", "fang.wang@old.example.cn", "fang.wang@old.example.cn"),
            ("wechat", "WF_1990", "wf_1990"),
        ]
        assert all(d.source == f"#{gone.id} Wang Fang" for d in details)
        survivor = db.session.get(Person, keep.id)
        assert (survivor.email, survivor.wechat_id) == ("wang.fang@example.cn", "wangfang88")


def test_choosing_the_other_email_keeps_the_survivors_own_and_discarding_drops_it(
    login_as, make_person, in_app
):
    keep = make_person(family_name="Wang", given_name="Fang", email="wang.fang@example.cn")
    gone = make_person(
        family_name="Wang", given_name="Fang", email="fang@new.example.cn", wechat_id="wf1990"
    )
    keep2 = make_person(family_name="Zhou", given_name="Min", wechat_id="zm1")
    gone2 = make_person(family_name="Zhou", given_name="Min", wechat_id="zm2")
    client = login_as("coordinator")
    response = client.post(
        "/duplicates/merge",
        data={"first": keep.id, "second": gone.id, "survivor_version": "1"}
        | {"other_version": "1", "take_email": "other"},
    )
    assert response.status_code == 302
    response = client.post(
        "/duplicates/merge",
        data={"first": keep2.id, "second": gone2.id, "survivor_version": "1"}
        | {"other_version": "1", "discard_wechat_id": "1"},
    )
    assert response.status_code == 302
    with in_app():
        first = db.session.get(Person, keep.id)
        assert first.email == "fang@new.example.cn" and first.wechat_id is None
        # The survivor's own address, not chosen, is kept; so is the other's WeChat ID, which
        # the form left on the survivor's empty value.
        assert [(d.kind, d.value) for d in first.contact_details] == [
            ("email", "wang.fang@example.cn"),
            ("wechat", "wf1990"),
        ]
        second = db.session.get(Person, keep2.id)
        assert second.wechat_id == "zm1" and second.contact_details == []
