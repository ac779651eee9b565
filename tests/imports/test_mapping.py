"""Column mapping, value mapping, validation and matching rows to existing records."""

from __future__ import annotations

from datetime import date

import pytest

from crm.extensions import db
from crm.models import Gender, Organisation, OrgType, Person, Sector, User
from crm.services import duplicates, imports, stakeholders
from crm.services.errors import InvalidInput
from tests.imports.conftest import csv_bytes, xlsx_bytes

GOOGLE_OLD = (
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,"
    "Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,"
    "Gender,Location,Billing Information,Directory Server,Mileage,Occupation,Hobby,Sensitivity,"
    "Priority,Subject,Notes,Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,"
    "Phone 1 - Type,Phone 1 - Value,Organization 1 - Type,Organization 1 - Name,"
    "Organization 1 - Yomi Name,Organization 1 - Title,Organization 1 - Department"
)
GOOGLE_NEW = (
    "First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,"
    "Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,"
    "Organization Title,Organization Department,Birthday,Notes,Photo,Labels,E-mail 1 - Label,"
    "E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value"
)
OUTLOOK = (
    "First Name,Middle Name,Last Name,Title,Suffix,Nickname,Given Yomi,Surname Yomi,"
    "E-mail Address,E-mail 2 Address,E-mail 3 Address,Home Phone,Home Phone 2,Business Phone,"
    "Business Phone 2,Mobile Phone,Car Phone,Other Phone,Primary Phone,Pager,Business Fax,"
    "Home Fax,Other Fax,Company Main Telephone,Callback,Radio Phone,Telex,TTY/TDD Phone,"
    "IMAddress,Job Title,Department,Company,Office Location,Manager's Name,Assistant's Name,"
    "Assistant's Phone,Company Yomi,Business Street,Business City,Business State,"
    "Business Postal Code,Business Country/Region,Web Page,Birthday,Notes,Gender,Categories"
)


@pytest.fixture(autouse=True)
def _context(in_app):  # type: ignore[no-untyped-def]
    with in_app():
        yield


def _mapped(headers: str, kind: str = "people") -> dict[str, str]:
    names = headers.split(",")
    return {h: f for h, f in zip(names, imports.guess_mapping(names, kind), strict=True) if f}


def _prepare(rows, kind="people", **kwargs) -> imports.Preview:  # type: ignore[no-untyped-def]
    table = imports.read_table(csv_bytes(rows), "file.csv")
    return imports.prepare(imports.locate_header(table, kind), kind, **kwargs)


def test_chinese_people_headers_are_recognised():
    assert _mapped("姓名,性别,单位,职务,手机,电话,邮箱,微信,备注,标签,同意日期") == {
        "姓名": "full_name",
        "性别": "gender",
        "单位": "organisation",
        "职务": "job_title",
        "手机": "phone",
        "电话": "phone",
        "邮箱": "email",
        "微信": "wechat_id",
        "备注": "notes",
        "标签": "tags",
        "同意日期": "consent_on",
    }
    assert _mapped("姓,名,手机号码*,电子邮箱") == {
        "姓": "family_name",
        "名": "given_name",
        "手机号码*": "phone",
        "电子邮箱": "email",
    }


def test_chinese_organisation_headers_are_recognised():
    assert _mapped("单位名称,类型,行业,省份,城市,地址,网址,规模,所有制", "organisations") == {
        "单位名称": "name",
        "类型": "org_type",
        "行业": "sector",
        "省份": "province",
        "城市": "city",
        "地址": "address",
        "网址": "website",
        "规模": "size_band",
        "所有制": "ownership",
    }
    assert _mapped("名称,公司名称,英文名称", "organisations") == {
        "名称": "name",
        "公司名称": "name",
        "英文名称": "display_name",
    }


def test_google_contacts_exports_are_recognised():
    assert _mapped(GOOGLE_OLD) == {
        "Name": "full_name",
        "Given Name": "given_name",
        "Family Name": "family_name",
        "Gender": "gender",
        "Occupation": "job_title",
        "Notes": "notes",
        "Language": "preferred_language",
        "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone",
        "Organization 1 - Name": "organisation",
        "Organization 1 - Title": "job_title",
    }
    assert _mapped(GOOGLE_NEW) == {
        "First Name": "given_name",
        "Last Name": "family_name",
        "Organization Name": "organisation",
        "Organization Title": "job_title",
        "Notes": "notes",
        "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone",
    }


def test_outlook_exports_are_recognised_and_title_is_not_the_job():
    mapped = _mapped(OUTLOOK)
    assert mapped["First Name"] == "given_name" and mapped["Last Name"] == "family_name"
    assert mapped["E-mail Address"] == "email"
    assert mapped["Mobile Phone"] == mapped["Business Phone"] == "phone"
    assert mapped["Job Title"] == "job_title" and mapped["Company"] == "organisation"
    assert mapped["Categories"] == "tags" and mapped["Gender"] == "gender"
    assert "Title" not in mapped  # Mr./Ms. in Outlook; "Job Title" is there


def test_a_plain_title_column_is_the_job_title_when_nothing_else_is():
    assert _mapped("Name,Title") == {"Name": "full_name", "Title": "job_title"}


def test_outlook_row_takes_the_mobile_phone_before_the_business_phone():
    headers = OUTLOOK.split(",")
    row = [""] * len(headers)
    values = {
        "First Name": "Anna",
        "Last Name": "Kowalski",
        "Title": "Ms.",
        "E-mail Address": "anna@euccc.eu",
        "Business Phone": "+86 10 6462 2066",
        "Mobile Phone": "+86 139 0000 1111",
        "Job Title": "Policy Manager",
        "Company": "EU Chamber of Commerce in China",
        "Gender": "Female",
        "Categories": "forum speaker; EU",
    }
    for name, value in values.items():
        row[headers.index(name)] = value
    (result,) = _prepare([headers, row]).rows
    assert result.errors == ()
    assert result.data == {
        "given_name": "Anna",
        "family_name": "Kowalski",
        "email": "anna@euccc.eu",
        "phone": "+86 139 0000 1111",
        "job_title": "Policy Manager",
        "gender": Gender.female,
        "tags": ["forum speaker", "EU"],
    }
    assert result.extra == {"organisation": "EU Chamber of Commerce in China"}
    assert result.label == "Anna Kowalski"


def test_google_row_with_several_values_takes_the_first():
    headers = GOOGLE_OLD.split(",")
    row = [""] * len(headers)
    row[headers.index("Name")] = "王芳"
    row[headers.index("Given Name")] = "Fang"
    row[headers.index("Family Name")] = "Wang"
    row[headers.index("E-mail 1 - Value")] = "wf@example.cn ::: fang@home.cn"
    row[headers.index("Phone 1 - Value")] = "138 0013 8000 ::: 020 1234 5678"
    (result,) = _prepare([headers, row]).rows
    assert result.errors == ()
    assert result.data["chinese_name"] == "王芳"
    assert (result.data["family_name"], result.data["given_name"]) == ("Wang", "Fang")
    assert result.data["email"] == "wf@example.cn" and result.data["phone"] == "138 0013 8000"
    assert result.label == "Wang Fang 王芳"


def test_enum_values_are_mapped_from_chinese_and_english():
    preview = _prepare(
        [
            ["名称", "类型", "行业", "所有制", "规模", "供应链角色"],
            ["东莞和谐服装有限公司", "企业", "纺织/服装", "民营", "350人", "一级供应商"],
            [
                "Shenzhen Bright Electronics Co., Ltd.",
                "Enterprise",
                "电子",
                "外资",
                "large",
                "Tier-2+ supplier",
            ],
            ["中国纺织工业联合会", "行业协会", "纺织服装", "", "", ""],
            ["Ministry of Commerce", "government", "cross-sector", "State-owned", "", "n/a"],
        ],
        "organisations",
    )
    assert [r.errors for r in preview.rows] == [(), (), (), ()]
    first, second, third, fourth = (r.data for r in preview.rows)
    assert (first["org_type"], first["sector"], first["ownership"]) == (
        "enterprise",
        "textile",
        "private",
    )
    assert (first["size_band"], first["supply_chain_role"]) == ("medium", "tier1_supplier")
    assert (second["org_type"], second["sector"], second["ownership"]) == (
        OrgType.enterprise,
        Sector.electronics,
        "foreign_invested",
    )
    assert second["supply_chain_role"] == "tier2_supplier" and second["size_band"] == "large"
    assert (third["org_type"], third["sector"]) == ("industry_body", "textile")
    assert fourth["sector"] == "cross_sector" and fourth["supply_chain_role"] == "not_applicable"
    # A Chinese name is also the Chinese name, so pinyin and "hw"-style search work.
    assert first["display_name"] == first["chinese_name"] == "东莞和谐服装有限公司"
    assert "chinese_name" not in second


def test_gender_values_are_mapped_and_unknown_values_are_row_errors():
    preview = _prepare(
        [
            ["姓名", "性别", "行业"],
            ["王芳", "女", ""],
            ["张磊", "男", ""],
            ["Li Na", "F", ""],
            ["赵晨", "保密", ""],
            ["陈刚", "男性 ", ""],
            ["某人", "不知道", ""],
        ]
    )
    genders = [r.data.get("gender") for r in preview.rows]
    assert genders[:5] == ["female", "male", "female", "undisclosed", "male"]
    assert preview.rows[5].errors == (
        "性别: “不知道” is not one of: female, male, other, undisclosed.",
    )
    assert "Columns not imported" not in " ".join(preview.notices)


def test_unknown_headers_are_ignored_and_named():
    preview = _prepare([["姓名", "座位号", "签名"], ["王芳", "12", "王芳"]])
    assert preview.mapping == ("full_name", "", "")
    assert "Columns not imported: “座位号”, “签名”." in preview.notices


def test_a_file_without_a_name_column_is_a_problem_not_a_crash():
    preview = _prepare([["Foo", "Bar"], ["1", "2"]])
    assert preview.problems and "No column holds a name" in preview.problems[0]
    assert preview.rows[0].errors  # the row has no name either


def test_row_errors_name_the_column_and_the_reason():
    preview = _prepare(
        [
            ["姓名", "邮箱", "手机", "影响力", "同意日期", "职务"],
            ["王芳", "not-an-email", "call me", "7", "2099-01-01", "x" * 121],
            ["", "li@x.cn", "", "", "", ""],
        ]
    )
    assert preview.rows[0].errors == (
        "邮箱: “not-an-email” is not an email address.",
        "手机: “call me” is not a phone number (digits, spaces, brackets and dashes, with an "
        "optional leading +).",
        "影响力: “7” is not a whole number from 1 to 5.",
        "同意日期: 2099-01-01 is in the future.",
        "职务: longer than 120 characters (121).",
    )
    assert preview.rows[1].errors == (
        "A name is required: a full name, a family or given name, or a Chinese name.",
    )


def test_names_in_characters_pinyin_and_both():
    preview = _prepare(
        [
            ["姓名", "姓", "名"],
            ["王芳", "", ""],
            ["", "李", "娜"],
            ["Xiaofang Wang", "", ""],
            ["Wang, Fang", "", ""],
            ["张磊 Zhang Lei", "", ""],
        ]
    )
    data = [r.data for r in preview.rows]
    assert data[0] == {"chinese_name": "王芳"}
    assert data[1] == {"chinese_name": "李娜"}
    # A Chinese name in pinyin: the surname is the family name, wherever it stands.
    assert data[2] == {"family_name": "Wang", "given_name": "Xiaofang"}
    assert data[3] == {"family_name": "Wang", "given_name": "Fang"}
    assert data[4] == {"chinese_name": "张磊", "family_name": "Zhang", "given_name": "Lei"}


def test_dates_from_excel_serials_and_cells(tmp_path):
    data = xlsx_bytes(
        tmp_path,
        [["姓名", "同意日期"], ["王芳", 45356], ["李娜", date(2023, 12, 31)], ["张磊", "2024/1/2"]],
    )
    table = imports.read_table(data, "people.xlsx")
    preview = imports.prepare(table, "people")
    assert [r.data["consent_on"] for r in preview.rows] == [
        date(2024, 3, 5),
        date(2023, 12, 31),
        date(2024, 1, 2),
    ]


def test_a_title_row_above_the_headers_is_skipped():
    rows = [
        ["2026年3月劳动标准培训签到表"],
        ["姓名", "单位", "手机"],
        ["王芳", "和谐服装", "13800138000"],
    ]
    table = imports.read_table(csv_bytes(rows), "sheet.csv")
    located = imports.locate_header(table, "people")
    assert located.headers == ("姓名", "单位", "手机") and located.header_row == 2
    assert [r.number for r in located.rows] == [3]
    assert any("found in row 2" in n for n in located.source["notices"])


def test_a_mapping_the_user_chose_is_used_and_checked():
    rows = [["A", "B"], ["王芳", "13800138000"]]
    table = imports.read_table(csv_bytes(rows), "x.csv")
    preview = imports.prepare(table, "people", mapping=["full_name", "phone"])
    assert preview.rows[0].data == {"chinese_name": "王芳", "phone": "13800138000"}
    with pytest.raises(InvalidInput):
        imports.prepare(table, "people", mapping=["full_name", "password_hash"])


# --- Matching rows to existing records ----------------------------------------------------------


@pytest.fixture
def existing(make_organisation, make_person, actor):  # type: ignore[no-untyped-def]
    org = make_organisation(display_name="东莞和谐服装有限公司", org_type="enterprise")
    other = make_organisation(display_name="Shenzhen Bright Electronics Co., Ltd.")
    wang = make_person(
        family_name=None, given_name=None, chinese_name="王芳", email="wf@example.cn"
    )
    li = make_person(family_name="Li", given_name="Na", phone="+86 139 1234 5678")
    zhang = make_person(family_name="Zhang", given_name="Lei", wechat_id="ZhangLei88")
    chen = make_person(family_name=None, given_name=None, chinese_name="陈刚")
    liu = make_person(family_name=None, given_name=None, chinese_name="刘洋")
    admin = db.session.get(User, actor.id)
    stakeholders.add_affiliation(
        db.session.get(Person, chen.id),
        organisation_id=org.id,
        title="HR",
        start_on=None,
        end_on=None,
        actor=admin,
    )
    stakeholders.add_affiliation(
        db.session.get(Person, liu.id),
        organisation_id=other.id,
        title=None,
        start_on=None,
        end_on=None,
        actor=admin,
    )
    return {
        "org": org,
        "other": other,
        "wang": wang,
        "li": li,
        "zhang": zhang,
        "chen": chen,
        "liu": liu,
    }


def test_people_match_by_email_phone_wechat_and_name_with_organisation(existing):
    preview = _prepare(
        [
            ["姓名", "邮箱", "手机", "微信", "单位"],
            ["Wang Fang", "WF@example.cn", "", "", ""],
            ["李娜", "", "13912345678", "", ""],
            ["张磊", "", "", "zhanglei88", ""],
            ["陈刚", "", "", "", "东莞和谐服装股份有限公司"],
            ["刘洋", "", "", "", "东莞和谐服装有限公司"],
            ["刘洋", "", "", "", ""],
            ["赵晨", "", "", "", ""],
        ]
    )
    found = [[(m.id, m.reasons) for m in r.matches] for r in preview.rows]
    # "Wang Fang" read as given name Wang, family name Fang is still 王芳: either order matches.
    assert found[0] == [(existing["wang"].id, ("email", "name"))]
    # 李娜 in pinyin is Li Na, 张磊 Zhang Lei: the names agree too.
    assert found[1] == [(existing["li"].id, ("phone", "name"))]
    assert found[2] == [(existing["zhang"].id, ("wechat", "name"))]
    assert found[3] == [(existing["chen"].id, ("chinese_name", "organisation", "name"))]
    assert found[4] == []  # 刘洋 works elsewhere: another person with the same name
    assert found[5] == [(existing["liu"].id, ("chinese_name", "name"))]  # no organisation given
    assert found[6] == []


def test_people_matching_agrees_with_the_duplicate_service(existing):
    rows = [
        {"chinese_name": "王芳", "email": "wf@example.cn"},
        {"family_name": "Li", "given_name": "Na", "phone": "13912345678"},
        {"family_name": "Zhang", "given_name": "Lei", "wechat_id": "zhanglei88"},
    ]
    table = imports.table_from_records(rows)
    preview = imports.prepare(table, "people")
    for row, data in zip(preview.rows, rows, strict=True):
        expected = [c.stakeholder.id for c in duplicates.candidates_for_person(data)]
        assert [m.id for m in row.matches] == expected


def test_organisations_match_by_normalised_name(existing):
    preview = _prepare(
        [
            ["名称", "英文名称"],
            ["东莞和谐服装股份有限公司", ""],
            ["", "SHENZHEN BRIGHT ELECTRONICS LIMITED"],
            ["东莞和谐电子有限公司", ""],
        ],
        "organisations",
    )
    found = [[(m.id, m.reasons) for m in r.matches] for r in preview.rows]
    assert found[0] == [(existing["org"].id, ("name", "chinese_name"))]
    assert found[1] == [(existing["other"].id, ("name",))]
    assert found[2] == []
    assert [
        c.stakeholder.id
        for c in duplicates.candidates_for_organisation(
            {"display_name": "东莞和谐服装股份有限公司", "chinese_name": "东莞和谐服装股份有限公司"}
        )
    ] == [existing["org"].id]


def test_rows_repeated_in_the_file_point_to_the_first():
    preview = _prepare(
        [
            ["姓名", "邮箱", "单位"],
            ["王芳", "wf@example.cn", "和谐服装"],
            ["Fang Wang", "WF@example.cn", ""],
            ["王芳", "", "和谐服装有限公司"],
            ["王芳", "", "光明电子"],
        ]
    )
    found = [[(m.id, m.row, m.reasons) for m in r.matches] for r in preview.rows]
    assert found == [[], [(None, 2, ("file",))], [(None, 2, ("file",))], []]


def test_a_member_cannot_import(make_user):  # type: ignore[no-untyped-def]
    from crm.access import Role
    from crm.services.errors import PermissionDenied

    member = db.session.get(User, make_user(Role.member).id)
    table = imports.read_table(csv_bytes([["姓名"], ["王芳"]]), "x.csv")
    with pytest.raises(PermissionDenied):
        imports.run(table, kind="people", actor=member)
    with pytest.raises(PermissionDenied):
        imports.stage(table, kind="people", filename="x.csv", actor=member)
    assert db.session.scalar(db.select(db.func.count()).select_from(Person)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(Organisation)) == 0
