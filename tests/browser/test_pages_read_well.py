"""Pages that read well, measured in Chromium: the charts' axis titles clear of their labels
in Chinese, and the month calendar's seven columns equal whatever a day holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from flask import Flask
from playwright.sync_api import Page

from crm.access import Role
from crm.extensions import db
from crm.models import User
from crm.services import activities, interactions

# The boxes of every axis title and every axis label of every chart, in page coordinates.
BOXES = """
() => [...document.querySelectorAll('svg[id^="chart-"]')].map((svg) => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {text: el.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const titles = [...svg.querySelectorAll('.titles text.title')].slice(1);  // not the chart's
  return {id: svg.id, titles: titles.map(box),
          labels: [...svg.querySelectorAll('.axis text')].filter((t) => t.textContent).map(box)};
})
"""


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


def test_chinese_axis_titles_do_not_overlap_the_category_labels(
    app: Flask, log_in: Callable[[User], Page], make_user, make_organisation, make_person
):
    manager = make_user(Role.manager, locale="zh")
    org = make_organisation(
        display_name="Institute", chinese_name="劳动科学研究所", org_type="academic"
    )
    make_organisation(display_name="Bureau", org_type="government")
    make_person(family_name="Wang", given_name="Fang")
    with app.app_context():
        interactions.log_interaction(
            {
                "occurred_at": datetime(2026, 3, 10, 2, tzinfo=UTC),
                "channel": "meeting",
                "subject": "Meeting",
                "stakeholder_ids": [org.id],
            },
            actor=db.session.get(User, manager.id),
        )
    page = log_in(manager)
    page.goto("/reports?start=2026-01-01&end=2026-12-31")
    charts = page.evaluate(BOXES)
    assert len(charts) == 5
    engaged = next(c for c in charts if c["id"] == "chart-engaged-by-type")
    assert "学术/研究机构" in [label["text"] for label in engaged["labels"]]
    for chart in charts:
        assert len(chart["titles"]) == 2, chart["id"]  # the x and y axis titles
        for title in chart["titles"]:
            for label in chart["labels"]:
                assert not _overlap(title, label), (chart["id"], title, label)


def test_the_month_calendar_keeps_seven_equal_columns(
    app: Flask, log_in: Callable[[User], Page], make_user
):
    coordinator = make_user(Role.coordinator)
    with app.app_context():
        actor = db.session.get(User, coordinator.id)
        for title in (
            "Occupational safety and health training for line supervisors of the electronics "
            "assembly plants of the Pearl River Delta",
            "Averyveryveryverylongunbrokenwordthatgoesonandonandonforeverandeveragain",
        ):
            activities.create(
                {"type": "training", "title": title, "start_on": date(2026, 12, 9)},
                actor=actor,
            )
    page = log_in(coordinator)
    page.goto("/activities/calendar?month=2026-12")
    widths = page.locator('[data-testid="calendar"] thead th').evaluate_all(
        "(cells) => cells.map((c) => c.getBoundingClientRect().width)"
    )
    assert len(widths) == 7
    assert max(widths) - min(widths) < 1, widths
    # Nothing spills out of its day: the whole title wraps inside the cell.
    spill = page.locator('[data-testid="calendar"] td a').evaluate_all(
        "(links) => links.map((a) => a.scrollWidth - a.clientWidth)"
    )
    assert spill and max(spill) <= 0, spill
