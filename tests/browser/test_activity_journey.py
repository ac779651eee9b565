"""Issue 5 as the coordinator lives it: create a training, add the host organisation,
register participants with the picker, import the 20-row sign-in sheet (three registered
people signed it, seventeen came unannounced), mark the one who did not come as a no-show,
count the attendees who signed without their names, and read the totals by sex.
"""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Page, expect

from crm.extensions import db
from crm.models import User
from crm.services import topics

# Seventeen walk-ins: (name, sex, organisation, job title); ten women and seven men.
WALK_INS = [
    ("刘洋", "女", "东莞和谐服装有限公司", "人事经理"),
    ("陈静", "女", "东莞和谐服装有限公司", "车间主任"),
    ("杨帆", "男", "东莞和谐服装有限公司", "厂长"),
    ("黄丽", "女", "深圳光明电子有限公司", "EHS专员"),
    ("周强", "男", "深圳光明电子有限公司", "生产经理"),
    ("吴敏", "女", "深圳光明电子有限公司", "工会主席"),
    ("徐婷", "女", "惠州华星电子厂", "人事专员"),
    ("孙浩", "男", "惠州华星电子厂", "安全主管"),
    ("马琳", "女", "惠州华星电子厂", "培训主管"),
    ("朱磊", "男", "广州纺织品进出口公司", "总经理"),
    ("胡雪", "女", "广州纺织品进出口公司", "合规经理"),
    ("郭涛", "男", "中山制衣厂", "厂长"),
    ("何佳", "女", "中山制衣厂", "人事经理"),
    ("林峰", "男", "中山制衣厂", "车间主任"),
    ("罗燕", "女", "佛山电子科技有限公司", "EHS经理"),
    ("梁晨", "男", "佛山电子科技有限公司", "工程师"),
    ("宋佳", "女", "佛山电子科技有限公司", "人事专员"),
]


def _sign_in_sheet() -> bytes:
    """The sheet as Excel in China saves CSV: GBK, with a title row above the headers."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["电子行业供应商职业安全与健康培训 签到表"])
    writer.writerow(["序号", "姓名", "性别", "单位", "职务", "手机"])
    registered = [("王芳", "女"), ("赵敏", "女"), ("张伟", "男")]
    rows = [(name, sex, "", "", "") for name, sex in registered] + [
        (name, sex, org, title, f"1380013{n:04d}")
        for n, (name, sex, org, title) in enumerate(WALK_INS)
    ]
    for number, row in enumerate(rows, start=1):
        writer.writerow([number, *row])
    return buffer.getvalue().encode("gbk")


def _pick(scope, label: str, query: str, choice: str) -> None:  # type: ignore[no-untyped-def]
    # The activity page comes back as /activities/1#parties: when it has loaded, Chromium
    # moves focus off whatever had it (the anchor is not focusable), which would close a
    # menu typed into before. A person reads the page first; the test waits for the load.
    scope.page.wait_for_load_state("load")
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

    # The sign-in sheet: 20 rows, three of them registered people, seventeen walk-ins.
    page.get_by_text("Import a sign-in sheet").click()
    sheet = page.get_by_test_id("sign-in-sheet")
    sheet.get_by_label("Sign-in sheet").set_input_files(
        files=[{"name": "签到表.csv", "mimeType": "text/csv", "buffer": _sign_in_sheet()}]
    )
    sheet.get_by_role("button", name="Upload and review").click()
    expect(
        page.get_by_role(
            "heading", name="Review the sign-in sheet of “OSH training for electronics suppliers”"
        )
    ).to_be_visible()
    summary = page.get_by_test_id("summary")
    expect(summary).to_contain_text("20 rows")
    expect(summary).to_contain_text("17 new")
    expect(summary).to_contain_text("3 match existing records")
    expect(summary).to_contain_text("0 with errors")
    expect(page.get_by_test_id("rows")).to_contain_text("Wang Fang")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import report")).to_be_visible()
    expect(page.get_by_test_id("report-summary")).to_contain_text("20 marked as attended")
    page.get_by_role("link", name="Back to the activity").click()
    expect(page.get_by_test_id("participant")).to_have_count(21)
    expect(page.get_by_test_id("participant-counts")).to_contain_text("Registered: 1")
    expect(page.get_by_test_id("participant-counts")).to_contain_text("Attended: 20")

    # Chen Jie registered but did not sign: mark him as a no-show.
    bulk = page.get_by_test_id("bulk-form")
    bulk.get_by_label("Tick Chen Jie").check()
    bulk.get_by_label("Set status").select_option(label="No-show")
    bulk.get_by_role("button", name="Apply to ticked").click()
    expect(page.get_by_text("1 participant updated.")).to_be_visible()
    expect(page.get_by_test_id("participant-counts")).to_contain_text("No-show: 1")

    # The sign-in sheet also lists attendees who gave no name.
    counts = page.get_by_test_id("headcounts")
    counts.get_by_label("Women", exact=True).fill("12")
    counts.get_by_label("Men", exact=True).fill("9")
    counts.get_by_label("Sex not recorded").fill("1")
    counts.get_by_role("button", name="Save headcounts").click()
    expect(page.get_by_text("Headcounts saved.")).to_be_visible()

    # 20 named (12 women, 8 men) and 22 unnamed (12 women, 9 men, 1 not recorded).
    reach = page.get_by_role("region", name="Reach")
    expect(reach.get_by_test_id("reach-total")).to_have_text("42")
    expect(reach.get_by_test_id("reach-women")).to_have_text("24")
    expect(reach.get_by_test_id("reach-men")).to_have_text("17")
    expect(reach.get_by_test_id("reach-share")).to_have_text("57%")
    women = reach.get_by_test_id("reach-row-women").get_by_role("cell")
    expect(women).to_have_text(["12", "12", "24"])
    men = reach.get_by_test_id("reach-row-men").get_by_role("cell")
    expect(men).to_have_text(["8", "9", "17"])

    # A participant's page lists the training with their status.
    page.get_by_role("link", name="Wang Fang").click()
    card = page.get_by_role("region", name="Activities", exact=True)
    expect(card).to_contain_text("OSH training for electronics suppliers")
    expect(card).to_contain_text("Attended")
