"""Global search across organisations, people, activities and interactions.

Names arrive in characters, pinyin and English, typed by different people, so every record
is indexed as one `SearchDocument` whose `terms` the two databases index with their own
full-text engine (SQLite FTS5, PostgreSQL GIN over `to_tsvector('simple', terms)`):

* every Chinese character is a word of its own, so "华为" is the phrase 华 为;
* pinyin comes as syllables ("hua wei"), joined ("huawei...") and as initials ("hw...");
* Latin words, email parts and phone digits are lower-case words.

A query is split the same way. Each word must match (AND): a run of characters as a
phrase, a Latin word as a prefix, or, when it reads as pinyin run together ("weiji"), as
the phrase of its syllables. Candidates are then ranked in Python: exact names first, then
names starting with the query, then the engine's order.

`index()` and `unindex()` only flush: the service that changes the record commits.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from crm import provinces
from crm.extensions import db
from crm.models import Organisation, Person, SearchDocument, Stakeholder, utcnow
from crm.services import contact_details
from crm.services.text import pinyin

log = logging.getLogger(__name__)

MAX_QUERY = 200
MAX_WORDS = 8
_HAN_CHAR = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN_CHAR}]+|[a-z0-9]+")
_HAN_RUN = re.compile(rf"^[{_HAN_CHAR}]+$")

ENTITY_TYPES = ("organisation", "person", "activity", "interaction")

# ---------------------------------------------------------------------------------------------
# Database objects outside the ORM (created with the table, and by the migration)
# ---------------------------------------------------------------------------------------------

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "terms, content='search_documents', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS search_documents_au",
    "DROP TRIGGER IF EXISTS search_documents_ad",
    "DROP TRIGGER IF EXISTS search_documents_ai",
    "DROP TABLE IF EXISTS search_fts",
)
# A stored vector, so that matching compares stored values whatever index the planner picks
# (to_tsvector on every candidate row cost 140 ms for a common English word).
POSTGRES_DDL = (
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS terms_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_terms_tsv ON search_documents "
    "USING gin (terms_tsv)",
)


@event.listens_for(SearchDocument.__table__, "after_create")
def _create_engine_index(target: sa.Table, connection: sa.Connection, **kw: Any) -> None:
    statements = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)


@event.listens_for(SearchDocument.__table__, "before_drop")
def _drop_engine_index(target: sa.Table, connection: sa.Connection, **kw: Any) -> None:
    if connection.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            connection.exec_driver_sql(statement)


# ---------------------------------------------------------------------------------------------
# Text → words
# ---------------------------------------------------------------------------------------------


def normalise(text: str | None) -> str:
    """Lower case without accents or tone marks; full-width letters and digits become plain.

    "Huá Wéi" → "hua wei", "Müller" → "muller", "ＡＢＣ１" → "abc1".
    """
    if not text:
        return ""
    if text.isascii():  # nothing to decompose or strip: the common case, kept cheap
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = decomposed.translate(_combining_marks())
    return unicodedata.normalize("NFKC", stripped).lower()


@functools.cache
def _combining_marks() -> dict[int, None]:
    """str.translate table deleting every combining mark (built once, about 0.1 s)."""
    return {cp: None for cp in range(0x110000) if unicodedata.combining(chr(cp))}


_TONE_NUMBERS = re.compile(r"(?<=[a-z])[1-5](?=[a-z]|$)")


def words(text: str | None) -> list[str]:
    """Index words of a text: Latin/digit runs, and each Chinese character on its own."""
    if text and len(text) <= _REMEMBERED_LENGTH:
        return list(_remembered_words(text))
    return _words(text)


# Names and subjects come back again and again (a stakeholder's name in each of their
# interactions, "Follow-up call" in thousands): the words of short texts are remembered.
_REMEMBERED_LENGTH = 200


@functools.lru_cache(maxsize=8192)
def _remembered_words(text: str) -> tuple[str, ...]:
    return tuple(_words(text))


def _words(text: str | None) -> list[str]:
    out: list[str] = []
    for token in _TOKEN.findall(normalise(text)):
        if _HAN_RUN.match(token):
            out.extend(token)
        else:
            out.append(token)
    return out


def pinyin_words(chinese: str | None) -> list[str]:
    """Index words for the pinyin of a Chinese name: each syllable, the ü spelled u too, the
    syllables joined, and the initials ("王芳" → wang, fang, wangfang, wf). Every kind of
    document that has a Chinese name indexes it this way."""
    full, initials = pinyin(chinese)
    if not full:
        return []
    syllables = full.split()
    # pypinyin writes ü as v (lv); people also type lu or lü (which normalises to lu).
    variants = [s.replace("v", "u") for s in syllables if "v" in s]
    joined = "".join(syllables)
    return [*syllables, *variants, joined, joined.replace("v", "u"), initials or ""]


def _phone_words(phone: str | None) -> list[str]:
    # The groups as written ("138 0013 8000"), then all digits, without and with the country
    # code, as crm.services.contact_details reads the number.
    extra = contact_details.phone_words(phone)
    return [*words(phone), *extra] if extra else []


def name_keys(*names: str | None) -> str:
    """A document's `keys`: each name lower case without spaces or punctuation, once each,
    joined by "|" (what an exact or prefix match of a whole name is scored against)."""
    keys = []
    for name in names:
        key = "".join(_TOKEN.findall(normalise(name)))
        if key and key not in keys:
            keys.append(key)
    return "|".join(keys)[:1000]


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    entity_type: str
    entity_id: int
    title: str
    subtitle: str
    keys: str
    terms: str


def _join(parts: Iterable[str | None]) -> str:
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return " ".join(seen)


def document_for(stakeholder: Stakeholder) -> Document:
    """What the index holds for an organisation or a person."""
    full, initials = pinyin(stakeholder.chinese_name)
    joined = full.replace(" ", "") if full else None
    names = [stakeholder.display_name, stakeholder.chinese_name, joined, initials]
    parts: list[str] = [
        *words(stakeholder.display_name),
        *words(stakeholder.chinese_name),
        *pinyin_words(stakeholder.chinese_name),
    ]
    subtitle: list[str | None] = [stakeholder.chinese_name]
    if isinstance(stakeholder, Person):
        entity_type = "person"
        names += [
            f"{stakeholder.given_name or ''} {stakeholder.family_name or ''}",
            f"{stakeholder.family_name or ''} {stakeholder.given_name or ''}",
            stakeholder.email,
            stakeholder.wechat_id,
        ]
        parts += [
            *words(stakeholder.family_name),
            *words(stakeholder.given_name),
            *words(stakeholder.email),
            *words(stakeholder.wechat_id),
            *_phone_words(stakeholder.phone),
            *words(stakeholder.job_title),
        ]
        subtitle += [stakeholder.job_title, stakeholder.email]
    else:
        assert isinstance(stakeholder, Organisation)
        entity_type = "organisation"
        # A province is found by its name in either language, not by its stored code.
        province = stakeholder.province
        parts += [
            *words(stakeholder.city),
            *words(provinces.name_of(province, "en")),
            *words(provinces.name_of(province, "zh")),
        ]
        subtitle += [stakeholder.city]
    return Document(
        entity_type=entity_type,
        entity_id=stakeholder.id,
        title=stakeholder.display_name[:300],
        subtitle=" · ".join(s for s in subtitle if s)[:300],
        keys=name_keys(*names),
        terms=_join(parts),
    )


def store(document: Document) -> None:
    """Insert or replace the index entry of one record (flushes; the caller commits)."""
    row = db.session.scalar(
        sa.select(SearchDocument).where(
            SearchDocument.entity_type == document.entity_type,
            SearchDocument.entity_id == document.entity_id,
        )
    )
    if row is None:
        row = SearchDocument(entity_type=document.entity_type, entity_id=document.entity_id)
        db.session.add(row)
    row.title = document.title
    row.subtitle = document.subtitle
    row.keys = document.keys
    row.terms = document.terms
    db.session.flush()


def insert(document: Document) -> None:
    """Add an entry known not to exist yet (rebuilds); no lookup first."""
    db.session.add(SearchDocument(**dataclasses.asdict(document)))


def index(stakeholder: Stakeholder) -> None:
    """Bring a stakeholder's index entry up to date; records in the trash have none."""
    if stakeholder.id is None:
        db.session.flush()
    if stakeholder.deleted_at is not None or getattr(stakeholder, "erased_at", None) is not None:
        # Erased people (crm.services.personal_data) are not found either.
        remove(_entity_type(stakeholder), stakeholder.id)
        return
    store(document_for(stakeholder))


def remove(entity_type: str, entity_id: int) -> None:
    db.session.execute(
        sa.delete(SearchDocument).where(
            SearchDocument.entity_type == entity_type, SearchDocument.entity_id == entity_id
        )
    )


def _entity_type(stakeholder: Stakeholder) -> str:
    return "person" if isinstance(stakeholder, Person) else "organisation"


class BulkWriter:
    """Index entries written by the thousand with one executemany each, for rebuilds: ORM
    objects for 380,000 entries held the whole index in memory until the commit."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self.rows: list[dict[str, Any]] = []
        self.count = 0
        self.now = utcnow()

    def add(self, document: Document) -> None:
        self.rows.append(
            {
                "entity_type": document.entity_type,
                "entity_id": document.entity_id,
                "title": document.title,
                "subtitle": document.subtitle,
                "keys": document.keys,
                "terms": document.terms,
                "updated_at": self.now,
            }
        )
        self.count += 1
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            db.session.execute(sa.insert(SearchDocument), self.rows)
            self.rows = []


def rebuild(*, batch: int = 500) -> int:
    """Rebuild the whole index from the records (`flask crm reindex`); commits. Returns count.

    On SQLite the full-text index is built once at the end ('rebuild') instead of row by row
    through the triggers, which are dropped and created again in the same transaction.
    """
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in ("search_documents_ai", "search_documents_ad"):
            db.session.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    db.session.execute(sa.delete(SearchDocument))
    writer = BulkWriter()
    for model in (Organisation, Person):
        stmt = sa.select(model).where(model.deleted_at.is_(None)).execution_options(yield_per=batch)
        if model is Person:
            stmt = stmt.where(Person.erased_at.is_(None))
        for stakeholder in db.session.scalars(stmt):
            writer.add(document_for(stakeholder))
    for indexer in _INDEXERS:
        indexer(writer.add)
    writer.flush()
    if sqlite:
        db.session.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
        for statement in SQLITE_DDL:
            db.session.execute(sa.text(statement))
    db.session.commit()
    return writer.count


# Other record types (activities, interactions) add a function that hands each of their
# documents to the writer it is given; rebuild() calls each after the stakeholders.
_INDEXERS: list[Callable[[Callable[[Document], None]], None]] = []


def register_indexer(indexer: Callable[[Callable[[Document], None]], None]) -> None:
    if indexer not in _INDEXERS:
        _INDEXERS.append(indexer)


# ---------------------------------------------------------------------------------------------
# Querying
# ---------------------------------------------------------------------------------------------


@cache
def _syllables() -> frozenset[str]:
    from pypinyin import Style
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style import convert

    found = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            found.add(convert(reading, Style.NORMAL, strict=False))
    return frozenset(s for s in found if s.isalpha())


@cache
def _syllable_prefixes() -> frozenset[str]:
    return frozenset(s[:i] for s in _syllables() for i in range(1, len(s) + 1))


def segment_pinyin(word: str) -> list[str] | None:
    """Split pinyin typed without spaces into syllables ("weiji" → wei, ji), or None.

    The last piece may be an unfinished syllable (a prefix of one), as when typing. Longer
    syllables are preferred ("xian" rather than "xi an"), as people usually mean them.
    """
    if not word.isalpha() or not 2 <= len(word) <= 40:
        return None
    syllables, prefixes = _syllables(), _syllable_prefixes()

    @cache
    def split(start: int) -> tuple[str, ...] | None:
        rest = word[start:]
        for size in range(min(6, len(rest)), 0, -1):
            head = rest[:size]
            if head in syllables:
                if size == len(rest):
                    return (head,)
                tail = split(start + size)
                if tail is not None:
                    return (head, *tail)
        return (rest,) if rest in prefixes else None

    pieces = split(0)
    return list(pieces) if pieces and len(pieces) > 1 else None


@dataclass(frozen=True)
class Query:
    """A parsed query: Han phrases and Latin words, each to be matched."""

    text: str
    han: tuple[str, ...]
    latin: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.han or self.latin)


def parse(text: str | None) -> Query:
    cleaned = normalise(text)[:MAX_QUERY]
    han: list[str] = []
    latin: list[str] = []
    for token in _TOKEN.findall(cleaned):
        if _HAN_RUN.match(token):
            han.append(token)
        else:
            latin.append(token)
    return Query(cleaned.strip(), tuple(han[:MAX_WORDS]), tuple(latin[:MAX_WORDS]))


def _alternatives(word: str) -> list[list[str]]:
    """Ways a typed Latin word may match: itself as a prefix, or as pinyin syllables
    (with tone numbers dropped: "hua2wei2" → hua wei); the last piece is a prefix."""
    options = [[word]]
    toneless = _TONE_NUMBERS.sub("", word)
    for candidate in dict.fromkeys([word, toneless]):
        if candidate != word:
            options.append([candidate])
        pieces = segment_pinyin(candidate)
        if pieces:
            options.append(pieces)
    return options


def _fts5(query: Query) -> str:
    clauses = [f'"{" ".join(run)}"' for run in query.han]
    for word in query.latin:
        options = [f'"{" ".join(pieces)}"*' for pieces in _alternatives(word)]
        clauses.append("(" + " OR ".join(options) + ")")
    return " AND ".join(clauses)


def _tsquery(query: Query) -> str:
    clauses = [" <-> ".join(run) for run in query.han]
    for word in query.latin:
        options = [
            " <-> ".join([*pieces[:-1], f"{pieces[-1]}:*"]) for pieces in _alternatives(word)
        ]
        clauses.append(" | ".join(f"({o})" for o in options))
    return " & ".join(f"({c})" for c in clauses)


def _candidates(query: Query, types: Sequence[str], limit: int) -> list[SearchDocument]:
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        matched = sa.text("SELECT rowid FROM search_fts WHERE search_fts MATCH :q").bindparams(
            q=_fts5(query)
        )
        stmt = sa.select(SearchDocument).where(
            SearchDocument.id.in_(matched.columns(sa.column("rowid", sa.Integer)))
        )
    else:
        tsquery = sa.func.to_tsquery("simple", _tsquery(query))
        stmt = sa.select(SearchDocument).where(
            sa.literal_column("search_documents.terms_tsv").op("@@")(tsquery)
        )
    stmt = stmt.where(SearchDocument.entity_type.in_(types)).order_by(SearchDocument.id)
    return list(db.session.scalars(stmt.limit(limit)))


def _score(document: SearchDocument, query: Query) -> int:
    key = "".join(_TOKEN.findall(query.text))
    keys = document.keys.split("|") if document.keys else []
    if key in keys:
        return 3
    if any(k.startswith(key) for k in keys):
        return 2
    if any(w.startswith(key) for k in keys for w in k.split()):
        return 1
    return 0


@dataclass(frozen=True)
class Hit:
    entity_type: str
    entity_id: int
    title: str
    subtitle: str
    score: int


@dataclass(frozen=True)
class Results:
    query: str
    groups: dict[str, list[Hit]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(hits) for hits in self.groups.values())


def search(text: str | None, *, types: Sequence[str] = ENTITY_TYPES, limit: int = 20) -> Results:
    """Live records matching `text`, grouped by type, best first; never raises on odd input.

    A query of only punctuation or spaces finds nothing. At most `limit` hits per type.
    """
    query = parse(text)
    wanted = [t for t in types if t in ENTITY_TYPES]
    if query.is_empty or not wanted:
        return Results(query.text)
    candidates = _candidates(query, wanted, limit=max(200, limit * 10))
    ranked = sorted(candidates, key=lambda d: (-_score(d, query), d.title.lower(), d.id))
    groups: dict[str, list[Hit]] = {}
    for doc in ranked:
        hits = groups.setdefault(doc.entity_type, [])
        if len(hits) < limit:
            hits.append(
                Hit(doc.entity_type, doc.entity_id, doc.title, doc.subtitle, _score(doc, query))
            )
    ordered = {t: groups[t] for t in wanted if t in groups}
    return Results(query.text, ordered)


def matching_ids(text: str | None, entity_type: str, *, limit: int = 5000) -> list[int] | None:
    """Ids of live records of one type matching `text` (for list filters); None = no filter."""
    query = parse(text)
    if query.is_empty:
        return None
    return [d.entity_id for d in _candidates(query, [entity_type], limit=limit)]
