"""Text helpers for Chinese names: pinyin for search and sorting."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")


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
