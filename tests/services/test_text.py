"""Pinyin derived from Chinese names, for search and sorting."""

import pytest

from crm.services.text import has_han, pinyin, sort_key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("王芳", ("wang fang", "wf")),
        ("华为技术", ("hua wei ji shu", "hwjs")),
        # Polyphonic characters take their reading in context (重庆 is chong qing, not zhong).
        ("重庆", ("chong qing", "cq")),
        ("欧阳·娜娜", ("ou yang na na", "oynn")),
    ],
)
def test_chinese_names_become_toneless_pinyin_and_initials(text, expected):
    assert pinyin(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TCL 科技", ("tcl ke ji", "tclkj")),
        ("3M中国", ("3m zhong guo", "3mzg")),
        # Full-width Latin letters are normalised before they are kept as a word.
        ("Ｗ王", ("w wang", "ww")),
    ],
)
def test_latin_letters_and_digits_are_kept_as_lower_case_words(text, expected):
    assert pinyin(text) == expected


@pytest.mark.parametrize(
    "text",
    ["华为技术（深圳）有限公司", "华为技术(深圳)有限公司", "华为技术 【深圳】 有限公司"],
)
def test_punctuation_and_spaces_leave_no_trace(text):
    assert pinyin(text) == ("hua wei ji shu shen zhen you xian gong si", "hwjsszyxgs")


@pytest.mark.parametrize("text", [None, "", "   ", "Acme Ltd.", "（）", "123"])
def test_text_without_han_characters_has_no_pinyin(text):
    assert pinyin(text) == (None, None)
    assert not has_han(text)


def test_sort_key_takes_the_first_non_empty_candidate_lower_cased():
    assert sort_key("", "  ", "Wang   Fang ") == "wang fang"
    assert sort_key(None, "hua wei") == "hua wei"
    assert sort_key(None, "") == ""
    assert len(sort_key("x" * 500)) == 200
