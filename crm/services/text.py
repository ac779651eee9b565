"""Text helpers: the one rule for characters stored text may hold; pinyin for Chinese names.

`clean_text` is applied where text enters (every form field, through crm.forms.BaseForm, and
every imported cell, in crm.services.imports.reading) and again where it leaves (CSV, XLSX,
vCard and iCalendar exports), so text stored before the rule existed still exports.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")

# Characters no stored text may hold. Control characters (C0, DEL, C1) are invisible, break
# XML (XLSX), vCard and iCalendar lines and terminals; U+FFFE and U+FFFF are not characters;
# a lone surrogate cannot be encoded as UTF-8 at all. Tab, newline and carriage return are
# controls too, allowed only in multi-line text. U+2028 and U+2029 (line and paragraph
# separators) end lines in some programs and not in others: a newline in multi-line text,
# else a space.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff"
_SURROGATES = "\ud800-\udfff"
_UNSAFE_MULTILINE = re.compile(f"[{_CONTROLS}{_SURROGATES}\u2028\u2029]")
_UNSAFE_LINE = re.compile(f"[{_CONTROLS}{_SURROGATES}\t\n\r\u2028\u2029]")
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_SEPARATOR = re.compile("[\u2028\u2029]")
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """`value` with the characters no stored text may hold replaced: the one rule for forms,
    imports and exports.

    Control characters become spaces, except tab, newline and carriage return in multi-line
    text, where U+2028 and U+2029 become a newline; in a single line a line break (CR LF
    too) is one space. A lone surrogate becomes U+FFFD. Nothing else changes (no trimming,
    no normalisation), and text that holds none of them is returned as it is, at the cost
    of one regular-expression search.
    """
    unsafe = _UNSAFE_MULTILINE if multiline else _UNSAFE_LINE
    if unsafe.search(value) is None:
        return value
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    breaks = _SEPARATOR if multiline else _LINE_BREAK
    value = breaks.sub("\n" if multiline else " ", value)
    return unsafe.sub(" ", value)


def has_han(text: str | None) -> bool:
    return bool(text and _HAN.search(text))


@lru_cache(maxsize=65536)  # pure; imports and reindexing see the same names again and again
def pinyin(text: str | None) -> tuple[str | None, str | None]:
    """Toneless pinyin syllables and their initials: "华为技术" → ("hua wei ji shu", "hwjs").

    Latin letters and digits in the name are kept as they are, lower-cased, so a name such as
    "TCL 科技" yields ("tcl ke ji", "tclkj"). Returns (None, None) when there is no Han text.
    """
    if not has_han(text):
        return None, None
    assert text is not None
    normalised = unicodedata.normalize("NFKC", text)
    # Runs without pinyin (Latin letters, digits, punctuation) come back marked, kept as words.
    pieces = lazy_pinyin(normalised, style=Style.NORMAL, errors=lambda chars: "\x00" + chars)
    words: list[str] = []
    initials: list[str] = []
    for piece in pieces:
        if piece.startswith("\x00"):
            for word in _WORD.findall(piece[1:].lower()):
                words.append(word)
                initials.append(word)
        elif piece.strip():
            syllable = piece.strip().lower()
            words.append(syllable)
            initials.append(syllable[0])
    if not words:
        return None, None
    return " ".join(words), "".join(initials)


def sort_key(*candidates: str | None) -> str:
    """A lower-cased sort key from the first non-empty candidate."""
    for value in candidates:
        if value and value.strip():
            return _SPACES.sub(" ", value.strip().lower())[:200]
    return ""
