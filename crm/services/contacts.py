"""Contacts out and in: people as vCard 4.0 files, and .vcf files read back as import rows.

Export is personal data (DESIGN.md: coordinators and up). `export_person` and
`export_people` check Permission.EXPORT_PERSONAL for `actor`, leave out people who withdrew
consent, write an `export` AuditEvent on every exported person and commit. `vcard` and `vcards`
only format: they check nothing and write nothing, so they are for callers that have already
made those checks (tests, the two export functions).

What a card carries, and why:

- FN is the display name ("Wang Fang"); when the person has a Chinese name that differs, a
  second `FN;LANGUAGE=zh:王芳` follows. RFC 6350 allows several FN properties and LANGUAGE tells
  them apart; vobject round-trips both, clients that show one FN take the first (the Latin
  name, readable on every phone) and clients that choose by language can show 王芳. N carries
  the family and given names exactly as stored (family;given), and is left out for someone
  with no Latin name, which vCard 4.0 allows (FN alone names them).
- ORG is the current employer, TITLE the job title (else the current position's title).
- TEL is a `tel:` URI of the number's E.164 form when crm.services.contact_details knows the
  number (Chinese numbers without a country code get +86), else the number as typed (a local
  number without area code, an extension); TYPE=cell for mobile numbers, TYPE=voice
  otherwise.
- WeChat is `IMPP;X-SERVICE-TYPE=WeChat:weixin:<id>`: IMPP is the standard property for chat
  handles, and X-SERVICE-TYPE is how Apple's and other clients label the service.
- GENDER is F, M, O or U (undisclosed); LANG the preferred language; REV the last change.
- UID is `urn:uuid:` + uuid5(UID_NAMESPACE, "person:<id>"): the same person always gets the
  same UID, so re-importing an export updates a phone's contact instead of duplicating it.
- NOTE is never exported: notes are the team's internal observations (sensitivities,
  negotiating positions) and a .vcf ends up in phone and cloud address books, beyond the audit
  trail and the confidentiality rules of this system. Tags, consent, engagement and owner are
  internal too and stay out.

Import: `parse_vcards` reads vCard 2.1, 3.0 and 4.0 (iPhone, Android/Google, Outlook) into
rows with the canonical import column names (FIELDS), for the import preview.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from typing import Any
from urllib.parse import quote, unquote

import sqlalchemy as sa
import vobject
from sqlalchemy.orm import selectinload

from crm.access import Permission, can
from crm.extensions import db
from crm.i18n import gettext as _
from crm.models import (
    Affiliation,
    AuditAction,
    Gender,
    Organisation,
    Person,
    User,
)
from crm.services import audit, consent, contact_details, names
from crm.services.errors import InvalidInput, NotFound, PermissionDenied
from crm.services.stakeholders import PersonCriteria, people_query
from crm.services.text import clean_text

log = logging.getLogger(__name__)

# Never change this: every UID ever exported is derived from it.
UID_NAMESPACE = uuid.UUID("d21df7d8-609f-4953-a2a9-b910ac135d5c")
PRODID = "-//Stakeholder CRM//vCard export//EN"
BATCH_SIZE = 500

# The canonical column names of the people import (crm.services.imports), in this order.
FIELDS = (
    "family_name",
    "given_name",
    "chinese_name",
    "email",
    "phone",
    "wechat_id",
    "organisation",
    "job_title",
    "gender",
)
MAX_BYTES = 20 * 1024 * 1024  # an iPhone export with photos of a few hundred people
MAX_CARDS = 10_000

GENDER_CODES = {
    Gender.female: "F",
    Gender.male: "M",
    Gender.other: "O",
    Gender.undisclosed: "U",
}

# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def uid_of(person: Person) -> str:
    """The card's UID: stable for a record, different for every record."""
    return f"urn:uuid:{uuid.uuid5(UID_NAMESPACE, f'person:{person.id}')}"


def _current_affiliation(person: Person) -> Affiliation | None:
    """The open position with the latest start (undated last), from the loaded affiliations."""
    current = [
        a
        for a in person.affiliations
        if a.end_on is None and a.deleted_at is None and a.organisation.deleted_at is None
    ]
    current.sort(key=lambda a: a.start_on or date.min, reverse=True)
    return current[0] if current else None


def _tel(phone: str) -> tuple[str, bool, bool]:
    """(value, is a tel: URI, is a mobile) for a phone number as typed."""
    try:
        number = contact_details.parse_phone(phone)
    except contact_details.InvalidContact:  # an extension, a note: keep the text
        number = None
    if number is None or number.tel_uri is None:
        # The text as typed, or a local number without area code: not diallable from abroad.
        return phone.strip(), False, False
    return number.tel_uri, True, number.is_mobile


def _add(card: Any, name: str, value: Any, params: dict[str, str] | None = None) -> None:
    """Add a property; text is cleaned of control characters first (crm.services.text), so
    what was stored before that rule still makes a card that address books read."""
    line = card.add(name)
    if isinstance(value, str):
        value = clean_text(value)
    elif isinstance(value, list):
        value = [clean_text(v) if isinstance(v, str) else v for v in value]
    line.value = value
    for key, param in (params or {}).items():
        line.params[key] = [param]


def vcard(person: Person, organisation: Organisation | None = None) -> str:
    """One person as a vCard 4.0 (CRLF lines, folded at 75 octets); checks and records nothing.

    `organisation` goes into ORG; by default it is the person's current employer, read from
    `person.affiliations` (load them with the person to format many cards without a query
    each).
    """
    affiliation = _current_affiliation(person)
    if organisation is None and affiliation is not None:
        organisation = affiliation.organisation
    card = vobject.vCard()
    _add(card, "version", "4.0")
    _add(card, "prodid", PRODID)
    _add(card, "uid", uid_of(person))
    _add(card, "kind", "individual")
    _add(card, "fn", person.display_name)
    if person.chinese_name and person.chinese_name != person.display_name:
        _add(card, "fn", person.chinese_name, {"LANGUAGE": "zh"})
    if person.family_name or person.given_name:
        _add(
            card,
            "n",
            vobject.vcard.Name(
                family=clean_text(person.family_name or ""),
                given=clean_text(person.given_name or ""),
            ),
        )
    if organisation is not None:
        _add(card, "org", [organisation.display_name])
    title = person.job_title or (affiliation.title if affiliation is not None else None)
    if title:
        _add(card, "title", title)
    if person.email:
        _add(card, "email", person.email)
    if person.phone:
        value, is_uri, mobile = _tel(person.phone)
        params = {"TYPE": "cell" if mobile else "voice"}
        if is_uri:
            params["VALUE"] = "uri"
        _add(card, "tel", value, params)
    if person.wechat_id:
        handle = quote(person.wechat_id.strip(), safe="-_.")
        _add(card, "impp", f"weixin:{handle}", {"X-SERVICE-TYPE": "WeChat"})
    _add(card, "gender", GENDER_CODES[Gender(person.gender)])
    if person.preferred_language:
        _add(card, "lang", str(person.preferred_language), {"PREF": "1"})
    if person.updated_at is not None:
        _add(card, "rev", person.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    # vobject folds by characters (a line of Chinese can reach 200 octets): fold here instead.
    return _fold(card.serialize(lineLength=_UNFOLDED))


_UNFOLDED = 1_000_000
_FOLD_AT = 75  # octets per physical line (RFC 6350 3.2)


def _fold(text: str) -> str:
    """Fold CRLF lines at 75 octets, never inside a UTF-8 character."""
    out: list[str] = []
    for line in text.split("\r\n"):
        if not line:
            continue
        room, start, size = _FOLD_AT, 0, 0
        for index, char in enumerate(line):
            width = len(char.encode("utf-8"))
            if size + width > room:
                out.append(("" if start == 0 else " ") + line[start:index])
                room, start, size = _FOLD_AT - 1, index, 0  # continuations begin with a space
            size += width
        out.append(("" if start == 0 else " ") + line[start:])
    return "\r\n".join(out) + "\r\n"


def vcards(people: Iterable[Person]) -> str:
    """Many people as one .vcf text; checks and records nothing (see export_people)."""
    return "".join(vcard(person) for person in people)


_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|;]+')


def vcard_filenames(person: Person) -> tuple[str, str]:
    """(name, ASCII fallback) for a download: "王芳.vcf" and "Wang-Fang.vcf".

    The first may hold any script (browsers read it from RFC 5987 `filename*`); the second is
    what older clients see.
    """
    name = _UNSAFE_IN_FILENAME.sub(" ", person.chinese_name or person.display_name or "")
    name = " ".join(name.split())[:80] or f"person-{person.id}"
    latin = unicodedata.normalize("NFKD", person.display_name or "")
    ascii_name = re.sub(r"[^A-Za-z0-9]+", "-", latin.encode("ascii", "ignore").decode()).strip("-")
    return f"{name}.vcf", f"{ascii_name[:80] or f'person-{person.id}'}.vcf"


def _require(actor: User | None) -> None:
    if not can(actor, Permission.EXPORT_PERSONAL):
        raise PermissionDenied(_("You do not have permission to export personal data."))


def _record(person: Person, actor: User) -> None:
    audit.record(
        person,
        actor=actor,
        action=AuditAction.export,
        changes={"format": [None, "vcard"]},
        summary=person.display_name,
    )


def export_person(person: Person, *, actor: User) -> str:
    """One person's vCard, for coordinators and up; writes an export event and commits.

    Raises PermissionDenied for other roles and for a person who has withdrawn consent (their
    contact details must not leave the system), NotFound for a person in the trash.
    """
    _require(actor)
    if person.deleted_at is not None:
        raise NotFound(_("No such record."))
    if not consent.may_export_contact(person):
        raise PermissionDenied(
            _("This person has withdrawn consent: their contact details are not exported.")
        )
    text = vcard(person)
    _record(person, actor)
    db.session.commit()
    log.info("user %s exported person %s as vCard", actor.id, person.id)
    return text


def export_people(
    criteria: PersonCriteria, *, actor: User, batch_size: int = BATCH_SIZE
) -> Iterator[str]:
    """The people the list shows for `criteria`, as .vcf text in chunks of `batch_size` cards.

    The permission check runs now (PermissionDenied before anything is produced); the query
    runs as the chunks are read, in batches by id, so a long list never sits in memory. People
    who withdrew consent to communication or to reports are left out (crm.services.consent).
    Each batch writes one `export` AuditEvent per person in it and commits before its text is
    handed out: the trail never misses a card that was sent.
    """
    _require(actor)
    stmt = (
        people_query(criteria)
        .where(consent.contact_exportable())
        .options(selectinload(Person.affiliations).selectinload(Affiliation.organisation))
        .order_by(Person.id)
        .limit(batch_size)
    )
    return _export_batches(stmt, actor)


def _export_batches(stmt: sa.Select[Person], actor: User) -> Iterator[str]:
    last_id, count = 0, 0
    actor_id = actor.id
    while True:
        people = list(db.session.scalars(stmt.where(Person.id > last_id)))
        if not people:
            break
        text = vcards(people)
        for person in people:
            _record(person, actor)
        db.session.commit()
        count += len(people)
        last_id = people[-1].id
        yield text
    log.info("user %s exported %d people as vCards", actor_id, count)


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Runs of Han characters, with the middle dot of transcribed names (阿依古丽·买买提).
_HAN_RUN = re.compile(f"[{_HAN}]+(?:[·•・][{_HAN}]+)*")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?://)?")
_STARTS_AS_VCARD = re.compile(r"\s*BEGIN:VCARD\b", re.IGNORECASE)
_BEGIN_LINE = re.compile(r"^[ \t]*BEGIN:VCARD[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_STARTS_AS_VCARD_BYTES = re.compile(rb"(?:\xef\xbb\xbf)?\s*BEGIN:VCARD\b", re.IGNORECASE)
_WECHAT_NAMES = {"wechat", "weixin", "微信"}
_GENDERS = {
    "f": Gender.female,
    "female": Gender.female,
    "woman": Gender.female,
    "女": Gender.female,
    "m": Gender.male,
    "male": Gender.male,
    "man": Gender.male,
    "男": Gender.male,
    "o": Gender.other,
    "other": Gender.other,
    "n": Gender.undisclosed,
    "u": Gender.undisclosed,
    "unknown": Gender.undisclosed,
}
_OUTLOOK_GENDERS = {"1": Gender.female, "2": Gender.male}


def _not_a_vcard() -> str:
    return _("This is not a vCard (.vcf) file: it does not start with a contact.")


def _decode(data: bytes) -> str:
    """The file as text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (the
    encoding Outlook on Chinese Windows writes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InvalidInput(_("The file is not readable text.")) from None
    if b"\x00" in data:
        raise InvalidInput(_("This is a binary file, not a vCard (.vcf) file."))
    if not _STARTS_AS_VCARD_BYTES.match(data):  # fast, before decoding megabytes of junk
        raise InvalidInput(_not_a_vcard())
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(_("The file is neither UTF-8 nor GB18030 text."))


def _cards(text: str) -> Iterator[Any]:
    """vobject's components, with its errors turned into InvalidInput naming the line."""
    components = vobject.readComponents(text, allowQP=True)
    while True:
        try:
            component = next(components)
        except StopIteration:
            return
        except vobject.base.ParseError as err:
            line = getattr(err, "lineNumber", None)
            if "closed" in str(err):  # vobject: "... was never closed", "... wasn't closed"
                raise InvalidInput(
                    _("A contact in the file is not closed (END:VCARD is missing).")
                ) from None
            if line:
                raise InvalidInput(
                    _("Line %(line)d of the file is not valid vCard.", line=int(line))
                ) from None
            raise InvalidInput(_("The file is not valid vCard.")) from None
        except (vobject.base.VObjectError, UnicodeError, LookupError, ValueError) as err:
            # An unknown CHARSET, bytes that are not in it, broken base64 or quoted-printable.
            log.info("unreadable vCard: %s", type(err).__name__)
            raise InvalidInput(_("The file is not valid vCard.")) from None
        yield component


def _text(value: Any, charset: str | None = None, *, joiner: str = ",") -> str:
    """A property value as one clean line of text (list values joined by `joiner`)."""
    if isinstance(value, bytes):  # base64-encoded text in old cards
        try:
            value = value.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            value = value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        value = joiner.join(_text(v, charset, joiner=joiner) for v in value)
    return " ".join(str(value or "").split())


def _lines(card: Any, name: str) -> list[Any]:
    return list(card.contents.get(name.lower(), []))


def _types(line: Any) -> set[str]:
    """TYPE values in every spelling: TYPE=cell,voice / TYPE=cell;TYPE=voice / CELL;VOICE."""
    values = [*line.singletonparams, *line.params.get("TYPE", [])]
    if line.params.get("PREF"):
        values.append("pref")
    return {part.strip().lower() for value in values for part in str(value).split(",")}


def _value(line: Any) -> str:
    charset = (line.params.get("CHARSET") or [None])[0]
    return _text(line.value, charset)


def _best(lines: list[Any], *preferred: str) -> str:
    """The first non-empty value among lines carrying the preferred types, else the first."""
    for wanted in (*preferred, "pref", None):
        for line in lines:
            value = _value(line)
            if value and (wanted is None or wanted in _types(line)):
                return value
    return ""


def _han(text: str) -> str:
    return "".join(_HAN_RUN.findall(text))


def _names(card: Any) -> tuple[str, str, str]:
    """(family, given, Chinese name): N as given, or the FN split, family name first for a
    Chinese name (crm.services.names); the Chinese name from an FN or N in Han."""
    family = given = ""
    n_lines = _lines(card, "n")
    if n_lines and isinstance(n_lines[0].value, vobject.vcard.Name):
        name = n_lines[0].value
        family, given = _text(name.family, joiner=" "), _text(name.given, joiner=" ")
    fn_lines = _lines(card, "fn")
    chinese_first = sorted(
        fn_lines,
        key=lambda line: not str((line.params.get("LANGUAGE") or [""])[0]).lower().startswith("zh"),
    )
    candidates = [_value(line) for line in chinese_first]
    candidates.append(_han(family) + _han(given))
    chinese = next((_han(c) for c in candidates if _han(c)), "")
    if not family and not given:
        # No N (vCard 4.0 allows it): split a Latin FN by the one rule for full names, family
        # name first for a Chinese name in pinyin, else as written ("Anna Schmidt").
        latin = next((_value(line) for line in fn_lines if not _han(_value(line))), "")
        if len(latin.split()) > 1 or "," in latin:
            family, given = names.split_latin(latin, chinese=chinese)
        else:
            given = latin
    elif not (_han(family) or _han(given)):
        # N as written, unless it holds a Chinese name swapped or whole in one part.
        family, given = names.order_parts(family, given, chinese=chinese)
    return family, given, chinese


def _wechat(card: Any) -> str:
    for name in ("x-wechat", "x-weixin", "x-wechat-id"):
        value = _best(_lines(card, name))
        if value:
            return value
    for line in _lines(card, "impp"):
        value = _value(line)
        service = {str(s).lower() for s in line.params.get("X-SERVICE-TYPE", [])}
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if service & _WECHAT_NAMES or scheme in _WECHAT_NAMES:
            return unquote(_SCHEME.sub("", value)).strip()
    for line in _lines(card, "x-socialprofile"):
        if _types(line) & _WECHAT_NAMES:
            user = (line.params.get("X-USER") or [""])[0]
            return _text(user) or unquote(_SCHEME.sub("", _value(line))).strip()
    return ""


def _gender(card: Any) -> str:
    for name in ("gender", "x-gender"):
        value = _best(_lines(card, name))
        sex = value.split(";", 1)[0].strip().lower()
        if sex in _GENDERS:
            return _GENDERS[sex].value
    outlook = _best(_lines(card, "x-wab-gender"))
    return _OUTLOOK_GENDERS[outlook].value if outlook in _OUTLOOK_GENDERS else ""


def _organisation(card: Any) -> str:
    for line in _lines(card, "org"):
        value = line.value
        first = value[0] if isinstance(value, list) and value else value
        text = _text(first, (line.params.get("CHARSET") or [None])[0])
        if text:
            return text
    return ""


def _is_group(card: Any) -> bool:
    kinds = {_value(line).lower() for line in _lines(card, "kind")}
    kinds |= {_value(line).lower() for line in _lines(card, "x-addressbookserver-kind")}
    return "group" in kinds


def _row(card: Any) -> dict[str, str]:
    family, given, chinese = _names(card)
    email = _best(_lines(card, "email"), "internet")
    phone = _best(_lines(card, "tel"), "cell", "mobile")
    return {
        "family_name": family,
        "given_name": given,
        "chinese_name": chinese,
        "email": contact_details.without_scheme(email),
        "phone": contact_details.without_scheme(phone),
        "wechat_id": _wechat(card),
        "organisation": _organisation(card),
        "job_title": _best(_lines(card, "title")) or _best(_lines(card, "role")),
        "gender": _gender(card),
    }


def parse_vcards(data: bytes) -> list[dict[str, str]]:
    """The contacts of a .vcf file as import rows keyed by FIELDS ("" where a card has none).

    Reads vCard 2.1 (quoted-printable and CHARSET parameters included), 3.0 and 4.0 as
    iPhone, Android/Google and Outlook write them; group cards are skipped. family_name and
    given_name are N as written (put right for a Chinese name, crm.services.names), or a
    Latin FN split by that rule; chinese_name is the Han part of an FN (a `LANGUAGE=zh` one
    first) or of N. Any file that is not readable vCard (empty, binary, another format,
    larger than MAX_BYTES, more than MAX_CARDS contacts) raises InvalidInput with a message
    for the user. Writes nothing.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidInput(_("The file could not be read."))
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            _(
                "The file is larger than %(size)d MB. Export fewer contacts at a time.",
                size=MAX_BYTES // (1024 * 1024),
            )
        )
    if not data.strip():
        raise InvalidInput(_("The file is empty."))
    text = _decode(data)
    if not _STARTS_AS_VCARD.match(text):
        raise InvalidInput(_not_a_vcard())
    # Counted before parsing: vobject slows down on thousands of unclosed (nested) cards.
    if sum(1 for _match in _BEGIN_LINE.finditer(text)) > MAX_CARDS:
        raise InvalidInput(
            _(
                "The file holds more than %(count)d contacts. Split it into smaller files.",
                count=MAX_CARDS,
            )
        )
    rows: list[dict[str, str]] = []
    for card in _cards(text):
        if (card.name or "").upper() == "VCARD" and not _is_group(card):
            rows.append(_row(card))
    if not rows:
        raise InvalidInput(_("The file holds no contacts."))
    return rows
