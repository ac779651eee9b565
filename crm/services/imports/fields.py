"""Fields of an import and their cell parsers: what a column may be called and how a cell is read.

A `FieldSpec` has a canonical name, a label, header aliases in English and Chinese (including
Google Contacts and Outlook exports) and a parser that validates a cell and maps enum values
such as 男 → male or 纺织/服装 → textile; a cell it cannot take raises `CellError` with a
message for the user. `ORGANISATION_IMPORT_FIELDS` and `PERSON_IMPORT_FIELDS` are the fields
of the kinds of import (crm.services.imports.kinds); `header_key` and `alias_rank` compare
headers with aliases. `parse_date` reads the dates people write in spreadsheets.

Nothing here touches the database.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from crm import provinces
from crm.i18n import gettext as _
from crm.i18n import lazy_gettext as _l
from crm.models import (
    Consent,
    EngagementLevel,
    Gender,
    Language,
    OrgType,
    Ownership,
    Sector,
    SizeBand,
    SupplyChainRole,
)
from crm.services import clock, contact_details

WHITESPACE = re.compile(r"\s+")
# Email addresses and phone numbers read so far, each once (email_validator and phonenumbers
# take a good part of a millisecond per value): a file is checked when uploaded and again when
# imported, usually by the same worker. Failures are not kept: their messages are translated.
_READ_CONTACTS = 32_768


class CellError(ValueError):
    """A cell value a field cannot take; the message says why, for the user."""


def header_key(text: str) -> str:
    """Headers and enum values compared without case, spaces or punctuation (全角 too)."""
    plain = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[^0-9a-z+\u3400-\u4dbf\u4e00-\u9fff]", "", plain)


@dataclass(frozen=True)
class FieldSpec:
    """One importable field: what it is called, which headers mean it, how a cell is read.

    `aliases` are compared with `header_key` (so "E-mail 1 - Value" is "email1value"); a field
    fed by several columns takes the first non-empty one in the order of its aliases.
    `weak_aliases` count only when no column has a regular alias of the field ("Title" is a
    job title in a plain sheet, but Mr./Ms. in an Outlook export that has "Job Title").
    """

    name: str
    label: Any
    parse: Callable[[str], Any]
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()


def _text(max_length: int, *, multiline: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = value.strip() if multiline else WHITESPACE.sub(" ", value).strip()
        if len(value) > max_length:
            raise CellError(
                _(
                    "longer than %(limit)d characters (%(count)d).",
                    limit=max_length,
                    count=len(value),
                )
            )
        return value

    return parse


def _province(value: str) -> str:
    """A province as its code ("广东省", "Guangdong Province" → "guangdong"), by the rule of
    crm.provinces; text that names no province is kept as written, for an administrator to
    correct (/admin/provinces)."""
    return provinces.normalised(_text(provinces.MAX_LENGTH)(value)) or ""


def _first(value: str, separators: str = r"\s*(?::::|;|；|,|，|/|\n)\s*") -> str:
    """The first of several values in one cell (Google joins them with " ::: ")."""
    parts = [p for p in re.split(separators, value) if p.strip()]
    return parts[0].strip() if parts else ""


@functools.lru_cache(maxsize=_READ_CONTACTS)
def _email(value: str) -> str:
    """The cell's first address, by the rule the person form uses (crm.services.contact_details)."""
    value = _first(unicodedata.normalize("NFKC", value))
    if value.lower().startswith("mailto:"):
        value = value[7:]
    try:
        return contact_details.email_cell(value)
    except contact_details.InvalidContact as err:
        raise CellError(str(err)) from None


@functools.lru_cache(maxsize=_READ_CONTACTS)
def _phone(value: str) -> str:
    """The cell's first phone number, by the rule the person form uses."""
    value = _first(unicodedata.normalize("NFKC", value), r"\s*(?::::|;|；|,|，|/|\n)\s*")
    value = contact_details.without_scheme(value.lstrip("'").strip())
    try:
        return contact_details.phone_cell(value)
    except contact_details.InvalidContact as err:
        raise CellError(str(err)) from None


def _tags(value: str) -> list[str]:
    names = [t.strip() for t in re.split(r"\s*(?::::|,|，|;|；|、|\|)\s*", value) if t.strip()]
    for name in names:
        if len(name) > 60:
            raise CellError(_("a tag may have at most 60 characters: “%(tag)s…”.", tag=name[:20]))
    return list(dict.fromkeys(names))


def _score(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = 0
    if not number.is_integer() or not 1 <= number <= 5:
        raise CellError(_("“%(value)s” is not a whole number from 1 to 5.", value=value[:20]))
    return int(number)


# Excel counts days from 1899-12-30 (the 1900 leap-year bug included); 20000–80000 covers
# 1954–2119, so an ordinary number in a date column is not mistaken for a date.
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value: str) -> date:
    """An ISO date, 2024/3/5, 2024年3月5日, 20240305, or an Excel serial day number."""
    value = unicodedata.normalize("NFKC", value).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", value) and 20000 <= float(value) <= 80000:
        return _EXCEL_EPOCH + timedelta(days=int(float(value)))
    for pattern in _DATE_PATTERNS:
        found = pattern.match(value)
        if found:
            try:
                return date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                break
    raise CellError(_("“%(value)s” is not a date; write it as 2024-03-05.", value=value[:30]))


def _past_date(value: str) -> date:
    parsed = parse_date(value)
    if parsed > clock.today():  # as the person form's consent date: today where the programme is
        raise CellError(_("%(date)s is in the future.", date=parsed.isoformat()))
    return parsed


def _choice(enum: type[StrEnum], synonyms: Mapping[str, Iterable[str]]) -> Callable[[str], Any]:
    """A parser for enum values: the value itself, its English label, or a listed synonym."""
    table: dict[str, StrEnum] = {}
    for member in enum:
        table[header_key(member.value)] = member
        table[header_key(member.value.replace("_", " "))] = member
        for word in synonyms.get(member.value, ()):
            table[header_key(word)] = member
    examples = ", ".join(m.value for m in enum)

    def parse(value: str) -> Any:
        found = table.get(header_key(value))
        if found is None:
            raise CellError(
                _("“%(value)s” is not one of: %(choices)s.", value=value[:40], choices=examples)
            )
        return found

    return parse


def _words(text: str) -> tuple[str, ...]:
    """Synonyms or header aliases written as one string, compared as `header_key`s."""
    return tuple(header_key(word) for word in text.split())


_GENDER = _choice(
    Gender,
    {
        "female": _words("女 女性 女士 小姐 f w woman women"),
        "male": _words("男 男性 男士 先生 m man men"),
        "other": _words("其他 其它 o diverse nonbinary"),
        "undisclosed": _words(
            "未知 保密 不详 不愿透露 u unknown unspecified notspecified prefernottosay n/a"
        ),
    },
)
_ORG_TYPE = _choice(
    OrgType,
    {
        "enterprise": _words(
            "企业 公司 工厂 厂 企业单位 民营企业 company business firm factory manufacturer "
            "supplier brand"
        ),
        "government": _words(
            "政府 政府部门 政府机构 政府机关 机关 行政机关 部委 主管部门 government gov govt "
            "ministry authority governmentagency"
        ),
        "industry_body": _words(
            "行业协会 协会 商会 行业组织 行业机构 联合会 行业商会 industryassociation "
            "association businessassociation chamber chamberofcommerce "
            "employersorganisation employersorganization"
        ),
        "trade_union": _words("工会 总工会 union laborunion labourunion workersorganisation"),
        "ngo": _words(
            "非政府组织 社会组织 公益组织 民间组织 社会团体 基金会 nonprofit npo civilsociety "
            "foundation cso"
        ),
        "academic": _words(
            "学术机构 高校 大学 学院 研究机构 科研机构 研究院 研究所 智库 academia university "
            "research researchinstitute thinktank academicresearch"
        ),
        "international": _words(
            "国际组织 国际机构 internationalorganisation internationalorganization io un donor"
        ),
        "other": _words("其他 其它"),
    },
)
_SECTOR = _choice(
    Sector,
    {
        "electronics": _words(
            "电子 电子行业 电子信息 电子产业 电子制造 电子制造业 电子业 electronic ict "
            "electronicsindustry"
        ),
        "textile": _words(
            "纺织 服装 纺织服装 纺织服装业 纺织品 服装业 纺织业 纺织行业 服装行业 纺织服装行业 "
            "服饰 textiles garment garments apparel textileandgarment textilesandgarments "
            "textilegarment textileandapparel"
        ),
        "both": _words(
            "两者 两个行业 电子和纺织 电子与纺织 电子及纺织 电子纺织 纺织和电子 "
            "electronicsandtextile electronicsandtextiles"
        ),
        "cross_sector": _words("跨行业 跨领域 综合 多行业 全行业 cross multisector all general"),
    },
)
_OWNERSHIP = _choice(
    Ownership,
    {
        "state_owned": _words("国有 国企 国有企业 国营 央企 soe state"),
        "private": _words("民营 私营 民企 私企 民营企业 私营企业 privatelyowned"),
        "foreign_invested": _words("外资 外商投资 外企 外商独资 外资企业 独资 foreign fie wfoe"),
        "joint_venture": _words("合资 中外合资 合资企业 jv"),
        "not_applicable": _words("不适用 无 na n/a none"),
    },
)
_SIZE_WORDS = _choice(
    SizeBand,
    {
        "micro": _words("微型 微型企业 微"),
        "small": _words("小型 小型企业 小"),
        "medium": _words("中型 中型企业 中"),
        "large": _words("大型 大型企业 大"),
        "unknown": _words("未知 不详"),
    },
)


def _size_band(value: str) -> Any:
    """A size band by name, or from a head count: 350, 350人, 100-499, 1000+."""
    digits = re.match(
        r"^\s*(\d[\d,]*)\s*(?:[-–~至到]\s*\d[\d,]*)?\s*(?:\+|人|名|employees)?\s*$", value
    )
    if digits:
        count = int(digits[1].replace(",", ""))
        if count < 20:
            return SizeBand.micro
        if count < 100:
            return SizeBand.small
        if count < 1000:
            return SizeBand.medium
        return SizeBand.large
    return _SIZE_WORDS(value)


_SUPPLY_CHAIN = _choice(
    SupplyChainRole,
    {
        "brand_buyer": _words(
            "品牌 品牌商 采购商 买家 品牌/采购商 brand buyer brandorbuyer retailer"
        ),
        "tier1_supplier": _words("一级供应商 一级 直接供应商 tier1 directsupplier"),
        "tier2_supplier": _words(
            "二级供应商 二级及以上供应商 二级以上供应商 二级 上游供应商 tier2 tier2+ tier2+supplier"
        ),
        "not_applicable": _words("不适用 无 na n/a none"),
    },
)
_ENGAGEMENT = _choice(
    EngagementLevel,
    {
        "unaware": _words("不了解 未知晓 不知情"),
        "aware": _words("了解 知晓 知情"),
        "engaged": _words("参与 已参与"),
        "committed": _words("承诺 投入 已承诺"),
        "champion": _words("倡导者 推动者 积极推动者"),
    },
)
_LANGUAGE = _choice(
    Language,
    {
        "zh": _words("中文 汉语 普通话 简体中文 中 chinese zhcn cn mandarin"),
        "en": _words("英文 英语 英 english enus engb"),
    },
)
_CONSENT = _choice(
    Consent,
    {
        "given": _words("同意 已同意 是 yes y true agreed 1"),
        "withdrawn": _words("撤回 已撤回 撤销 revoked"),
        "unknown": _words("未知 不详"),
    },
)

_ENGAGEMENT_ALIASES = _words("参与程度 参与度 engagement engagementlevel")
_INFLUENCE_ALIASES = _words("影响力 influence")
_INTEREST_ALIASES = _words("兴趣 关注度 兴趣度 interest")
_TAG_ALIASES = _words("标签 tags tag categories")
_NOTE_ALIASES = _words("备注 说明 附注 注释 notes note remarks comments comment")

ORGANISATION_IMPORT_FIELDS = (
    FieldSpec(
        "name",
        _l("Name (any language)"),
        _text(200),
        _words(
            "名称 单位名称 机构名称 组织名称 公司名称 企业名称 单位 公司 企业 机构 组织 name "
            "organisation organization organisationname organizationname company companyname "
            "orgname"
        ),
    ),
    FieldSpec(
        "display_name",
        _l("Name in English"),
        _text(200),
        _words("英文名称 英文名 englishname nameinenglish nameen displayname"),
    ),
    FieldSpec(
        "chinese_name",
        _l("Chinese name"),
        _text(200),
        _words("中文名称 中文名 chinesename nameinchinese namezh"),
    ),
    FieldSpec(
        "org_type",
        _l("Type"),
        _ORG_TYPE,
        _words(
            "类型 单位类型 机构类型 组织类型 单位性质 机构性质 type organisationtype "
            "organizationtype orgtype stakeholdertype"
        ),
    ),
    FieldSpec(
        "sector", _l("Sector"), _SECTOR, _words("行业 所属行业 领域 行业领域 sector industry")
    ),
    FieldSpec(
        "ownership",
        _l("Ownership"),
        _OWNERSHIP,
        _words("所有制 企业性质 所有制性质 所有制类型 ownership ownershiptype"),
    ),
    FieldSpec(
        "size_band",
        _l("Size"),
        _size_band,
        _words(
            "规模 企业规模 员工人数 员工数 职工人数 人数 size sizeband employees headcount "
            "numberofemployees"
        ),
    ),
    FieldSpec(
        "supply_chain_role",
        _l("Supply-chain role"),
        _SUPPLY_CHAIN,
        _words("供应链角色 供应链地位 供应链位置 supplychainrole supplychain"),
    ),
    FieldSpec(
        "province", _l("Province"), _province, _words("省份 省 所在省份 province state region")
    ),
    FieldSpec("city", _l("City"), _text(80), _words("城市 市 所在城市 所在地 city")),
    FieldSpec(
        "address",
        _l("Address"),
        _text(300),
        _words("地址 详细地址 通讯地址 单位地址 公司地址 address street streetaddress"),
    ),
    FieldSpec(
        "website",
        _l("Website"),
        _text(300),
        _words("网址 网站 官网 主页 website web url homepage webpage"),
    ),
    FieldSpec("engagement_level", _l("Engagement level"), _ENGAGEMENT, _ENGAGEMENT_ALIASES),
    FieldSpec("influence", _l("Influence (1–5)"), _score, _INFLUENCE_ALIASES),
    FieldSpec("interest", _l("Interest (1–5)"), _score, _INTEREST_ALIASES),
    FieldSpec("tags", _l("Tags"), _tags, _TAG_ALIASES),
    FieldSpec("notes", _l("Notes"), _text(20000, multiline=True), _NOTE_ALIASES),
)

PERSON_IMPORT_FIELDS = (
    FieldSpec(
        "full_name",
        _l("Full name"),
        _text(200),
        _words(
            "姓名 名字 全名 联系人 联系人姓名 参会人 参会人员 参会者 学员姓名 与会者 name "
            "fullname contactname displayname participant attendee"
        ),
    ),
    FieldSpec(
        "chinese_name",
        _l("Chinese name"),
        _text(200),
        _words("中文名 中文姓名 中文名字 汉字姓名 chinesename namezh nameinchinese"),
    ),
    FieldSpec(
        "family_name", _l("Family name"), _text(80), _words("姓 姓氏 familyname lastname surname")
    ),
    FieldSpec("given_name", _l("Given name"), _text(80), _words("名 givenname firstname forename")),
    FieldSpec("gender", _l("Gender"), _GENDER, _words("性别 gender sex")),
    FieldSpec(
        "organisation",
        _l("Organisation"),
        _text(200),
        _words(
            "单位 单位名称 工作单位 所在单位 公司 公司名称 企业 企业名称 机构 机构名称 组织 "
            "组织名称 organisation organization company companyname employer "
            "organization1name organizationname organisationname affiliation"
        ),
    ),
    FieldSpec(
        "job_title",
        _l("Job title"),
        _text(120),
        _words(
            "职务 职位 职称 岗位 头衔 jobtitle position organization1title organizationtitle "
            "occupation"
        ),
        weak_aliases=_words("title"),
    ),
    FieldSpec(
        "email",
        _l("Email"),
        _email,
        _words(
            "邮箱 电子邮箱 电子邮件 邮件 邮箱地址 电子邮件地址 email emailaddress mail "
            "email1value email1 primaryemail"
        ),
    ),
    FieldSpec(
        "phone",
        _l("Phone"),
        _phone,
        # Mobile numbers first: a row with several phone columns takes the first filled one.
        _words(
            "手机 手机号 手机号码 移动电话 电话 联系电话 电话号码 联系方式 办公电话 mobile "
            "mobilephone mobilenumber cellphone cell phone phonenumber telephone tel "
            "phone1value primaryphone businessphone homephone"
        ),
    ),
    FieldSpec(
        "wechat_id",
        _l("WeChat ID"),
        _text(60),
        _words("微信 微信号 微信id wechat wechatid weixin wxid"),
    ),
    FieldSpec(
        "preferred_language",
        _l("Preferred language"),
        _LANGUAGE,
        _words("语言 首选语言 偏好语言 工作语言 language preferredlanguage"),
    ),
    FieldSpec("consent", _l("Consent"), _CONSENT, _words("同意 数据同意 同意情况 consent")),
    FieldSpec(
        "consent_on",
        _l("Consent date"),
        _past_date,
        _words("同意日期 同意时间 consentdate consenton consentedon"),
    ),
    FieldSpec("consent_source", _l("Consent source"), _text(200), _words("同意来源 consentsource")),
    FieldSpec(
        "consent_reports",
        _l("Consent to reports"),
        _CONSENT,
        _words("报告同意 同意用于报告 同意报告 consentreports consenttoreports reportsconsent"),
    ),
    FieldSpec(
        "consent_publication",
        _l("Consent to publication"),
        _CONSENT,
        _words(
            "发布同意 同意发布 照片同意 同意拍照 consentpublication consenttopublication "
            "publicationconsent photoconsent"
        ),
    ),
    FieldSpec("engagement_level", _l("Engagement level"), _ENGAGEMENT, _ENGAGEMENT_ALIASES),
    FieldSpec("influence", _l("Influence (1–5)"), _score, _INFLUENCE_ALIASES),
    FieldSpec("interest", _l("Interest (1–5)"), _score, _INTEREST_ALIASES),
    FieldSpec("tags", _l("Tags"), _tags, _TAG_ALIASES),
    FieldSpec("notes", _l("Notes"), _text(20000, multiline=True), _NOTE_ALIASES),
)


def alias_rank(spec: FieldSpec, header: str) -> int:
    """How well a header names the field (lower is better): the order of its aliases, weak
    aliases after them; a field fed by several columns reads the best-named one first."""
    key = header_key(header)
    if key in spec.aliases:
        return spec.aliases.index(key)
    if key in spec.weak_aliases:
        return len(spec.aliases) + spec.weak_aliases.index(key)
    return 10_000
