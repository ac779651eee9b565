"""Issue 11 as the coordinator lives it: a participant asks for their data, then to be
erased. The coordinator opens their record, downloads their data, erases them; the training
they attended still shows the same reach, and their name is nowhere (search, lists,
exports)."""

from __future__ import annotations

import json
from datetime import date

from playwright.sync_api import Page, expect

from crm.extensions import db
from crm.models import User
from crm.services import activities


def test_coordinator_downloads_a_persons_data_then_erases_them_and_the_reach_stays(
    page: Page, log_in, make_user, make_person, app, actor, tmp_path
):
    coordinator = make_user("coordinator", name="Li Na")
    wang = make_person(
        family_name="Wang",
        given_name="Fang",
        chinese_name="王芳",
        gender="female",
        email="wang.fang@example.cn",
        wechat_id="wangfang88",
    )
    zhao = make_person(family_name="Zhao", given_name="Min", chinese_name="赵敏", gender="female")
    zhang = make_person(family_name="Zhang", given_name="Wei", chinese_name="张伟", gender="male")
    with app.app_context():
        admin = db.session.get(User, actor.id)
        training = activities.create(
            {"type": "training", "title": "OSH training", "start_on": date(2026, 3, 4)},
            actor=admin,
        )
        activities.add_participants(
            training, [wang.id, zhao.id, zhang.id], status="attended", actor=admin
        )
        training_id = training.id

    log_in(coordinator)
    page.goto(f"/activities/{training_id}")
    expect(page.get_by_test_id("reach-total")).to_have_text("3")
    expect(page.get_by_test_id("reach-share")).to_have_text("67%")

    page.goto("/people")
    page.get_by_role("link", name="Wang Fang").click()
    page.get_by_test_id("subject-access").click()
    expect(page.get_by_role("heading", name="Data held about Wang Fang")).to_be_visible()
    expect(page.get_by_test_id("section-participations")).to_contain_text("OSH training")
    with page.expect_download() as download_info:
        page.get_by_test_id("download-json").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    held = json.loads(saved.read_text(encoding="utf-8"))
    assert held["profile"]["chinese_name"] == "王芳"
    assert "Zhao" not in saved.read_text(encoding="utf-8")

    page.goto(f"/people/{wang.id}")
    page.get_by_test_id("erase").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Erase the personal data of")
    page.get_by_label("I understand that this cannot be undone.").check()
    page.get_by_test_id("confirm-erase").click()
    expect(page.get_by_text("were erased")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Erased person #{wang.id}")

    page.goto(f"/activities/{training_id}")
    expect(page.get_by_test_id("reach-total")).to_have_text("3")
    expect(page.get_by_test_id("reach-women")).to_have_text("2")
    expect(page.get_by_test_id("reach-share")).to_have_text("67%")
    expect(page.get_by_test_id("participants")).not_to_contain_text("Wang")

    for query in ("wang fang", "王芳", "wangfang88"):
        page.goto(f"/search?q={query}")
        expect(page.get_by_role("main")).to_contain_text("No results for")
    page.goto("/people")
    expect(page.get_by_role("main")).to_contain_text("Zhao Min")
    expect(page.get_by_role("main")).not_to_contain_text("Wang")
    expect(page.get_by_role("main")).not_to_contain_text("Erased person")
