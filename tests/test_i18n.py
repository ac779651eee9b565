"""The Chinese interface: what a zh user and a Chinese-speaking visitor see, and the catalogue.

The .mo files are build output (`make babel-compile`); this module compiles the zh catalogue
itself when the .mo is missing or older than the .po, so `pytest` alone works too.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from crm.extensions import db
from crm.models import Organisation

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "crm" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
COMPILED = CATALOGUE.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _read_catalogue():  # type: ignore[no-untyped-def]
    with CATALOGUE.open("rb") as fh:
        return read_po(fh, locale="zh")


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogue() -> Iterator[None]:
    """Compile zh/messages.mo when it is missing or stale (atomically: xdist workers race)."""
    if not COMPILED.exists() or COMPILED.stat().st_mtime < CATALOGUE.stat().st_mtime:
        catalogue = _read_catalogue()
        fd, tmp = tempfile.mkstemp(dir=COMPILED.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalogue)
            os.replace(tmp, COMPILED)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    yield


def _page(client, url: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _organisation_form(**over: str) -> dict[str, str]:
    data = {
        "version": "0",
        "display_name": "Ningbo Harmony Knitting Co., Ltd.",
        "chinese_name": "宁波和谐针织有限公司",
        "org_type": "enterprise",
        "sector": "textile",
        "engagement_level": "aware",
        "influence": "3",
        "interest": "4",
    }
    data.update(over)
    return data


# ---------------------------------------------------------------------------------------------
# Signed-in users: the interface follows their language setting
# ---------------------------------------------------------------------------------------------


def test_zh_user_sees_the_dashboard_and_navigation_in_chinese(login_as):
    client = login_as("member", locale="zh", name="王芳")
    page = _page(client, "/")
    assert '<html lang="zh-CN">' in page
    assert "欢迎，王芳" in page
    for text in ("工作台", "机构", "人员", "互动记录", "我的跟进事项", "退出登录"):
        assert text in page, text
    for english in ("Dashboard", "Interactions", "My follow-ups", "Sign out"):
        assert english not in page, english


def test_zh_user_sees_the_organisation_list_and_enum_labels_in_chinese(login_as, make_organisation):
    make_organisation(display_name="Ningbo Yongjiang Garment Group", sector="textile")
    client = login_as("member", locale="zh")
    page = _page(client, "/organisations")
    assert re.search(r"<h1[^>]*>\s*机构", page), "the list heading is not in Chinese"
    assert "所有行业" in page and "纺织服装" in page and "企业" in page
    assert "Textile and garment" not in page and "All sectors" not in page


def test_zh_user_sees_form_labels_and_validation_messages_in_chinese(login_as):
    client = login_as("member", locale="zh")
    page = _page(client, "/organisations/new")
    for label in ("名称（英文）", "中文名称", "参与程度", "影响力（1–5）", "关注度（1–5）", "保存"):
        assert label in page, label

    response = client.post("/organisations/new", data=_organisation_form(display_name=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请修改标出的字段。" in page
    assert "该字段是必填字段。" in page  # WTForms' own catalogue, in the user's language
    assert "Please correct the highlighted fields." not in page


def test_zh_user_sees_a_service_validation_message_in_chinese(login_as, make_organisation, in_app):
    org = make_organisation()
    client = login_as("member", locale="zh")
    response = client.post(
        f"/organisations/{org.id}/edit",
        data=_organisation_form(version=str(org.version), parent_id=str(org.id)),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "机构不能将自身设为上级机构。" in page
    assert "cannot be its own parent" not in page
    with in_app():
        assert db.session.get(Organisation, org.id).parent_id is None


def test_zh_user_sees_flash_messages_in_chinese(login_as):
    client = login_as("member", locale="zh")
    response = client.post("/organisations/new", data=_organisation_form())
    assert response.status_code == 302
    page = _page(client, response.headers["Location"])
    assert "已创建机构“Ningbo Harmony Knitting Co., Ltd.”。" in page
    assert "纺织服装" in page


def test_en_user_sees_english(login_as, make_organisation):
    make_organisation(sector="textile")
    client = login_as("member", locale="en")
    page = _page(client, "/organisations")
    assert '<html lang="en">' in page
    assert "Organisations" in page and "Textile and garment" in page and "Dashboard" in page
    assert "机构" not in page and "纺织服装" not in page and "工作台" not in page


def test_each_request_is_translated_in_its_own_readers_language(login_as, make_organisation):
    """The translations found once per request (crm.i18n) never carry over to the next."""
    make_organisation(display_name="Ningbo Yongjiang Garment Group", sector="textile")
    chinese = login_as("member", locale="zh")
    english = login_as("member", locale="en")
    for _round in range(2):
        page = _page(chinese, "/organisations")
        assert "纺织服装" in page and "Textile and garment" not in page
        page = _page(english, "/organisations")
        assert "Textile and garment" in page and "纺织服装" not in page


def test_a_forced_language_inside_a_request_is_followed_and_then_left(app):
    """Digests and jobs write in their reader's language with `force_locale` (crm.services.
    reminders, crm.jobs): templates and labels follow it, and return to the page's after."""
    from flask_babel import force_locale

    template = app.jinja_env.from_string(
        "{{ _('Remove') }} / {{ value|label }} / "
        "{{ ngettext('%(num)d person', '%(num)d people', 3) }}"
    )
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert template.render(value="attended") == "移除 / 已出席 / 3 人"
        with force_locale("en"):
            assert template.render(value="attended") == "Remove / Attended / 3 people"
        assert template.render(value="attended") == "移除 / 已出席 / 3 人"


def test_a_page_looks_its_translations_up_once(login_as, make_organisation, monkeypatch):
    """Flask-Babel finds the translations again for every string (about 15 µs each, 3 to 6 ms
    of a page); crm.i18n keeps them for the request. Guards that shortcut against a
    Flask-Babel release that keeps its state elsewhere (the shortcut would then ask Flask-Babel
    for every string, correct but slow)."""
    import flask_babel

    from crm import i18n

    for n in range(5):
        make_organisation(display_name=f"Factory {n}", sector="textile", org_type="enterprise")
    client = login_as("member", locale="zh")
    calls = []
    original = flask_babel.get_translations

    def counted():  # type: ignore[no-untyped-def]
        calls.append(1)
        return original()

    monkeypatch.setattr(i18n.flask_babel, "get_translations", counted)
    page = _page(client, "/organisations")
    assert page.count("纺织服装") >= 5 and "机构" in page
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------------
# Visitors: the browser's language, or the switch on the sign-in page
# ---------------------------------------------------------------------------------------------


def test_visitor_whose_browser_prefers_chinese_sees_the_login_page_in_chinese(client):
    page = _page(client, "/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-CN">' in page
    assert "负责任商业行为利益相关方管理系统" in page
    assert "电子邮件" in page and "密码" in page and "保持登录状态" in page
    assert "Keep me signed in" not in page


def test_visitor_sent_to_the_login_page_reads_why_in_chinese(client):
    response = client.get("/organisations", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 302
    page = _page(client, response.headers["Location"], headers={"Accept-Language": "zh-CN"})
    assert "请先登录再查看此页面。" in page


def test_lang_parameter_switches_the_login_page_and_is_remembered(client):
    assert "Keep me signed in" in _page(client, "/login")
    page = _page(client, "/login?lang=zh")
    assert '<html lang="zh-CN">' in page and "保持登录状态" in page
    assert "保持登录状态" in _page(client, "/login")  # kept in the session
    page = _page(client, "/login?lang=en", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page and "Keep me signed in" in page


def test_failed_sign_in_is_explained_in_chinese(client, make_user):
    user = make_user("member")
    response = client.post(
        "/login?lang=zh", data={"email": user.email, "password": "wrong password"}
    )
    assert response.status_code == 400
    assert "电子邮件或密码错误，或账户已停用。" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# The catalogue: every string is translated
# ---------------------------------------------------------------------------------------------


def _gaps(catalogue) -> list[str]:  # type: ignore[no-untyped-def]
    gaps = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            gaps.append(f"fuzzy: {message.id!r}")
        elif not all(strings):
            gaps.append(f"untranslated: {message.id!r}")
    return gaps


def test_every_message_in_the_zh_catalogue_is_translated():
    catalogue = _read_catalogue()
    assert len(catalogue) > 500
    gaps = _gaps(catalogue)
    assert not gaps, (
        "Translate these in " + str(CATALOGUE.relative_to(ROOT)) + ":\n" + "\n".join(gaps)
    )


def test_translations_keep_every_placeholder():
    wrong = []
    for message in _read_catalogue():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            if string and set(PLACEHOLDER.findall(string)) != wanted:
                wrong.append(f"{ids[0]!r} -> {string!r}")
    assert not wrong, "Placeholders differ:\n" + "\n".join(wrong)


def test_every_string_marked_in_the_source_is_in_the_catalogue():
    """A string marked with _() but not yet extracted would show in English: run `make babel`."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    marked = {
        (message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in _read_catalogue() if m.id}
    missing = sorted(marked - known)
    assert not missing, (
        "Run `make babel` and translate these in "
        + str(CATALOGUE.relative_to(ROOT))
        + ":\n"
        + "\n".join(map(repr, missing))
    )
