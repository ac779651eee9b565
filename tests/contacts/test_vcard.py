"""Contacts out and in: vCard 4.0 export (checked by parsing it with vobject) and .vcf import."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
import vobject

from crm.access import Role
from crm.extensions import db
from crm.models import AuditAction, AuditEvent, Person, User
from crm.services import contacts, imports, stakeholders
from crm.services.errors import InvalidInput, PermissionDenied

WANG = {
    "family_name": "Wang",
    "given_name": "Fang",
    "chinese_name": "王芳",
    "gender": "female",
    "job_title": "HR manager",
    "email": "wang.fang@example.cn",
    "phone": "+86 138 0013 8000",
    "wechat_id": "wangfang_sz",
    "preferred_language": "zh",
    "consent": "given",
    "notes": "Prefers not to discuss the audit findings in front of the plant manager.",
}


def _cards(text: str) -> list:
    return list(vobject.readComponents(text))


def _values(card, name: str) -> list[str]:
    return [line.value for line in card.contents.get(name, [])]


def _export_events() -> list[AuditEvent]:
    stmt = sa.select(AuditEvent).where(AuditEvent.action == AuditAction.export)
    return list(db.session.scalars(stmt.order_by(AuditEvent.entity_id)))


@pytest.fixture
def employ(in_app, actor):
    """employ(person, organisation, title=...): an open position at the organisation."""

    def add(person, organisation, *, title=None, start_on=None, end_on=None):
        with in_app():
            stakeholders.add_affiliation(
                db.session.get(Person, person.id),
                organisation_id=organisation.id,
                title=title,
                start_on=start_on,
                end_on=end_on,
                actor=db.session.get(User, actor.id),
            )

    return add


@pytest.fixture
def wang(make_person, make_organisation, employ):
    person = make_person(**WANG)
    bright = make_organisation(display_name="Shenzhen Bright Electronics Co., Ltd.")
    old = make_organisation(display_name="Dongguan Old Textiles")
    employ(person, old, start_on=date(2019, 1, 1), end_on=date(2022, 6, 30))
    employ(person, bright, start_on=date(2022, 7, 1))
    return person


# ---------------------------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------------------------


def test_vcard_carries_names_contact_details_and_current_employer(in_app, wang):
    with in_app():
        text = contacts.vcard(db.session.get(Person, wang.id))
    [card] = _cards(text)
    assert card.version.value == "4.0"
    assert _values(card, "kind") == ["individual"]
    fns = card.contents["fn"]
    assert [fn.value for fn in fns] == ["Wang Fang", "王芳"]
    assert fns[0].params == {} and fns[1].params == {"LANGUAGE": ["zh"]}
    assert (card.n.value.family, card.n.value.given) == ("Wang", "Fang")
    assert _values(card, "org") == [["Shenzhen Bright Electronics Co., Ltd."]]
    assert _values(card, "title") == ["HR manager"]
    assert _values(card, "email") == ["wang.fang@example.cn"]
    assert card.tel.value == "tel:+8613800138000"
    assert card.tel.params == {"TYPE": ["cell"], "VALUE": ["uri"]}
    assert card.impp.value == "weixin:wangfang_sz"
    assert card.impp.params == {"X-SERVICE-TYPE": ["WeChat"]}
    assert _values(card, "gender") == ["F"]
    assert _values(card, "lang") == ["zh"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", card.rev.value)


def test_vcard_keeps_internal_notes_out(in_app, wang):
    with in_app():
        text = contacts.vcard(db.session.get(Person, wang.id))
    assert "NOTE" not in text and "audit findings" not in text
    assert "consent" not in text.lower()


def test_vcard_has_crlf_lines_folded_at_75_octets(in_app, make_person):
    long_title = "Deputy Director, Department of Labour Inspection and Occupational Safety"
    person = make_person(job_title=long_title, chinese_name="欧阳娜娜" * 10)
    with in_app():
        text = contacts.vcard(db.session.get(Person, person.id))
    data = text.encode("utf-8")
    assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 75
    [card] = _cards(text)
    assert card.title.value == long_title
    assert card.contents["fn"][1].value == "欧阳娜娜" * 10


def test_uid_is_stable_across_exports_and_edits_and_unique_per_person(in_app, actor, make_person):
    first, second = make_person(), make_person(family_name="Li", given_name="Na")
    with in_app():
        person = db.session.get(Person, first.id)
        before = _cards(contacts.vcard(person))[0].uid.value
        stakeholders.update(
            person,
            {"job_title": "Director"},
            version=person.version,
            actor=db.session.get(User, actor.id),
        )
        after = _cards(contacts.vcard(db.session.get(Person, first.id)))[0].uid.value
        other = _cards(contacts.vcard(db.session.get(Person, second.id)))[0].uid.value
    assert before == after == f"urn:uuid:{uuid.uuid5(contacts.UID_NAMESPACE, f'person:{first.id}')}"
    assert other != before


def test_person_with_only_a_chinese_name_gets_one_fn_and_no_n(in_app, make_person):
    person = make_person(
        family_name=None, given_name=None, chinese_name="李娜", gender="undisclosed"
    )
    with in_app():
        [card] = _cards(contacts.vcard(db.session.get(Person, person.id)))
    assert _values(card, "fn") == ["李娜"]
    assert "n" not in card.contents
    assert _values(card, "gender") == ["U"]
    assert "org" not in card.contents and "tel" not in card.contents


def test_title_falls_back_to_the_current_position(in_app, make_person, make_organisation, employ):
    person = make_person(job_title=None)
    employ(person, make_organisation(display_name="Ministry"), title="Inspector")
    with in_app():
        [card] = _cards(contacts.vcard(db.session.get(Person, person.id)))
    assert _values(card, "title") == ["Inspector"]
    assert _values(card, "org") == [["Ministry"]]


@pytest.mark.parametrize(
    ("typed", "value", "types"),
    [
        ("+86 138 0013 8000", "tel:+8613800138000", ["cell"]),
        ("13800138000", "tel:+8613800138000", ["cell"]),
        ("0086-139-1234-5678", "tel:+8613912345678", ["cell"]),
        ("(010) 6512-3456", "tel:+861065123456", ["voice"]),
        ("+49 30 1234567", "tel:+49301234567", ["voice"]),
        ("6512 3456", "6512 3456", ["voice"]),
        ("138 0013 8000 ext. 5", "138 0013 8000 ext. 5", ["voice"]),
    ],
)
def test_phone_is_a_tel_uri_when_it_can_be_dialled_from_anywhere(
    in_app, make_person, typed, value, types
):
    person = make_person(phone=typed)
    with in_app():
        [card] = _cards(contacts.vcard(db.session.get(Person, person.id)))
    assert card.tel.value == value
    assert card.tel.params["TYPE"] == types
    assert ("VALUE" in card.tel.params) == value.startswith("tel:")


def test_vcards_round_trip_through_the_import_parser(in_app, wang, make_person):
    li = make_person(family_name="Li", given_name="Na", gender="male", email="li@example.org")
    with in_app():
        text = contacts.vcards([db.session.get(Person, wang.id), db.session.get(Person, li.id)])
    rows = contacts.parse_vcards(text.encode("utf-8"))
    assert rows == [
        {
            "family_name": "Wang",
            "given_name": "Fang",
            "chinese_name": "王芳",
            "email": "wang.fang@example.cn",
            "phone": "+8613800138000",
            "wechat_id": "wangfang_sz",
            "organisation": "Shenzhen Bright Electronics Co., Ltd.",
            "job_title": "HR manager",
            "gender": "female",
        },
        {
            "family_name": "Li",
            "given_name": "Na",
            "chinese_name": "",
            "email": "li@example.org",
            "phone": "",
            "wechat_id": "",
            "organisation": "",
            "job_title": "",
            "gender": "male",
        },
    ]


# ---------------------------------------------------------------------------------------------
# Downloading one card
# ---------------------------------------------------------------------------------------------


def test_coordinator_can_download_a_persons_vcard(login_as, in_app, wang):
    client = login_as(Role.coordinator)
    response = client.get(f"/people/{wang.id}/vcard")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename=Wang-Fang.vcf" in disposition
    assert "filename*=UTF-8''%E7%8E%8B%E8%8A%B3.vcf" in disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    [card] = _cards(response.get_data(as_text=True))
    assert [fn.value for fn in card.contents["fn"]] == ["Wang Fang", "王芳"]
    with in_app():
        [event] = _export_events()
        assert (event.entity_type, event.entity_id, event.actor_id) == (
            "people",
            wang.id,
            client.user.id,
        )
    assert client.get(f"/people/{wang.id}").status_code == 200  # the history shows the export


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_viewer_and_member_cannot_download_a_vcard(login_as, in_app, wang, role):
    client = login_as(role)
    assert client.get(f"/people/{wang.id}/vcard").status_code == 403
    assert "Download vCard" not in client.get(f"/people/{wang.id}").get_data(as_text=True)
    with in_app():
        assert _export_events() == []


def test_coordinator_sees_the_download_button(login_as, wang):
    page = login_as(Role.coordinator).get(f"/people/{wang.id}").get_data(as_text=True)
    assert f'href="/people/{wang.id}/vcard"' in page and "Download vCard" in page


def test_coordinator_cannot_download_someone_who_withdrew_consent(login_as, in_app, make_person):
    person = make_person(consent="withdrawn")
    client = login_as(Role.coordinator)
    response = client.get(f"/people/{person.id}/vcard")
    assert response.status_code == 403
    assert "withdrawn consent" in response.get_data(as_text=True)
    assert "Download vCard" not in client.get(f"/people/{person.id}").get_data(as_text=True)
    with in_app():
        assert _export_events() == []


def test_vcard_of_an_unknown_or_trashed_person_is_404(login_as, in_app, actor, make_person):
    person = make_person()
    with in_app():
        stakeholders.delete(db.session.get(Person, person.id), actor=db.session.get(User, actor.id))
    client = login_as(Role.manager)
    assert client.get(f"/people/{person.id}/vcard").status_code == 404
    assert client.get("/people/999999/vcard").status_code == 404


def test_export_person_checks_the_actors_role(in_app, make_user, wang):
    member = make_user(Role.member)
    with in_app(), pytest.raises(PermissionDenied):
        contacts.export_person(db.session.get(Person, wang.id), actor=member)


# ---------------------------------------------------------------------------------------------
# Exporting a filtered list
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def crowd(make_person, make_organisation, employ, in_app, actor):
    """Women and men at two employers, one who withdrew consent and one in the trash."""
    bright, ministry = (
        make_organisation(display_name="Bright Electronics"),
        make_organisation(display_name="Ministry of Labour", org_type="government"),
    )
    people = {
        "wang": make_person(family_name="Wang", given_name="Fang", chinese_name="王芳"),
        "zhao": make_person(family_name="Zhao", given_name="Li", chinese_name="赵丽"),
        "chen": make_person(family_name="Chen", given_name="Gang", gender="male"),
        "liu": make_person(family_name="Liu", given_name="Mei", consent="withdrawn"),
        "sun": make_person(family_name="Sun", given_name="Yan"),
        "he": make_person(family_name="He", given_name="Jing"),
    }
    for name in ("wang", "zhao", "chen", "liu", "sun"):
        employ(people[name], bright)
    employ(people["he"], ministry)
    with in_app():
        stakeholders.delete(
            db.session.get(Person, people["sun"].id), actor=db.session.get(User, actor.id)
        )
    return {"bright": bright, "ministry": ministry, **people}


def _exported_names(response) -> list[str]:
    return sorted(card.fn.value for card in _cards(response.get_data(as_text=True)))


def test_coordinator_exports_exactly_the_filtered_people(login_as, in_app, crowd):
    client = login_as(Role.coordinator)
    response = client.get(f"/people/export.vcf?gender=female&organisation={crowd['bright'].id}")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert re.search(
        r"filename=people-\d{4}-\d{2}-\d{2}\.vcf", response.headers["Content-Disposition"]
    )
    # Chen is a man, He works elsewhere, Liu withdrew consent, Sun is in the trash.
    assert _exported_names(response) == ["Wang Fang", "Zhao Li"]
    with in_app():
        events = _export_events()
        assert [e.entity_id for e in events] == sorted([crowd["wang"].id, crowd["zhao"].id])
        assert {(e.entity_type, e.actor_id) for e in events} == {("people", client.user.id)}


def test_unfiltered_export_holds_every_live_person_who_did_not_withdraw(login_as, crowd):
    response = login_as(Role.admin).get("/people/export.vcf")
    assert _exported_names(response) == ["Chen Gang", "He Jing", "Wang Fang", "Zhao Li"]


def test_export_with_a_text_filter(login_as, crowd):
    response = login_as(Role.manager).get("/people/export.vcf?q=赵")
    assert _exported_names(response) == ["Zhao Li"]


def test_export_of_no_one_is_an_empty_file(login_as, crowd):
    response = login_as(Role.coordinator).get("/people/export.vcf?q=nobody-at-all")
    assert response.status_code == 200 and response.get_data() == b""


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
def test_viewer_and_member_cannot_export_the_list(login_as, in_app, crowd, role):
    client = login_as(role)
    assert client.get("/people/export.vcf").status_code == 403
    assert "Export vCards" not in client.get("/people").get_data(as_text=True)
    with in_app():
        assert _export_events() == []


def test_export_button_keeps_the_list_filters(login_as, crowd):
    page = login_as(Role.coordinator).get(
        f"/people?gender=female&organisation={crowd['bright'].id}"
    )
    [link] = re.findall(r'href="(/people/export\.vcf[^"]*)"', page.get_data(as_text=True))
    assert "gender=female" in link and f"organisation={crowd['bright'].id}" in link


def test_export_people_reads_in_batches_and_audits_each_person(in_app, actor, crowd):
    with in_app():
        admin = db.session.get(User, actor.id)
        chunks = list(
            contacts.export_people(stakeholders.PersonCriteria(), actor=admin, batch_size=3)
        )
        assert [len(_cards(chunk)) for chunk in chunks] == [3, 1]
        assert len(_export_events()) == 4


def test_export_people_refuses_a_member_before_reading_anything(in_app, make_user, crowd):
    member = make_user(Role.member)
    with in_app(), pytest.raises(PermissionDenied):
        contacts.export_people(stakeholders.PersonCriteria(), actor=member)


# ---------------------------------------------------------------------------------------------
# Reading .vcf files
# ---------------------------------------------------------------------------------------------

ANDROID_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E7=8E=8B;=E8=8A=B3;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E7=8E=8B=E8=8A=B3\r\n"
    "TEL;WORK:010-6512 3456\r\n"
    "TEL;CELL;PREF:138-0013-8000\r\n"
    "EMAIL;HOME:wangfang@example.cn\r\n"
    # A long quoted-printable value continues after a soft line break ("=" at the end).
    "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E6=B7=B1=E5=9C=B3=E5=B8=82=E5=85=89=E6=98=8E=\r\n"
    "=E7=94=B5=E5=AD=90=E6=9C=89=E9=99=90=E5=85=AC=E5=8F=B8;=E4=BA=BA=E5=8A=9B=E8=B5=84=E6=BA=90\r\n"
    "TITLE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E4=BA=BA=E5=8A=9B=E8=B5=84=E6=BA=90=E7=BB=8F=E7=90=86\r\n"
    "X-WECHAT:wangfang_sz\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N:Li;Na;;;\r\n"
    "FN:Li Na\r\n"
    "TEL;HOME:+86 20 8888 1234\r\n"
    "END:VCARD\r\n"
)

GOOGLE_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Zhao Li\r\n"
    "N:Zhao;Li;;;\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=HOME:zhao.li@gmail.com\r\n"
    "EMAIL;TYPE=INTERNET;TYPE=WORK:zhao.li@bright.example.cn\r\n"
    "TEL;TYPE=WORK:0755 2345 6789\r\n"
    "TEL;TYPE=CELL:+86 139 1234 5678\r\n"
    "ORG:Bright Electronics\\, Inc.\r\n"
    "TITLE:Sustainability Manager\r\n"
    "item1.IMPP:weixin:zhaoli88\r\n"
    "item1.X-ABLabel:WeChat\r\n"
    "CATEGORIES:myContacts\r\n"
    "END:VCARD\r\n"
)

IPHONE_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n"
    "N:陈;刚;;;\r\n"
    "FN:陈刚\r\n"
    "X-PHONETIC-FIRST-NAME:Gang\r\n"
    "X-PHONETIC-LAST-NAME:Chen\r\n"
    "ORG:广东省人力资源和社会保障厅;\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:chengang@gd.example.gov.cn\r\n"
    "item2.TEL;type=CELL;type=VOICE;type=pref:137 1234 5678\r\n"
    "IMPP;X-SERVICE-TYPE=WeChat;type=pref:x-apple:chengang_gd\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBk\r\n"
    " SEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgN\r\n"
    "END:VCARD\r\n"
)

NEXTCLOUD_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "FN:He Jing\r\n"
    "FN;LANGUAGE=zh-Hans:何静\r\n"
    "N:He;Jing;;;\r\n"
    "GENDER:F\r\n"
    'TEL;VALUE=uri;TYPE="cell,voice":tel:+86-186-0000-1111\r\n'
    "EMAIL;PREF=1:he.jing@example.org\r\n"
    "IMPP;PREF=1:xmpp:hejing@example.org\r\n"
    "ORG:International Labour Organization;Beijing Office\r\n"
    "TITLE:Programme Officer\r\n"
    "END:VCARD\r\n"
)

OUTLOOK_21_GBK = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;LANGUAGE=zh-cn:孙;燕\r\n"
    "FN:孙燕\r\n"
    "ORG:苏州纺织集团\r\n"
    "TITLE:工会主席\r\n"
    "TEL;WORK;VOICE:0512-6888 0000\r\n"
    "EMAIL;PREF;INTERNET:sunyan@example.com.cn\r\n"
    "X-WAB-GENDER:1\r\n"
    "REV:20250101T080000Z\r\n"
    "END:VCARD\r\n"
).encode("gb18030")


def _row(**values: str) -> dict[str, str]:
    return {field: values.get(field, "") for field in contacts.FIELDS}


def test_reads_android_21_with_quoted_printable_chinese():
    assert contacts.parse_vcards(ANDROID_21.encode("ascii")) == [
        _row(
            family_name="王",
            given_name="芳",
            chinese_name="王芳",
            email="wangfang@example.cn",
            phone="138-0013-8000",
            wechat_id="wangfang_sz",
            organisation="深圳市光明电子有限公司",
            job_title="人力资源经理",
        ),
        _row(family_name="Li", given_name="Na", phone="+86 20 8888 1234"),
    ]


def test_reads_google_30():
    assert contacts.parse_vcards(GOOGLE_30.encode("utf-8")) == [
        _row(
            family_name="Zhao",
            given_name="Li",
            email="zhao.li@gmail.com",
            phone="+86 139 1234 5678",
            wechat_id="zhaoli88",
            organisation="Bright Electronics, Inc.",
            job_title="Sustainability Manager",
        )
    ]


def test_reads_iphone_30_with_a_photo_and_a_wechat_handle():
    assert contacts.parse_vcards(IPHONE_30.encode("utf-8")) == [
        _row(
            family_name="陈",
            given_name="刚",
            chinese_name="陈刚",
            email="chengang@gd.example.gov.cn",
            phone="137 1234 5678",
            wechat_id="chengang_gd",
            organisation="广东省人力资源和社会保障厅",
        )
    ]


def test_reads_40_with_a_chinese_fn_and_a_tel_uri():
    assert contacts.parse_vcards(NEXTCLOUD_40.encode("utf-8")) == [
        _row(
            family_name="He",
            given_name="Jing",
            chinese_name="何静",
            email="he.jing@example.org",
            phone="+86-186-0000-1111",
            organisation="International Labour Organization",
            job_title="Programme Officer",
            gender="female",
        )
    ]


def test_reads_outlook_21_in_gbk_and_utf8_with_bom():
    expected = [
        _row(
            family_name="孙",
            given_name="燕",
            chinese_name="孙燕",
            email="sunyan@example.com.cn",
            phone="0512-6888 0000",
            organisation="苏州纺织集团",
            job_title="工会主席",
            gender="female",
        )
    ]
    assert contacts.parse_vcards(OUTLOOK_21_GBK) == expected
    utf8_bom = b"\xef\xbb\xbf" + OUTLOOK_21_GBK.decode("gb18030").encode("utf-8")
    assert contacts.parse_vcards(utf8_bom) == expected
    assert contacts.parse_vcards(OUTLOOK_21_GBK.decode("gb18030").encode("utf-16")) == expected


def test_skips_group_cards_and_splits_a_latin_fn_without_n():
    data = (
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:Training participants\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna Schmidt\r\nEND:VCARD\r\n"
    )
    assert contacts.parse_vcards(data) == [_row(family_name="Schmidt", given_name="Anna")]


BIG_GARBAGE = bytes(range(1, 256)) * (5 * 1024 * 1024 // 255)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b" \r\n\r\n", "empty"),
        (b"Name,Email\r\nWang Fang,wang@example.cn\r\n", "not a vCard"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (BIG_GARBAGE, "not a vCard"),
        (b"BEGIN:VCARD\r\n" + b"x" * (5 * 1024 * 1024), "not valid vCard"),
        (("BEGIN:VCARD\r\nFN:王芳\r\n" * 200_000).encode(), "more than 10000 contacts"),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Wang Fang\r\n", "not closed"),
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nthis line has no colon\r\nEND:VCARD\r\n", "Line 3"),
        (b"BEGIN:VCARD\r\nEND:VCALENDAR\r\n", "not closed"),
        (b"BEGIN:VCARDS\r\nEND:VCARDS\r\n", "not a vCard"),
        (
            b"BEGIN:VCARD\r\nN;CHARSET=no-such;ENCODING=QUOTED-PRINTABLE:=E7\r\nEND:VCARD\r\n",
            "not valid vCard",
        ),
        (b"BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:group\r\nFN:Team\r\nEND:VCARD\r\n", "no contacts"),
        (b"BEGIN:VCARD\r\nFN:\xff\xfe\xfd\x80\r\nEND:VCARD\r\n", "neither UTF-8 nor GB18030"),
        (b"\xff\xfe" + b"\x00\xd8" * 10, "not readable"),
        (b"BEGIN:VCARD\r\n" + b" " * (contacts.MAX_BYTES + 1), "larger than 20 MB"),
    ],
    ids=[
        "empty",
        "blank",
        "csv",
        "png",
        "5MB-binary",
        "5MB-one-line",
        "never-closed-5MB",
        "never-closed",
        "no-colon",
        "mismatched-end",
        "other-component",
        "unknown-charset",
        "only-a-group",
        "unknown-encoding",
        "broken-utf16",
        "too-large",
    ],
)
def test_bad_files_raise_invalid_input_with_a_message(data, message):
    with pytest.raises(InvalidInput) as raised:
        contacts.parse_vcards(data)
    assert message in str(raised.value)


def test_too_many_contacts_is_refused(monkeypatch):
    monkeypatch.setattr(contacts, "MAX_CARDS", 2)
    data = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Someone\r\nEND:VCARD\r\n" * 3).encode()
    with pytest.raises(InvalidInput, match="more than 2 contacts"):
        contacts.parse_vcards(data)


def test_vcard_rows_feed_the_people_import_preview(in_app):
    """The import pipeline reads .vcf uploads with parse_vcards: the field names must match."""
    data = (ANDROID_21 + GOOGLE_30).encode("utf-8")
    with in_app():
        table = imports.read_upload(data, "contacts.vcf", kind="people")
        preview = imports.prepare(table, "people")
    assert table.headers == contacts.FIELDS
    assert imports.guess_mapping(table.headers, "people") == list(contacts.FIELDS)
    assert [(row.number, row.errors) for row in preview.rows] == [(1, ()), (2, ()), (3, ())]
    assert preview.rows[0].data["chinese_name"] == "王芳"


def test_coordinator_can_upload_exported_vcards_and_see_them_matched_in_the_preview(
    login_as, in_app, wang
):
    client = login_as(Role.coordinator)
    exported = client.get("/people/export.vcf").get_data()
    response = client.post(
        "/imports",
        data={"kind": "people", "file": (io.BytesIO(exported), "people.vcf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "王芳" in page and "wang.fang@example.cn" in page
    assert f'href="/people/{wang.id}"' in page  # the same email, phone and WeChat ID
    with in_app():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 1
