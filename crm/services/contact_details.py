"""Phone numbers, email addresses and WeChat IDs: what is accepted, what is stored, what matches.

One rule for the person and participant forms, the import pipeline, vCards, duplicate keys and
search, so that what one of them accepts the others accept too (an address the import takes
no longer fails the edit form later).

Phones (`parse_phone`), built on phonenumbers (libphonenumber's metadata), region CN unless
told otherwise:

- Accepted as typed: digits, spaces, brackets and dashes with an optional leading +, 5 to 40
  characters, as the person form always accepted. Full-width characters become half-width
  first (Chinese input methods type １３８), and a `tel:` scheme is dropped. "+86", "0086" and
  "86" before a mobile number are the country code: "138 1234 5678", "+86 138-1234-5678" and
  "0086 13812345678" are one number.
- Refused: letters, so extensions ("ext. 5", "转5") and notes ("mobile", "office") belong in
  the notes; text phonenumbers cannot read as a number at all; too few or too many digits for
  any number of its country; an unknown country code.
- Stored: `Person.phone` holds what was typed (`Phone.typed`), `Person.phone_key` its E.164
  form ("+8613812345678", `Phone.e164`). The E.164 form exists only for numbers phonenumbers
  knows as valid. A number it can read but not place, such as a local number without its area
  code ("6512 3456") or a service number ("12345"), is still accepted, as the form always
  did, but has no key and so matches no other record by phone. There is deliberately no
  digits-only fallback key: every phone the form or the import ever accepted parses, and the
  digits of a local number would match the same number in another city.

Emails (`normalise_email`): email-validator without the DNS check (the form and the import
alike), stored lower case as `Person.email` always was, local part included.

WeChat IDs are compared without case or surrounding spaces (`wechat_key`).

Errors are `InvalidContact`, an `InvalidInput` that is also a `ValueError`: its message is
translated text for a form field ("Use digits, spaces, …"). The `*_cell` functions take one
cell of an imported file and raise the same error with the message the import shows for a
cell, quoting the value ("“call me” is not a phone number …").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from crm.i18n import gettext as _
from crm.services.errors import InvalidInput

DEFAULT_REGION = "CN"
MAX_PHONE = 40  # Person.phone
MAX_EMAIL = 254  # Person.email, and the longest address SMTP allows

# What a phone may be typed with, as the person form has always accepted it.
_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,40}$")
# The characters people put between digits; the list search removes them in SQL too.
PHONE_PUNCTUATION = " ()+.-"
_PUNCTUATION = re.compile(rf"[\s{re.escape(PHONE_PUNCTUATION)}]")
_NOT_DIGIT = re.compile(r"\D")
_SCHEME = re.compile(r"^(?:tel|mailto):(?://)?", re.IGNORECASE)
_NOT_A_NUMBER = {
    phonenumbers.ValidationResult.TOO_SHORT,
    phonenumbers.ValidationResult.TOO_LONG,
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE,
}


class InvalidContact(InvalidInput, ValueError):
    """A phone number or email address the rule refuses; the message says why, for the user."""


@dataclass(frozen=True)
class Phone:
    """A phone number the rule accepts.

    `typed` is what the user typed (stripped, half-width), the value `Person.phone` stores;
    `e164` the number for matching and dialling ("+8613812345678"), None when phonenumbers
    cannot place it; `national` the digits as dialled inside its country ("01065123456").
    """

    typed: str
    e164: str | None
    national: str | None
    is_mobile: bool

    @property
    def tel_uri(self) -> str | None:
        """The RFC 3966 URI a vCard or a link dials ("tel:+8613812345678")."""
        return f"tel:{self.e164}" if self.e164 else None


# ---------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------


def without_scheme(text: str) -> str:
    """A phone number or an address without the tel: or mailto: of a URI (vCards, links)."""
    return _SCHEME.sub("", text).strip() if _SCHEME.match(text) else text


def _plain(text: str) -> str:
    """Half-width, stripped, without a tel: or mailto: scheme."""
    return without_scheme(unicodedata.normalize("NFKC", text).strip())


@functools.lru_cache(maxsize=65536)  # pure; an import checks and then writes the same cells
def _read(text: str, region: str) -> Phone | Literal["characters", "number"]:
    """The phone, or why it is refused: its characters, or it is not a number."""
    typed = _plain(text)
    if not _PHONE.match(typed):
        return "characters"
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        return "number"
    possible = phonenumbers.is_possible_number_with_reason(number)
    if len(typed) > MAX_PHONE or possible in _NOT_A_NUMBER:
        return "number"
    if not phonenumbers.is_valid_number(number):
        return Phone(typed, None, None, False)
    national = _NOT_DIGIT.sub("", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return Phone(
        typed=typed,
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        national=national,
        is_mobile=phonenumbers.number_type(number) == PhoneNumberType.MOBILE,
    )


def parse_phone(text: str, region: str = DEFAULT_REGION) -> Phone:
    """The phone number in `text` (see the module docstring for what is accepted).

    Raises InvalidContact with the message for a form field when the rule refuses it.
    """
    phone = _read(text, region)
    if isinstance(phone, Phone):
        return phone
    if phone == "characters":
        raise InvalidContact(
            _("Use digits, spaces, brackets and dashes, with an optional leading +.")
        )
    raise InvalidContact(
        _("Enter a phone number such as 138 0013 8000, 010 6512 3456 or +49 30 1234567.")
    )


def phone_cell(value: str, region: str = DEFAULT_REGION) -> str:
    """One phone number of an imported cell, as `Person.phone` stores it.

    Takes a single value (the caller splits a cell that holds several); drops the apostrophe
    with which spreadsheets mark a number as text. Raises InvalidContact with the message for
    the cell, quoting the value.
    """
    value = _plain(value).lstrip("'").strip()
    phone = _read(value, region)
    if isinstance(phone, Phone):
        return phone.typed
    if phone == "characters":
        raise InvalidContact(
            _(
                "“%(value)s” is not a phone number (digits, spaces, brackets and dashes, "
                "with an optional leading +).",
                value=value[:60],
            )
        )
    raise InvalidContact(_("“%(value)s” is not a phone number.", value=value[:60]))


def phone_key(text: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form that matches a phone however it was typed; None when it has none.

    `Person.phone_key` holds it. Never raises: a stored value the rule now refuses has no key.
    """
    if not text:
        return None
    phone = _read(text, region)
    return phone.e164 if isinstance(phone, Phone) else None


def phone_words(text: str | None, region: str = DEFAULT_REGION) -> list[str]:
    """Digit words under which search finds a phone, besides the groups as typed.

    All digits ("8613800138000"), and for a number phonenumbers knows: the digits dialled
    inside its country ("13800138000", "01065123456"), without the trunk 0 ("1065123456") and
    with the country code. Otherwise, digits starting with 86 also come without it, as before.
    """
    plain = _plain(text or "")
    digits = _NOT_DIGIT.sub("", plain)
    if not digits:
        return []
    out = [digits]
    try:
        number = phonenumbers.parse(plain, region)
    except NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        out += [
            _NOT_DIGIT.sub("", national),
            phonenumbers.national_significant_number(number),
            f"{number.country_code}{phonenumbers.national_significant_number(number)}",
        ]
    elif digits.startswith("86") and len(digits) > 11:
        out.append(digits[2:])
    return list(dict.fromkeys(out))


def phone_digits(query: str) -> str | None:
    """The digits of a search query typed as (part of) a phone number: "138-0013" → "1380013".

    None when the query holds anything but digits and PHONE_PUNCTUATION, or fewer than three
    digits, which would match almost every number.
    """
    digits = _PUNCTUATION.sub("", unicodedata.normalize("NFKC", query))
    return digits if len(digits) >= 3 and digits.isascii() and digits.isdigit() else None


# ---------------------------------------------------------------------------------------------
# Emails and WeChat IDs
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def _email(text: str) -> str | None:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def normalise_email(text: str) -> str:
    """The address as `Person.email` stores it: checked by email-validator, lower case.

    Half-width first and without a mailto: scheme. Raises InvalidContact with the message for
    a form field when it is not an email address.
    """
    address = _email(_plain(text))
    if address is None:
        raise InvalidContact(_("Enter an email address such as name@example.cn"))
    return address


def email_cell(value: str) -> str:
    """One email address of an imported cell, as `Person.email` stores it.

    Takes a single value (the caller splits a cell that holds several). Raises InvalidContact
    with the message for the cell, quoting the value.
    """
    value = _plain(value).lower()
    address = _email(value)
    if address is None:
        if len(value) > MAX_EMAIL:
            raise InvalidContact(
                _(
                    "longer than %(limit)d characters (%(count)d).",
                    limit=MAX_EMAIL,
                    count=len(value),
                )
            )
        raise InvalidContact(_("“%(value)s” is not an email address.", value=value[:80]))
    return address


def email_key(text: str | None) -> str | None:
    """The form of an address that matches however it was typed; None for blank text.

    An address the rule refuses (older data) is compared lower case, as it always was.
    """
    if not text or not text.strip():
        return None
    return _email(_plain(text)) or text.strip().lower()


def wechat_key(text: str | None) -> str | None:
    """A WeChat ID as compared: lower case, without surrounding spaces; None for blank text.

    WeChat IDs are stored as typed; matching compares `lower(wechat_id)` with this key.
    """
    key = (text or "").strip().lower()
    return key or None


def key(kind: str, text: str | None) -> str | None:
    """The matching key of a contact detail of `kind` ("email", "phone" or "wechat")."""
    if kind == "email":
        return email_key(text)
    if kind == "phone":
        return phone_key(text)
    return wechat_key(text)
