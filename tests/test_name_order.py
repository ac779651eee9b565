"""Names in the right order: a Chinese name reads family name first, in characters and in
pinyin, whichever way a file writes it; other names keep the order their file states.

One rule (crm.services.names) for people imports (CSV and XLSX, one full-name column or
separate columns), sign-in sheets, vCards and Google and Outlook contact files; each path is
checked for what the database holds and what the person's page shows.
"""

from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.access import Role
from crm.extensions import db
from crm.models import Participation, Person
from crm.services import activities, names
from tests.imports.conftest import csv_bytes, xlsx_bytes

# email → (family name, given name, Chinese name, the name the person's page shows)
EXPECTED = {
    "zxh@example.cn": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
    "xiaohong.zhou@example.com": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
    "oynn@example.cn": (None, None, "欧阳娜娜", "欧阳娜娜"),
    "nana.ouyang@example.com": ("Ouyang", "Nana", None, "Ouyang Nana"),
    "anna.schmidt@example.de": ("Schmidt", "Anna", None, "Anna Schmidt"),
    "liming@example.cn": ("Li", "Ming", "李明", "Li Ming 李明"),
    "ming.li@example.com": ("Li", "Ming", "李明", "Li Ming 李明"),
    # Both words are surnames (方 Fang, 王 Wang): the characters decide, else the file's order.
    "wangfang@example.cn": ("Wang", "Fang", "王芳", "Wang Fang 王芳"),
    "fang.wang@example.com": ("Fang", "Wang", None, "Fang Wang"),
}
SHEET = [
    ["姓名", "中文名", "邮箱"],
    ["Zhou Xiaohong", "", "zxh@example.cn"],
    ["Xiaohong Zhou", "", "xiaohong.zhou@example.com"],
    ["欧阳娜娜", "", "oynn@example.cn"],
    ["Ouyang Nana", "", "nana.ouyang@example.com"],
    ["Anna Schmidt", "", "anna.schmidt@example.de"],
    ["Li Ming", "李明", "liming@example.cn"],
    ["Ming Li", "李明", "ming.li@example.com"],
    ["Fang Wang", "王芳", "wangfang@example.cn"],
    ["Fang Wang", "", "fang.wang@example.com"],
]


@pytest.fixture
def coordinator(login_as):  # type: ignore[no-untyped-def]
    return login_as(Role.coordinator, email="coordinator@example.org")


def _upload(client, data: bytes, filename: str, url: str = "/imports", **form):  # type: ignore[no-untyped-def]
    return client.post(
        url,
        data={**form, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def _commit(client, response, **choices) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    preview_url = response.headers["Location"]
    preview = client.get(preview_url)
    assert preview.status_code == 200
    done = client.post(f"{preview_url}/commit", data=choices)
    assert done.status_code == 303, done.get_data(as_text=True)[:3000]


def _people() -> dict[str, Person]:
    return {p.email: p for p in db.session.scalars(sa.select(Person)) if p.email}


def _shown(client, person_id: int) -> str:  # type: ignore[no-untyped-def]
    """The person's name as the heading of their page reads it."""
    page = client.get(f"/people/{person_id}").get_data(as_text=True)
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page, flags=re.S)
    assert heading, page[:2000]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", heading[1])).split())


def _assert_people(client, in_app, expected) -> None:  # type: ignore[no-untyped-def]
    with in_app():
        people = _people()
        stored = {
            email: (p.family_name, p.given_name, p.chinese_name)
            for email, p in people.items()
            if email in expected
        }
        ids = {email: people[email].id for email in expected}
    assert stored == {email: values[:3] for email, values in expected.items()}
    assert {email: _shown(client, ids[email]) for email in expected} == {
        email: values[3] for email, values in expected.items()
    }


# --- The rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "chinese", "family", "given"),
    [
        ("Zhou Xiaohong", None, "Zhou", "Xiaohong"),
        ("Xiaohong Zhou", None, "Zhou", "Xiaohong"),
        ("Ouyang Nana", None, "Ouyang", "Nana"),
        ("Nana Ouyang", None, "Ouyang", "Nana"),
        ("Liang Zhuge", None, "Liang", "Zhuge"),  # both surnames: the first
        ("Sima Qian", None, "Sima", "Qian"),
        ("Anna Schmidt", None, "Schmidt", "Anna"),
        ("Schmidt, Anna", None, "Schmidt", "Anna"),
        ("Zhou, Xiaohong", None, "Zhou", "Xiaohong"),
        ("Li Ming", "李明", "Li", "Ming"),
        ("Ming Li", "李明", "Li", "Ming"),
        ("Wang Fang", None, "Wang", "Fang"),
        ("Fang Wang", None, "Fang", "Wang"),
        ("Fang Wang", "王芳", "Wang", "Fang"),
        ("Xiaohong ZHOU", None, "ZHOU", "Xiaohong"),  # capitals mark the family name
        ("Lisa Wang", "王丽莎", "Wang", "Lisa"),  # an English given name with the surname
        ("Xiaoming Lǚ", None, "Lǚ", "Xiaoming"),
        ("Xiaoming Lyu", None, "Lyu", "Xiaoming"),
        ("Zhou Xiao Hong", None, "Zhou", "Xiao Hong"),
        ("Tomás Herrera", None, "Herrera", "Tomás"),
        ("Anna", None, "Anna", ""),
    ],
)
def test_the_rule_splits_a_full_name(text, chinese, family, given):  # type: ignore[no-untyped-def]
    assert names.split_latin(text, chinese=chinese) == (family, given)


@pytest.mark.parametrize(
    ("family", "given", "chinese", "expected"),
    [
        ("Zhou", "Xiaohong", None, ("Zhou", "Xiaohong")),
        ("Xiaohong", "Zhou", None, ("Zhou", "Xiaohong")),  # First Name: Zhou, Last: Xiaohong
        ("Xiaohong", "Zhou", "周小红", ("Zhou", "Xiaohong")),
        ("Fang", "Wang", None, ("Fang", "Wang")),  # both surnames: as the headers say
        ("Fang", "Wang", "王芳", ("Wang", "Fang")),
        ("Schmidt", "Anna", None, ("Schmidt", "Anna")),
        ("", "Zhou Xiaohong", None, ("Zhou", "Xiaohong")),  # the whole name in one field
        ("de Vries", "", None, ("de Vries", "")),
        ("周", "小红", None, ("周", "小红")),
    ],
)
def test_the_rule_puts_separate_fields_right(family, given, chinese, expected):  # type: ignore[no-untyped-def]
    assert names.order_parts(family, given, chinese=chinese) == expected


@pytest.mark.parametrize(
    ("family", "given", "chinese", "family_first"),
    [
        ("Zhou", "Xiaohong", None, True),
        ("Wang", "Fang", None, True),
        ("Ouyang", "Nana", None, True),
        ("Schmidt", "Anna", None, False),
        ("Li", "Anna", None, False),  # a Western given name: "Anna Li"
        ("Kowalski", "Anna", "柯安娜", True),
        ("Herrera", "Tomás", None, False),
    ],
)
def test_a_chinese_name_shows_family_name_first(family, given, chinese, family_first):  # type: ignore[no-untyped-def]
    assert names.shows_family_first(family, given, chinese) is family_first


_WORD = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzZHOUÁǚü'-·,. 周小红欧阳娜2")),
    min_size=0,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORD, max_size=5))
def test_splitting_never_fails_and_loses_no_word(words):  # type: ignore[no-untyped-def]
    text = " ".join(words)
    name = names.split_full_name(text)
    kept = f"{name.family} {name.given} {name.chinese}"
    for word in re.findall(r"[A-Za-zÁǚü]+|[\u4e00-\u9fff]+", text):
        assert word in kept, (text, name)


# --- Imports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_coordinator_imports_a_name_column_in_either_order(  # type: ignore[no-untyped-def]
    coordinator, in_app, tmp_path, kind
):
    data = csv_bytes(SHEET) if kind == "csv" else xlsx_bytes(tmp_path, SHEET)
    response = _upload(coordinator, data, f"people.{kind}", kind="people")
    preview = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert preview.count("Zhou Xiaohong") >= 2  # each row's name as it will be recorded
    _commit(coordinator, response, on_duplicate="create")
    _assert_people(coordinator, in_app, EXPECTED)


def test_the_same_person_in_both_orders_is_one_person_in_the_preview(coordinator, in_app):  # type: ignore[no-untyped-def]
    sheet = [["姓名"], ["Zhou Xiaohong"], ["Xiaohong Zhou"]]
    response = _upload(coordinator, csv_bytes(sheet), "people.csv", kind="people")
    preview = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "repeats an earlier row" in preview
    _commit(coordinator, response, on_duplicate="skip")
    with in_app():
        people = db.session.scalars(sa.select(Person)).all()
        assert [(p.family_name, p.given_name, p.display_name) for p in people] == [
            ("Zhou", "Xiaohong", "Zhou Xiaohong")
        ]


GOOGLE = (
    "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value",
    ",Xiaohong,Zhou,* Work,zxh@example.cn",
    ",Zhou,Xiaohong,* Work,xiaohong.zhou@example.com",  # swapped by hand
    "周小红,Zhou,Xiaohong,* Work,zhou.xh@example.cn",  # swapped, with the characters
    ",Anna,Schmidt,* Work,anna.schmidt@example.de",
    "李明,Ming,Li,* Work,liming@example.cn",
)
OUTLOOK = (
    "First Name,Middle Name,Last Name,E-mail Address",
    "Zhou Xiaohong,,,xiaohong.zhou@example.com",  # the whole name as the first name
    "Nana,,Ouyang,nana.ouyang@example.com",
    "Ouyang,,Nana,oynn@example.cn",
    "Anna,,Schmidt,anna.schmidt@example.de",
)


def test_a_google_contacts_file_keeps_its_columns_and_puts_chinese_names_right(  # type: ignore[no-untyped-def]
    coordinator, in_app
):
    data = "\r\n".join(GOOGLE).encode("utf-8")
    response = _upload(coordinator, data, "contacts.csv", kind="people")
    _commit(coordinator, response, on_duplicate="create")
    _assert_people(
        coordinator,
        in_app,
        {
            "zxh@example.cn": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
            "xiaohong.zhou@example.com": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
            "zhou.xh@example.cn": ("Zhou", "Xiaohong", "周小红", "Zhou Xiaohong 周小红"),
            "anna.schmidt@example.de": ("Schmidt", "Anna", None, "Anna Schmidt"),
            "liming@example.cn": ("Li", "Ming", "李明", "Li Ming 李明"),
        },
    )


def test_an_outlook_contacts_file_keeps_its_columns_and_puts_chinese_names_right(  # type: ignore[no-untyped-def]
    coordinator, in_app
):
    data = "\r\n".join(OUTLOOK).encode("utf-8")
    _commit(
        coordinator,
        _upload(coordinator, data, "contacts.csv", kind="people"),
        on_duplicate="create",
    )
    _assert_people(
        coordinator,
        in_app,
        {
            "xiaohong.zhou@example.com": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
            "nana.ouyang@example.com": ("Ouyang", "Nana", None, "Ouyang Nana"),
            "oynn@example.cn": ("Ouyang", "Nana", None, "Ouyang Nana"),
            "anna.schmidt@example.de": ("Schmidt", "Anna", None, "Anna Schmidt"),
        },
    )


VCARDS = "\r\n".join(
    [
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Xiaohong Zhou",
        "EMAIL:xiaohong.zhou@example.com",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:Xiaohong;Zhou;;;",
        "FN:Xiaohong Zhou",
        "EMAIL:zxh@example.cn",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:4.0",
        "N:Xiaohong;Zhou;;;",
        "FN:Zhou Xiaohong",
        "FN;LANGUAGE=zh:周小红",
        "EMAIL:zhou.xh@example.cn",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:;Ouyang Nana;;;",
        "FN:Ouyang Nana",
        "EMAIL:nana.ouyang@example.com",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:欧阳娜娜",
        "EMAIL:oynn@example.cn",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:4.0",
        "FN:Anna Schmidt",
        "EMAIL:anna.schmidt@example.de",
        "END:VCARD",
        "BEGIN:VCARD",
        "VERSION:4.0",
        "N:Li;Ming;;;",
        "FN:Ming Li",
        "FN;LANGUAGE=zh:李明",
        "EMAIL:liming@example.cn",
        "END:VCARD",
        "",
    ]
)


def test_a_vcard_file_puts_chinese_names_family_first(coordinator, in_app):  # type: ignore[no-untyped-def]
    response = _upload(coordinator, VCARDS.encode("utf-8"), "contacts.vcf", kind="people")
    _commit(coordinator, response, on_duplicate="create")
    _assert_people(
        coordinator,
        in_app,
        {
            "xiaohong.zhou@example.com": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
            "zxh@example.cn": ("Zhou", "Xiaohong", None, "Zhou Xiaohong"),
            "zhou.xh@example.cn": ("Zhou", "Xiaohong", "周小红", "Zhou Xiaohong 周小红"),
            "nana.ouyang@example.com": ("Ouyang", "Nana", None, "Ouyang Nana"),
            "oynn@example.cn": (None, None, "欧阳娜娜", "欧阳娜娜"),
            "anna.schmidt@example.de": ("Schmidt", "Anna", None, "Anna Schmidt"),
            "liming@example.cn": ("Li", "Ming", "李明", "Li Ming 李明"),
        },
    )


def test_a_sign_in_sheet_puts_chinese_names_family_first(coordinator, in_app, actor):  # type: ignore[no-untyped-def]
    from datetime import date

    from crm.models import User

    with in_app():
        training = activities.create(
            {
                "type": "training",
                "title": "OSH training",
                "title_zh": "职业安全健康培训",
                "status": "held",
                "start_on": date(2026, 3, 4),
            },
            actor=db.session.get(User, actor.id),
        )
        training_id = training.id
    response = coordinator.post(
        f"/activities/{training_id}/attendance",
        data={"sheet-file": (io.BytesIO(csv_bytes(SHEET, encoding="gbk")), "签到表.csv")},
        content_type="multipart/form-data",
    )
    _commit(coordinator, response, on_duplicate="create")
    _assert_people(coordinator, in_app, EXPECTED)
    with in_app():
        attended = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Participation)
            .where(Participation.activity_id == training_id, Participation.status == "attended")
        )
    assert attended == len(EXPECTED)
    page = coordinator.get(f"/activities/{training_id}").get_data(as_text=True)
    assert "Zhou Xiaohong" in page and "Xiaohong Zhou" not in page
    assert "Ouyang Nana" in page and "Nana Ouyang" not in page


# --- Bad input --------------------------------------------------------------------------------


def test_odd_names_never_fail_and_keep_what_was_typed(coordinator, in_app):  # type: ignore[no-untyped-def]
    odd = [
        "Zhou,",
        ", Xiaohong",
        "ZHOU",
        "  Zhou   Xiaohong  ",
        "O'Brien Sean",
        "Xiao-hong Zhou",
        "·",
        "=Zhou Xiaohong",
        "Zhou Xiaohong Wang Fang Li Ming",
        "阿依古丽·买买提 Ayguli Mamat",
        "x" * 150,
    ]
    sheet = [["姓名", "邮箱"], *([name, f"odd{n}@example.cn"] for n, name in enumerate(odd))]
    response = _upload(coordinator, csv_bytes(sheet), "people.csv", kind="people")
    assert response.status_code == 302
    preview = coordinator.get(response.headers["Location"])
    assert preview.status_code == 200
    assert "at most 80 characters each" in preview.get_data(as_text=True)  # never cut short
    done = coordinator.post(
        f"{response.headers['Location']}/commit",
        data={"on_duplicate": "create", "skip_invalid": "y"},
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:3000]
    with in_app():
        people = {p.email: p for p in db.session.scalars(sa.select(Person))}
    for n, name in enumerate(odd):
        person = people.get(f"odd{n}@example.cn")
        if person is None:
            continue  # a row refused with its reason in the preview ("·" holds no name)
        stored = " ".join(
            filter(None, [person.family_name, person.given_name, person.chinese_name])
        )
        for word in re.findall(r"[A-Za-z'\-]+|[\u4e00-\u9fff]+", name):
            assert word in stored, (name, stored)
    assert people["odd3@example.cn"].family_name == "Zhou"
    assert people["odd5@example.cn"].family_name == "Zhou"
    assert "odd6@example.cn" not in people  # "·" is no name: refused in the preview
    assert "odd10@example.cn" not in people  # refused, not cut to 80 characters
