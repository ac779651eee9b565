"""The reader's translations, found once per language and request instead of once per string.

Flask-Babel looks the translations up for every string it translates: nine reads of `g`
through its proxy and a formatting of the locale, about 15 µs on the benchmark machine. A page
translates 200 to 400 strings (headings, enum labels, form labels), 3 to 6 ms of a 30 ms page.
Here the translations are kept beside Flask-Babel's own state for the application context,
with the locale object Flask-Babel holds there: `force_locale` (digests, jobs) and `refresh`
(the API's token user) replace that object, so a change of language is followed exactly as
Flask-Babel follows it. Where that state is missing (no application context, or a Flask-Babel
that keeps it elsewhere) every call asks Flask-Babel, which is slower but never wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask_babel
from babel.support import NullTranslations
from flask import Flask, g
from flask_babel.speaklater import LazyString

# Flask-Babel's namespace in `g` and the locale it selected (flask_babel.get_locale).
_STATE = "_flask_babel"
_LOCALE = "babel_locale"


class _Memo:
    __slots__ = ("locale", "translations", "values")

    def __init__(self, locale: Any, translations: NullTranslations) -> None:
        self.locale = locale
        self.translations = translations
        self.values: dict[Any, str] = {}


def _memo() -> _Memo | None:
    state = g.get(_STATE) if g else None
    memo: _Memo | None = getattr(state, "crm_memo", None)
    if memo is not None and memo.locale is getattr(state, _LOCALE, None):
        return memo
    found = flask_babel.get_translations()  # selects the locale if nothing has yet
    state = g.get(_STATE) if g else None
    locale = getattr(state, _LOCALE, None)
    if locale is None:
        return None
    memo = _Memo(locale, found)
    state.crm_memo = memo  # type: ignore[union-attr]
    return memo


def translations() -> NullTranslations:
    """The translations of the current language (as flask_babel.get_translations)."""
    memo = _memo()
    return memo.translations if memo is not None else flask_babel.get_translations()


def gettext(string: str, **variables: Any) -> str:
    """flask_babel.gettext through `translations()`."""
    text = translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """flask_babel.lazy_gettext, translated through `translations()` when read: form labels
    and choices, written once at import and read on every page."""
    return LazyString(gettext, string, **variables)


def remembered(key: Any, make: Callable[[], str]) -> str:
    """`make()` once per language and request: for text built from translations alone (an
    enum's label), which every row of a list would otherwise translate again."""
    memo = _memo()
    if memo is None:
        return make()
    try:
        return memo.values[key]
    except KeyError:
        text = memo.values[key] = make()
        return text


def init_app(app: Flask) -> None:
    """The templates' `_`, `gettext` and `ngettext` (Jinja's i18n extension, which Flask-Babel
    installed with its own lookups) through `translations()`."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
