"""Issue 5 as the coordinator lives it: create a training, add the host organisation, add
participants with the picker, mark who came in one go, count the attendees on the sign-in
sheet who did not give their names, and read the totals by sex on the activity page.

(The attendance-sheet import of the issue is tested with the import pipeline.)
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from crm.extensions import db
from crm.models import User
from crm.services import topics


def _pick(scope, label: str, query: str, choice: str) -> None:  # type: ignore[no-untyped-def]
    box = scope.get_by_label(label, exact=True)
    box.fill(query)
    option = scope.get_by_role("option", name=choice)
    expect(option).to_be_visible()
    option.click()


def test_coordinator_records_a_training_and_sees_who_it_reached(
    page: Page, log_in, make_user, make_person, make_organisation, app, actor
):
    coordinator = make_user("coordinator", name="Li Na")
    with app.app_context():
        topics.add_defaults(actor=db.session.get(User, actor.id))
    make_organisation(
        display_name="Guangdong Provincial Labour Bureau",
        chinese_name="广东省人力资源和社会保障厅",
        org_type="government",
        sector=None,
    )
    people = [
        ("Wang", "Fang", "王芳", "female"),
        ("Zhao", "Min", "赵敏", "female"),
        ("Zhang", "Wei", "张伟", "male"),
        ("Chen", "Jie", "陈杰", "male"),
    ]
    for family, given, chinese, gender in people:
        make_person(family_name=family, given_name=given, chinese_name=chinese, gender=gender)

    log_in(coordinator)
    page.get_by_role("navigation").get_by_role("link", name="Activities").click()
    page.get_by_role("link", name="New activity").first.click()
    expect(page.get_by_role("heading", name="New activity")).to_be_visible()
    form = page.get_by_test_id("activity-form")
    form.get_by_label("Type").select_option(label="Training")
    form.get_by_label("Title", exact=True).fill("OSH training for electronics suppliers")
    form.get_by_label("Chinese title").fill("电子行业供应商职业安全与健康培训")
    form.get_by_label("Start").fill("2026-03-04")
    form.get_by_label("End", exact=True).fill("2026-03-05")
    form.get_by_label("City").fill("Shenzhen")
    form.get_by_label("Sector").select_option(label="Electronics")
    form.get_by_label("Occupational safety and health (OSH)").check()
    expect(form.get_by_label("Signed on")).to_be_hidden()  # MoU fields only for an MoU
    form.get_by_role("button", name="Save").click()
    expect(
        page.get_by_text("Activity “OSH training for electronics suppliers” created.")
    ).to_be_visible()

    # The host.
    party = page.get_by_test_id("add-party")
    _pick(party, "Organisation", "人力资源", "Guangdong Provincial Labour Bureau")
    party.get_by_label("Role").select_option(label="Host")
    party.get_by_role("button", name="Add organisation").click()
    expect(
        page.get_by_text("Guangdong Provincial Labour Bureau added to the activity.")
    ).to_be_visible()
    expect(page.get_by_test_id("party")).to_contain_text("Host")

    # Four registered participants, found by their Chinese names and pinyin.
    add = page.get_by_test_id("add-participants")
    _pick(add, "People", "王芳", "Wang Fang")
    _pick(add, "People", "zhaomin", "Zhao Min")
    _pick(add, "People", "张伟", "Zhang Wei")
    _pick(add, "People", "chen jie", "Chen Jie")
    expect(add.locator(".picker-chip")).to_have_count(4)
    add.get_by_label("Status").select_option(label="Registered")
    add.get_by_role("button", name="Add participants").click()
    expect(page.get_by_text("4 added to the participants.")).to_be_visible()
    expect(page.get_by_test_id("participant")).to_have_count(4)
    expect(page.get_by_test_id("reach-total")).to_have_text("0")

    # All four came: tick them all and mark them attended in one go.
    bulk = page.get_by_test_id("bulk-form")
    bulk.get_by_label("Tick all").check()
    bulk.get_by_label("Set status").select_option(label="Attended")
    bulk.get_by_role("button", name="Apply to ticked").click()
    expect(page.get_by_text("4 participants updated.")).to_be_visible()
    expect(page.get_by_test_id("participant-status")).to_have_text(["Attended"] * 4)

    # The sign-in sheet also lists attendees who gave no name.
    counts = page.get_by_test_id("headcounts")
    counts.get_by_label("Women", exact=True).fill("12")
    counts.get_by_label("Men", exact=True).fill("9")
    counts.get_by_label("Sex not recorded").fill("1")
    counts.get_by_role("button", name="Save headcounts").click()
    expect(page.get_by_text("Headcounts saved.")).to_be_visible()

    reach = page.get_by_role("region", name="Reach")
    expect(reach.get_by_test_id("reach-total")).to_have_text("26")
    expect(reach.get_by_test_id("reach-women")).to_have_text("14")
    expect(reach.get_by_test_id("reach-men")).to_have_text("11")
    expect(reach.get_by_test_id("reach-share")).to_have_text("54%")
    women = reach.get_by_test_id("reach-row-women").get_by_role("cell")
    expect(women).to_have_text(["2", "12", "14"])
    men = reach.get_by_test_id("reach-row-men").get_by_role("cell")
    expect(men).to_have_text(["2", "9", "11"])

    # A participant's page lists the training with their status.
    page.get_by_role("link", name="Wang Fang").click()
    card = page.get_by_role("region", name="Activities", exact=True)
    expect(card).to_contain_text("OSH training for electronics suppliers")
    expect(card).to_contain_text("Attended")
