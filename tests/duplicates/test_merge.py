"""Duplicate detection on creation and across the database; merging without losing links."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Activity,
    ActivityParty,
    Affiliation,
    AuditEvent,
    FollowUp,
    Interaction,
    Organisation,
    Participation,
    Person,
    StakeholderRelationship,
    User,
    interaction_stakeholders,
    stakeholder_tags,
)
from crm.services import duplicates, search


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("东莞和谐服装有限公司", "东莞和谐服装股份有限公司"),
        ("Dongguan Harmony Garments Co., Ltd.", "dongguan harmony garments co ltd"),
        ("Dongguan Harmony Garments Co., Ltd.", "Dongguan Harmony Garments Inc."),
        ("Shenzhen Bright Electronics Limited", "Shenzhen  Bright-Electronics"),
        ("华为技术有限公司（深圳）", "华为技术有限公司"),
    ],
)
def test_organisation_names_match_without_suffixes_and_spacing(first, second):
    assert duplicates.organisation_key(first) == duplicates.organisation_key(second)


def test_different_organisations_do_not_match():
    assert duplicates.organisation_key("Harmony Garments") != duplicates.organisation_key(
        "Harmony Electronics"
    )


def test_person_in_characters_matches_the_same_name_in_pinyin():
    assert duplicates.person_key("王芳", None, None) == duplicates.person_key(None, "Wang", "Fang")


def _person_candidates(in_app, **data):
    with in_app():
        return [
            (c.stakeholder.display_name, c.reasons) for c in duplicates.candidates_for_person(data)
        ]


def test_person_candidates_by_email_phone_wechat_and_name(in_app, make_person):
    make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        email="wang.fang@example.cn",
        phone="+86 138 0013 8000",
        wechat_id="wf_88",
    )
    assert _person_candidates(in_app, email="WANG.FANG@example.cn") == [("Wang Fang", ("email",))]
    assert _person_candidates(in_app, phone="13800138000") == [("Wang Fang", ("phone",))]
    assert _person_candidates(in_app, wechat_id="WF_88") == [("Wang Fang", ("wechat",))]
    assert _person_candidates(in_app, family_name="Wang", given_name="Fang") == [
        ("Wang Fang", ("name",))
    ]
    assert _person_candidates(in_app, chinese_name="王芳") == [
        ("Wang Fang", ("chinese_name", "name"))
    ]
    assert _person_candidates(in_app, family_name="Li", email="li@example.cn") == []


def test_deleted_records_are_not_candidates(in_app, make_organisation, login_as):
    org = make_organisation(display_name="Harmony Garments Co., Ltd.")
    assert login_as("coordinator").post(f"/organisations/{org.id}/delete").status_code == 302
    with in_app():
        assert duplicates.candidates_for_organisation({"display_name": "Harmony Garments"}) == []


def test_coordinator_sees_likely_pairs(login_as, make_organisation, make_person):
    make_organisation(display_name="Harmony Garments Co., Ltd.", chinese_name="和谐服装有限公司")
    make_organisation(display_name="Harmony Garment Factory", chinese_name="和谐服装股份有限公司")
    make_organisation(display_name="Unrelated Ltd.")
    make_person(family_name="Wang", given_name="Fang", chinese_name="王芳")
    make_person(family_name="Wang", given_name="Fang")
    client = login_as("coordinator")
    page = client.get("/duplicates").get_data(as_text=True)
    assert "Harmony Garment Factory" in page and "same Chinese name" in page
    assert "Unrelated" not in page
    page = client.get("/duplicates?kind=person").get_data(as_text=True)
    # 王芳 and the same name in pinyin alone, both shown family name first.
    assert page.count("Wang Fang") >= 2 and "same name" in page


def test_member_cannot_open_duplicates_or_merge(login_as, make_organisation):
    a = make_organisation(display_name="A Co.")
    b = make_organisation(display_name="B Co.")
    client = login_as("member")
    assert client.get("/duplicates").status_code == 403
    assert client.post("/duplicates/merge", data={"first": a.id, "second": b.id}).status_code == 403


def _linked_rows(person_ids, org_ids):
    """Every row that links to these stakeholders, as comparable tuples."""
    ids = person_ids + org_ids
    q = db.session.execute
    return {
        "interactions": q(
            sa.select(sa.func.count())
            .select_from(interaction_stakeholders)
            .where(interaction_stakeholders.c.stakeholder_id.in_(ids))
        ).scalar(),
        "tags": q(
            sa.select(sa.func.count())
            .select_from(stakeholder_tags)
            .where(stakeholder_tags.c.stakeholder_id.in_(ids))
        ).scalar(),
        "follow_ups": q(
            sa.select(sa.func.count()).select_from(FollowUp).where(FollowUp.stakeholder_id.in_(ids))
        ).scalar(),
        "affiliations": q(
            sa.select(sa.func.count())
            .select_from(Affiliation)
            .where(Affiliation.person_id.in_(person_ids))
        ).scalar(),
        "participations": q(
            sa.select(sa.func.count())
            .select_from(Participation)
            .where(Participation.person_id.in_(person_ids))
        ).scalar(),
        "relationships": q(
            sa.select(sa.func.count())
            .select_from(StakeholderRelationship)
            .where(
                sa.or_(
                    StakeholderRelationship.source_id.in_(ids),
                    StakeholderRelationship.target_id.in_(ids),
                )
            )
        ).scalar(),
    }


def test_merging_two_people_keeps_every_link(login_as, make_person, make_organisation, in_app):
    keep = make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        email="wang.fang@example.cn",
        tags=["union"],
    )
    gone = make_person(
        family_name="Wang",
        given_name="Fang",
        phone="+86 139 0000 0000",
        job_title="HR Director",
        tags=["training 2026", "union"],
    )
    org = make_organisation(display_name="Harmony Garments")
    other_org = make_organisation(display_name="Bright Electronics")
    with in_app():
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        training = Activity(type="training", title="OSH training", start_on=date(2026, 3, 4))
        forum = Activity(type="forum", title="Wages forum", start_on=date(2026, 4, 1))
        db.session.add_all([training, forum])
        db.session.flush()
        db.session.add_all(
            [
                Participation(activity_id=training.id, person_id=keep.id, status="attended"),
                Participation(activity_id=training.id, person_id=gone.id, status="registered"),
                Participation(activity_id=forum.id, person_id=gone.id, status="attended"),
                Affiliation(person_id=gone.id, organisation_id=org.id, title="HR Director"),
                StakeholderRelationship(
                    source_id=gone.id, target_id=other_org.id, type="partner_of"
                ),
                StakeholderRelationship(source_id=keep.id, target_id=gone.id, type="other"),
            ]
        )
        shared = Interaction(
            occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
            channel="meeting",
            subject="Both present",
            logged_by_id=admin.id,
        )
        only_gone = Interaction(
            occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
            channel="wechat",
            subject="WeChat follow-up",
            logged_by_id=admin.id,
        )
        shared.stakeholders = [db.session.get(Person, keep.id), db.session.get(Person, gone.id)]
        only_gone.stakeholders = [db.session.get(Person, gone.id)]
        db.session.add_all([shared, only_gone])
        db.session.add(
            FollowUp(
                title="Send invitation",
                due_on=date(2026, 3, 10),
                assignee_id=admin.id,
                stakeholder_id=gone.id,
            )
        )
        db.session.commit()
        before = _linked_rows([keep.id, gone.id], [])

    client = login_as("coordinator")
    page = client.get(f"/duplicates/merge?first={keep.id}&second={gone.id}").get_data(as_text=True)
    assert f"Merge in: Wang Fang (#{gone.id})" in page
    response = client.post(
        "/duplicates/merge",
        data={
            "first": keep.id,
            "second": gone.id,
            "survivor_version": "1",
            "other_version": "1",
            "take_phone": "other",
            "take_job_title": "other",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/people/{keep.id}"

    with in_app():
        after = _linked_rows([keep.id, gone.id], [])
        # Kept once: the shared interaction row and training participation and the "union" tag;
        # dropped: the relationship between the two records themselves.
        assert after == {
            **before,
            "interactions": before["interactions"] - 1,
            "participations": before["participations"] - 1,
            "tags": before["tags"] - 1,
            "relationships": before["relationships"] - 1,
        }
        survivor = db.session.get(Person, keep.id)
        assert survivor.phone == "+86 139 0000 0000" and survivor.job_title == "HR Director"
        assert survivor.email == "wang.fang@example.cn"
        assert sorted(t.name for t in survivor.tags) == ["training 2026", "union"]
        assert db.session.get(Person, gone.id).deleted_at is not None
        # Everything that pointed at the merged record now points at the survivor.
        assert _linked_rows([gone.id], []) == dict.fromkeys(before, 0) | {"relationships": 0}
        statuses = dict(
            db.session.execute(
                sa.select(Participation.activity_id, Participation.status).where(
                    Participation.person_id == keep.id
                )
            ).all()
        )
        assert sorted(statuses.values()) == ["attended", "attended"]
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "merge")).all()
        assert {(e.entity_type, e.entity_id) for e in events} == {
            ("people", keep.id),
            ("people", gone.id),
        }
        assert [h.entity_id for h in search.search("wang fang").groups["person"]] == [keep.id]


def test_merging_organisations_moves_people_parties_and_children(
    login_as, make_organisation, make_person, in_app
):
    keep = make_organisation(display_name="Harmony Garments Co., Ltd.")
    gone = make_organisation(display_name="Harmony Garments", chinese_name="和谐服装")
    child = make_organisation(display_name="Harmony Dyeing", parent_id=gone.id)
    person = make_person(family_name="Li", given_name="Na")
    with in_app():
        forum = Activity(type="forum", title="Forum", start_on=date(2026, 5, 1))
        db.session.add(forum)
        db.session.flush()
        db.session.add_all(
            [
                Affiliation(person_id=person.id, organisation_id=gone.id),
                ActivityParty(activity_id=forum.id, organisation_id=keep.id, role="host"),
                ActivityParty(activity_id=forum.id, organisation_id=gone.id, role="host"),
                ActivityParty(activity_id=forum.id, organisation_id=gone.id, role="sponsor"),
                Participation(activity_id=forum.id, person_id=person.id, organisation_id=gone.id),
            ]
        )
        db.session.commit()
    response = login_as("manager").post(
        "/duplicates/merge",
        data={
            "first": keep.id,
            "second": gone.id,
            "survivor_version": "1",
            "other_version": "1",
            "take_chinese_name": "other",
        },
    )
    assert response.status_code == 302
    with in_app():
        assert db.session.get(Organisation, keep.id).chinese_name == "和谐服装"
        assert db.session.get(Organisation, child.id).parent_id == keep.id
        assert db.session.scalar(sa.select(Affiliation.organisation_id)) == keep.id
        assert sorted(
            db.session.scalars(
                sa.select(ActivityParty.role).where(ActivityParty.organisation_id == keep.id)
            )
        ) == ["host", "sponsor"]
        assert db.session.scalar(sa.select(Participation.organisation_id)) == keep.id


def test_merge_rejects_a_stale_version_and_mixed_kinds(
    login_as, make_organisation, make_person, in_app
):
    a = make_organisation(display_name="A Co.")
    b = make_organisation(display_name="A Company")
    p = make_person(family_name="A")
    client = login_as("coordinator")
    stale = client.post(
        "/duplicates/merge",
        data={"first": a.id, "second": b.id, "survivor_version": "7", "other_version": "1"},
    )
    assert stale.status_code == 400
    assert "changed while you were comparing" in stale.get_data(as_text=True)
    mixed = client.get(f"/duplicates/merge?first={a.id}&second={p.id}")
    assert mixed.status_code == 400
    assert "Only two organisations or two people" in mixed.get_data(as_text=True)
    same = client.post("/duplicates/merge", data={"first": a.id, "second": a.id})
    assert same.status_code == 400
    assert client.get("/duplicates/merge?first=999999&second=1").status_code == 404
    with in_app():
        assert db.session.get(Organisation, b.id).deleted_at is None


def test_member_is_warned_of_a_duplicate_before_creating_and_can_confirm(
    login_as, make_organisation, in_app
):
    existing = make_organisation(
        display_name="Dongguan Harmony Garments Co., Ltd.", chinese_name="东莞和谐服装有限公司"
    )
    client = login_as("member")
    form = {
        "version": "0",
        "display_name": "Dongguan Harmony Garments",
        "org_type": "enterprise",
        "chinese_name": "东莞和谐服装股份有限公司",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "3",
    }
    warned = client.post("/organisations/new", data=form)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert "This may already be in the database" in page
    assert f'href="/organisations/{existing.id}"' in page and "same Chinese name" in page
    assert 'value="东莞和谐服装股份有限公司"' in page  # what the user typed is kept
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1
    created = client.post("/organisations/new", data={**form, "create_anyway": "1"})
    assert created.status_code == 302
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 2


def test_person_with_the_same_email_is_flagged(login_as, make_person):
    make_person(family_name="Wang", given_name="Fang", email="wang.fang@example.cn")
    page = (
        login_as("member")
        .post(
            "/people/new",
            data={
                "version": "0",
                "family_name": "Wang",
                "given_name": "F.",
                "email": "Wang.Fang@example.cn",
                "gender": "female",
                "consent": "unknown",
                "engagement_level": "aware",
                "influence": "3",
                "interest": "3",
            },
        )
        .get_data(as_text=True)
    )
    assert "This may already be in the database" in page and "same email" in page


def test_merge_page_names_owners_and_parents_and_formats_dates(
    login_as, make_organisation, make_person, make_user
):
    """The choice between two values reads as the records themselves do: an owner and a parent
    organisation by name, never by id; a date as every other page writes it."""
    lin = make_user("coordinator", name="Lin Yue")
    zhou = make_user("coordinator", name="Zhou Min")
    group = make_organisation(display_name="Harmony Group")
    keep = make_organisation(display_name="Harmony Garments Co., Ltd.", owner_id=lin.id)
    gone = make_organisation(display_name="Harmony Garments", owner_id=zhou.id, parent_id=group.id)
    first = make_person(
        family_name="Li", given_name="Na", consent="given", consent_on=date(2026, 3, 5)
    )
    second = make_person(family_name="Li", given_name="Na")
    client = login_as("coordinator")

    page = client.get(f"/duplicates/merge?first={keep.id}&second={gone.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Lin Yue" in text and "Zhou Min" in text and "Harmony Group" in text
    assert f">{lin.id}<" not in text and f">{group.id}<" not in text

    text = client.get(f"/duplicates/merge?first={first.id}&second={second.id}").get_data(
        as_text=True
    )
    assert "5 Mar 2026" in text and "2026-03-05" not in text
    assert "Given" in text
