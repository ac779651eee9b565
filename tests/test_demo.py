"""`flask crm seed-demo`: the bilingual demo data set and the demo logins of `make run`."""

from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from crm import create_app, demo
from crm.access import Role
from crm.demo import programme
from crm.extensions import db
from crm.models import (
    Affiliation,
    AuditAction,
    AuditEvent,
    Organisation,
    OrgType,
    Person,
    StakeholderRelationship,
    User,
)
from crm.services import accounts, clock
from tests.conftest import make_config

# What the data set in crm/demo/ holds; change both together.
ORGANISATIONS = 43
PEOPLE = 81
POSITIONS = 91
PAST_POSITIONS = 10
RELATIONSHIPS = 42
INTERACTIONS = 156
FOLLOW_UPS = 50
FOLLOW_UPS_DONE = 29
DEMO_EMAILS = [email for email, *_rest in demo.USERS]


def _seed(runner, *options: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["crm", "seed-demo", *options])


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _counts() -> tuple[int, ...]:
    return tuple(
        _count(model)
        for model in (User, Organisation, Person, Affiliation, StakeholderRelationship)
    )


def _assert_no_crash(result) -> None:  # type: ignore[no-untyped-def]
    # sys.exit() is how a command fails on purpose; any other exception is a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output


def _logins_listed(output: str) -> list[str]:
    return [email for email in DEMO_EMAILS if email in output]


def test_seed_demo_loads_the_whole_data_set(runner, in_app):
    result = _seed(runner)
    assert result.exit_code == 0, result.output
    assert (
        f"Demo data loaded: {ORGANISATIONS} organisations, {PEOPLE} people, {POSITIONS} "
        f"positions, {RELATIONSHIPS} relationships, 5 users." in result.output
    )
    assert f"password {demo.DEMO_PASSWORD!r}" in result.output
    assert _logins_listed(result.output) == DEMO_EMAILS
    with in_app():
        assert _counts() == (5, ORGANISATIONS, PEOPLE, POSITIONS, RELATIONSHIPS)
        assert {u.role for u in db.session.scalars(sa.select(User))} == set(Role)
        assert _count(Affiliation, Affiliation.end_on.is_not(None)) == PAST_POSITIONS
        org_types = Counter(db.session.scalars(sa.select(Organisation.org_type)))
        assert set(org_types) == set(OrgType) - {OrgType.other}
        assert _count(Organisation, Organisation.parent_id.is_not(None)) >= 3
        # Written through the services as the demo administrator, so every record has history.
        admin = accounts.by_email(DEMO_EMAILS[0])
        created = sa.select(AuditEvent.entity_id).where(
            AuditEvent.action == AuditAction.create,
            AuditEvent.actor_id == admin.id,
            AuditEvent.entity_type.in_(["organisations", "people"]),
        )
        assert len(set(db.session.scalars(created))) == ORGANISATIONS + PEOPLE


def test_every_demo_person_has_a_position_and_a_derived_pinyin_name(runner, in_app):
    assert _seed(runner).exit_code == 0
    with in_app():
        people = db.session.scalars(sa.select(Person)).all()
        no_position = [p.display_name for p in people if not p.affiliations]
        assert no_position == []
        assert all(any(a.end_on is None for a in p.affiliations) for p in people)
        chinese = [p for p in people if p.chinese_name]
        assert len(chinese) >= 70
        for person in chinese:
            # The pinyin the service derives from the characters is the name written in Latin.
            assert person.name_pinyin is not None and person.name_initials is not None
            assert (
                person.name_pinyin.replace(" ", "")
                == (person.family_name + person.given_name).lower()
            ), person.chinese_name
            assert person.display_name == f"{person.family_name} {person.given_name}"
        assert all(o.name_pinyin for o in db.session.scalars(sa.select(Organisation)))
        genders = Counter(p.gender for p in people)
        assert abs(genders["female"] - genders["male"]) <= 10 and genders["undisclosed"] >= 1
        emails = [p.email for p in people if p.email]
        assert len(emails) == len(set(emails))
        assert all(e.endswith((".example.cn", ".example.com")) for e in emails)


def test_the_demo_programme_has_a_recent_past_and_an_upcoming_agenda(runner, client, in_app):
    from crm.models import Activity, FollowUp, Interaction, Participation
    from crm.services import activities

    result = _seed(runner)
    assert (
        f"Programme: 10 activities with 50 participants, {INTERACTIONS} interactions, "
        f"{FOLLOW_UPS} follow-ups." in result.output
    )
    with in_app():
        assert _count(Activity) == 10 and _count(Participation) == 50
        assert _count(Interaction) == INTERACTIONS and _count(FollowUp) == FOLLOW_UPS
        assert _count(FollowUp, FollowUp.status == "done") == FOLLOW_UPS_DONE
        training = db.session.scalar(
            sa.select(Activity).where(Activity.title == "Due diligence in textile supply chains")
        )
        reach = activities.reach(training)
        # 11 named attendees (one no-show is not counted) and 12 on the sheet without names.
        assert (reach.named, reach.unnamed.total) == (11, 12)
    client.post("/login", data={"email": "manager@example.org", "password": demo.DEMO_PASSWORD})
    mous = client.get("/activities/mous").get_data(as_text=True)
    assert "MoU on CSC9000T and due diligence" in mous and "Expiring" in mous
    dashboard = client.get("/").get_data(as_text=True)
    assert "Grievance mechanisms for garment factories" in dashboard  # upcoming, in 16 days


def test_demo_admin_can_sign_in_with_the_demo_password(runner, client):
    assert _seed(runner).exit_code == 0
    response = client.post("/login", data={"email": DEMO_EMAILS[0], "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/organisations?q=Hongxin")
    assert page.status_code == 200
    assert "东莞宏信电子有限公司" in page.get_data(as_text=True)


def test_seed_demo_if_empty_on_a_seeded_database_loads_nothing_and_shows_the_logins(runner, in_app):
    assert _seed(runner).exit_code == 0
    with in_app():
        before = _counts()
        manager = accounts.by_email("manager@example.org")
        accounts.set_password(manager, "a new secret password", actor=manager)

    result = _seed(runner, "--if-empty")

    _assert_no_crash(result)
    assert result.exit_code == 0
    assert "demo data not loaded" in result.output
    # Only the accounts that still take the demo password are offered.
    assert _logins_listed(result.output) == [e for e in DEMO_EMAILS if e != "manager@example.org"]
    with in_app():
        assert _counts() == before


def test_seed_demo_if_empty_with_other_users_loads_nothing_and_lists_no_logins(
    runner, make_user, in_app
):
    make_user(Role.admin, email="it@example.org")
    result = _seed(runner, "--if-empty")
    assert result.exit_code == 0
    assert "demo data not loaded" in result.output
    assert "Sign in" not in result.output
    with in_app():
        assert _counts() == (1, 0, 0, 0, 0)


def test_seed_demo_twice_refuses_the_second_time_without_a_crash(runner, in_app):
    assert _seed(runner).exit_code == 0
    with in_app():
        before = _counts()

    result = _seed(runner)

    _assert_no_crash(result)
    assert result.exit_code == 1
    assert "Error: the demo data is already loaded; nothing was changed." in result.stderr
    assert _logins_listed(result.stdout) == DEMO_EMAILS
    with in_app():
        assert _counts() == before


def test_seed_demo_refuses_when_only_some_demo_accounts_exist(runner, make_user, in_app):
    make_user(Role.viewer, email="viewer@example.org")
    result = _seed(runner)
    _assert_no_crash(result)
    assert result.exit_code == 1
    with in_app():
        assert _counts() == (1, 0, 0, 0, 0)


def test_seed_demo_without_if_empty_loads_beside_users_that_are_not_demo_accounts(
    runner, make_user, in_app
):
    make_user(Role.admin, email="it@example.org")
    result = _seed(runner)
    assert result.exit_code == 0, result.output
    with in_app():
        assert _counts() == (6, ORGANISATIONS, PEOPLE, POSITIONS, RELATIONSHIPS)


def test_seed_demo_reports_a_database_without_tables(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    result = app.test_cli_runner().invoke(args=["crm", "seed-demo", "--if-empty"])
    _assert_no_crash(result)
    assert result.exit_code == 1
    assert "flask --app wsgi db upgrade" in result.stderr
    with app.app_context():
        db.engine.dispose()


def test_the_demo_logframe_has_bilingual_indicators_with_three_years_of_targets(
    runner, client, in_app
):
    from crm.demo import logframe as demo_logframe
    from crm.models import AuditEvent as Event
    from crm.services.reporting import indicators

    assert _seed(runner).exit_code == 0
    this_year = clock.today().year  # the demo dates its logframe in the programme's zone
    with in_app():
        listed = indicators.list_indicators()
        assert [i.code for i in listed] == [spec.code for spec in demo_logframe.LOGFRAME]
        assert {i.metric.value for i in listed} == {m.value for m in indicators.Metric}
        for found in listed:
            assert found.name_zh and found.unit and found.baseline_year == this_year - 2
            assert [t.year for t in found.targets] == [this_year - 1, this_year, this_year + 1]
            assert set(found.disaggregations) <= set(indicators.SUPPORTED[found.metric])
        manager = accounts.by_email("manager@example.org")
        events = db.session.scalars(
            sa.select(Event).where(Event.entity_type == "indicators", Event.actor_id == manager.id)
        ).all()
        assert len(events) == len(listed)
    client.post("/login", data={"email": "manager@example.org", "password": demo.DEMO_PASSWORD})
    page = client.get("/reports/indicators")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Enterprises trained on responsible business conduct and due diligence" in html
    assert "接受培训的人数（按性别分列）" in html


# --- The demo answers its own examples ----------------------------------------------------------

HUAWEI = "Huawei Technologies Co., Ltd."


def _signed_in(client, email: str = "manager@example.org"):  # type: ignore[no-untyped-def]
    response = client.post("/login", data={"email": email, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    return client


def _found(client, query: str) -> str:  # type: ignore[no-untyped-def]
    """The global search page for `query`; fails when it finds nothing."""
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    assert 'data-testid="result-count"' in page, f"nothing found for {query!r}"
    return page


def _examples(text: str) -> list[str]:
    """The examples a placeholder or hint lists: "Search: 华为, hw…" → ["华为", "hw"]."""
    listed = text.split(":", 1)[1] if ":" in text else text
    found = []
    for item in listed.split(","):
        example = re.sub(r"\([^)]*\)", "", item).replace("…", "").strip()
        if example and not example.lower().startswith("type a name"):
            found.append(html.unescape(example))
    return found


def test_the_demo_finds_what_the_search_box_and_the_readme_suggest(runner, client):
    assert _seed(runner).exit_code == 0
    _signed_in(client)
    for query in ("华为", "huawei", "hw", "hua wei", "huá wéi", "hua2wei2", "weiji", "华为技术"):
        assert HUAWEI in _found(client, query), query
    for query in ("王芳", "wang fang", "wf", "138 0013"):
        assert "Wang Fang" in _found(client, query), query
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert "华为" in readme and "huawei" in readme and "(hw)" in readme


def test_every_example_a_placeholder_gives_finds_something_in_the_demo(runner, client, in_app):
    from crm.models import Activity

    assert _seed(runner).exit_code == 0
    _signed_in(client)
    with in_app():
        training = db.session.scalar(sa.select(Activity.id).where(Activity.type == "training"))
    pages = ["/", "/search", "/interactions/new", "/organisations/new", f"/activities/{training}"]
    hints = []
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        hints += re.findall(r'placeholder="([^"]*(?:华为|王芳)[^"]*)"', page)
        hints += re.findall(r"Examples: ([^<]*)<", page)
    examples = {e for hint in hints for e in _examples(hint)}
    assert {"华为", "huawei", "hw", "王芳", "wang fang", "wf", "hua wei", "138 0013"} <= examples
    for example in sorted(examples):
        _found(client, example)
        picked = client.get("/search.json", query_string={"q": example}).get_json()
        assert picked["results"], example  # the pickers' typeahead finds it too
    # The activity list's own search box: 培训, peixun, OSH…
    activities_page = client.get("/activities").get_data(as_text=True)
    (hint,) = re.findall(r'id="q" name="q"[^>]*placeholder="([^"]*)"', activities_page)
    titles = [spec.title for spec in programme.ACTIVITIES]
    for example in _examples(hint):
        listed = client.get("/activities", query_string={"q": example}).get_data(as_text=True)
        assert any(title in listed for title in titles), example


def test_the_demo_engagement_report_of_the_last_twelve_months_fills_every_chart(
    runner, client, in_app
):
    from crm.services import reporting

    assert _seed(runner).exit_code == 0
    today = clock.today()
    preset = next(p for p in reporting.presets(today) if p.key == "last_12_months")
    with in_app():
        report = reporting.engagement(preset.start, preset.end, today=today)
    assert report.interactions >= 150
    assert all(row.total > 0 for row in report.by_channel), [r.month for r in report.by_channel]
    assert len(report.by_channel) >= 12
    used = [c for i, c in enumerate(report.channels) if any(r.counts[i] for r in report.by_channel)]
    assert len(used) >= 4
    sectors = {
        s for i, s in enumerate(report.sectors) if sum(r.counts[i] for r in report.by_sector)
    }
    assert {"electronics", "textile"} <= sectors
    assert report.follow_ups_total.created >= 40
    assert len({row.user_id for row in report.follow_ups}) >= 4  # spread over the staff
    assert report.levels.moved_up >= 3 and report.levels.moved_down >= 1
    assert report.activities.held_total >= 5 and report.activities.participants > 0
    _signed_in(client)
    page = client.get(
        "/reports", query_string={"start": preset.start.isoformat(), "end": preset.end.isoformat()}
    ).get_data(as_text=True)
    assert page.count('id="chart-') >= 5 and "No data for this period" not in page
