"""Text search of the register: the syntax people type, answered by the database's own full-text index.

Syntax (one pure function, `parse_query`, reads it; the same parsed query is rendered for each engine):

    ransom budget      every word, each as a word prefix ("ransom" finds "Ransomware"), in any of the fields
    ransom*            the same, said explicitly
    "cash flow"        these words next to each other in this order, within one field ("cash flo*" lets
                       the last word be a prefix; punctuation between them does not matter: "cash-flow")
    -draft  NOT draft  leave out risks that match the word (or the "phrase")
    a b OR c d         either side (OR in capitals); AND in capitals is allowed and changes nothing
    50%  a_b  x        punctuation and one-letter words must appear as typed (a LIKE check, case ignored);
                       brackets around words and quotes that do not pair up are ignored

Nothing a user types is an error: a stray quote, a lone "-" or "*", "OR" with nothing on one side are read as
plain words, and a query that leaves no word at all ("*", '"') looks for its text as typed. Operators are never
passed to the engines: words are letters and digits only, quoted (FTS5) or bare lexemes (tsquery).

Engines: SQLite's FTS5 table `risks_fts` (external content over risks: ref, title, cause, event, consequence),
kept in step by triggers (migration 20261129_0002), ranked by bm25 with the reference and title weighted above
the text; PostgreSQL's generated tsvector column `risks.search_vector` (same words: the migration turns the
characters PostgreSQL's parser would glue words with into blanks) with a GIN index, ranked by ts_rank. The two
agree for the same query (tests/test_search_syntax.py checks a table of queries on both): on PostgreSQL a phrase
is also checked field by field (`PhraseInField`), because its one vector per risk would let a phrase run from
one field into the next, which FTS5's columns do not. One difference remains: FTS5 also ignores accents
("securite" finds "sécurité"), PostgreSQL's 'simple' configuration does not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    and_,
    bindparam,
    func,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal

from riskreg.models import Risk

MIN_TERM = 2  # a bare one-letter word would prefix-match most of the register: it is checked as typed instead
MAX_INDEX_WORDS = 16  # words sent to the index; further terms are checked with LIKE only
FTS_TABLE = "risks_fts"
PG_INDEX = "ix_risks_search"
# bm25 weights of ref, title, cause, event, consequence: a word in the title outranks the same word in the text.
SQLITE_WEIGHTS = (10.0, 10.0, 1.0, 1.0, 1.0)
# PostgreSQL keeps the document in a stored generated column (migration 20261129_0002), so that ranking reads a
# ready tsvector instead of parsing each matching row's text again.
PG_COLUMN = "search_vector"

_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'(-?)"([^"]*)"(\*?)|(\S+)')


@dataclass(frozen=True)
class Term:
    """One thing to look for: index words (all required, in order when `phrase`), and/or a literal text."""

    words: tuple[str, ...] = ()  # lower-cased letters and digits
    prefix: bool = True  # the last word (every word, when not a phrase) matches as a prefix
    phrase: bool = False
    literal: str = ""  # must also appear as typed in one field (LIKE, case ignored); "" when the words suffice

    def fts5(self) -> str:
        """FTS5 MATCH syntax: every word quoted, so no operator can come from the user."""
        if self.phrase:
            return '"' + " ".join(self.words) + '"' + ("*" if self.prefix else "")
        return " AND ".join(f'"{w}"' + ("*" if self.prefix else "") for w in self.words)

    def tsquery(self) -> str:
        """to_tsquery() syntax: bare lexemes (letters and digits only), <-> between the words of a phrase."""
        if self.phrase:
            last = len(self.words) - 1
            text = " <-> ".join(w + (":*" if self.prefix and i == last else "") for i, w in enumerate(self.words))
            return f"({text})"
        return " & ".join(w + (":*" if self.prefix else "") for w in self.words)


@dataclass(frozen=True)
class Group:
    """Risks matching every `include` term and no `exclude` term."""

    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()

    @property
    def indexed(self) -> tuple[Term, ...]:
        return tuple(t for t in self.include if t.words)

    def fts5(self) -> str:
        return " AND ".join(f"({t.fts5()})" for t in self.indexed)

    def tsquery(self) -> str:
        return " & ".join(f"({t.tsquery()})" for t in self.indexed)


@dataclass(frozen=True)
class Query:
    """A parsed search: risks matching any of the groups (OR)."""

    text: str
    groups: tuple[Group, ...]

    @property
    def ranked(self) -> bool:
        """True when every group has index words: then the index alone finds every row, and can rank them."""
        return bool(self.groups) and all(g.indexed for g in self.groups)

    def fts5(self) -> str:
        """One MATCH string for ranking: the included words of every group, OR-ed."""
        return " OR ".join(f"({g.fts5()})" for g in self.groups if g.indexed)

    def tsquery(self) -> str:
        return " | ".join(f"({g.tsquery()})" for g in self.groups if g.indexed)


def parse_query(text: str) -> Query:
    """Read the search syntax (module docstring) into groups of terms; total: any text gives a query."""
    groups: list[Group] = []
    include: list[Term] = []
    exclude: list[Term] = []
    negate_next = False
    budget = [MAX_INDEX_WORDS]
    for match in _TOKEN.finditer(text):
        minus, quoted, star, chunk = match.groups()
        if chunk is not None:
            if chunk == "OR":
                if include or exclude:
                    groups.append(Group(tuple(include), tuple(exclude)))
                include, exclude = [], []
                continue
            if chunk == "AND":
                continue
            if chunk == "NOT":
                negate_next = True
                continue
            negate = negate_next or (chunk.startswith("-") and len(chunk.strip('-*"')) > 0)
            term = _chunk_term(chunk.lstrip("-") if chunk.startswith("-") else chunk, budget)
        else:
            negate = negate_next or bool(minus)
            term = _phrase_term(quoted, bool(star), budget)
        negate_next = False
        if term is not None:
            (exclude if negate else include).append(term)
    if include or exclude:
        groups.append(Group(tuple(include), tuple(exclude)))
    if not groups and text.strip():
        # Nothing but syntax ("*", '"', "-", "OR"): look for the text itself, never for nothing.
        groups.append(Group((Term(literal=" ".join(text.split())),)))
    return Query(text, tuple(groups))


def _spend(words: list[str], budget: list[int]) -> tuple[str, ...] | None:
    """The words if the index budget allows them, else None (the term is then checked with LIKE only)."""
    if len(words) > budget[0]:
        budget[0] = 0
        return None
    budget[0] -= len(words)
    return tuple(words)


def _chunk_term(chunk: str, budget: list[int]) -> Term | None:
    # A quote at either end is a phrase that did not pair up, and brackets around words are grouping this
    # search does not have (every word is required anyway): neither is text to find. Inside a word they are.
    body = chunk.strip('"()').rstrip("*")
    if not body:
        return Term(literal=chunk) if chunk.strip('"') else None
    found = [w.lower() for w in _WORD.findall(body)]
    words = [w for w in found if len(w) >= MIN_TERM]
    exact = body.isalnum() and len(words) == len(found) == 1
    spent = _spend(words, budget)
    if spent is None:
        return Term(literal=body)
    return Term(words=spent, prefix=True, literal="" if exact else body)


def _phrase_term(quoted: str, star: bool, budget: list[int]) -> Term | None:
    content = " ".join(quoted.split())
    prefix = star or content.endswith("*")
    content = content.rstrip("*").rstrip()
    words = [w.lower() for w in _WORD.findall(content)]
    if not words:
        return Term(literal=content) if content else None
    spent = _spend(words, budget)
    if spent is None:
        return Term(literal=content)
    return Term(words=spent, prefix=prefix, phrase=True)


# --------------------------------------------------------------------------- SQL


def like_condition(text: str) -> ColumnElement[bool]:
    """The text as a literal substring (no wildcards) of any of the five fields, whatever the case."""
    columns = (Risk.ref, Risk.title, Risk.cause, Risk.event, Risk.consequence)
    return or_(*(c.icontains(text, autoescape=True) for c in columns))


class IndexMatch(ColumnElement[bool]):
    """`risks` rows whose text matches (or, with `negate`, does not match) terms in the full-text index;
    compiled per database.

    One construct for both databases keeps `register_conditions` free of any dialect; the query string is a
    bound parameter (user text never reaches the SQL), part of the statement's cache key.
    """

    __visit_name__ = "riskreg_index_match"
    inherit_cache = True
    type = Boolean()
    # A condition in its own right: without this SQLAlchemy writes "(…) = 1" on SQLite, which hides the IN from
    # the planner (it then scans the whole table instead of looking up the matching ids).
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("fts5", InternalTraversal.dp_clauseelement),
        ("tsquery", InternalTraversal.dp_clauseelement),
        ("fallback", InternalTraversal.dp_clauseelement),
        ("negate", InternalTraversal.dp_boolean),
    ]

    def __init__(self, fts5: str, tsquery: str, words: tuple[str, ...], *, negate: bool = False) -> None:
        self.fts5: BindParameter[str] = bindparam("fts5_query", fts5, unique=True)
        self.tsquery: BindParameter[str] = bindparam("ts_query", tsquery, unique=True)
        # Any other database: every word as a substring (slow but correct).
        self.fallback = and_(*(like_condition(w) for w in words))
        self.negate = negate


class PhraseInField(ColumnElement[bool]):
    """A phrase the index found is also within one field.

    FTS5 matches a phrase within one column, so on SQLite this is always true. PostgreSQL's one vector per
    risk runs the fields together (the last word of the title is next to the first of the cause), so the
    rows the index found are checked field by field, with the same words the index holds.
    """

    __visit_name__ = "riskreg_phrase_in_field"
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("tsquery", InternalTraversal.dp_clauseelement),
        ("fallback", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, term: Term) -> None:
        self.tsquery: BindParameter[str] = bindparam("phrase_query", term.tsquery(), unique=True)
        self.fallback = like_condition(" ".join(term.words))


# The characters migration 20261129_0002 turns into blanks before PostgreSQL parses the text.
_PG_GLUE = ("-./_@:+,&<>", " " * 11)


@compiles(PhraseInField, "sqlite")
def _phrase_sqlite(element: PhraseInField, compiler: Any, **kw: Any) -> str:
    return "1 = 1"


@compiles(PhraseInField, "postgresql")
def _phrase_postgresql(element: PhraseInField, compiler: Any, **kw: Any) -> str:
    query = f"to_tsquery('simple'::regconfig, {compiler.process(element.tsquery, **kw)})"
    fields = [
        f"to_tsvector('simple'::regconfig, translate(coalesce(risks.{column}, ''), '{_PG_GLUE[0]}', "
        f"'{_PG_GLUE[1]}')) @@ {query}"
        for column in ("ref", "title", "cause", "event", "consequence")
    ]
    return "(" + " OR ".join(fields) + ")"


@compiles(PhraseInField)
def _phrase_other(element: PhraseInField, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.fallback, **kw))


@compiles(IndexMatch, "sqlite")
def _match_sqlite(element: IndexMatch, compiler: Any, **kw: Any) -> str:
    query = compiler.process(element.fts5, **kw)
    risk_id = compiler.process(Risk.__table__.c.id, **kw)
    operator = "NOT IN" if element.negate else "IN"
    return f"{risk_id} {operator} (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {query})"


@compiles(IndexMatch, "postgresql")
def _match_postgresql(element: IndexMatch, compiler: Any, **kw: Any) -> str:
    match = f"risks.{PG_COLUMN} @@ to_tsquery('simple'::regconfig, {compiler.process(element.tsquery, **kw)})"
    return f"NOT ({match})" if element.negate else match


@compiles(IndexMatch)
def _match_other(element: IndexMatch, compiler: Any, **kw: Any) -> str:
    sql = str(compiler.process(element.fallback, **kw))
    return f"NOT ({sql})" if element.negate else sql


def _term_condition(term: Term, *, negate: bool = False) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if term.words:
        parts.append(IndexMatch(term.fts5(), term.tsquery(), term.words))
    if term.phrase:
        parts.append(PhraseInField(term))
    if term.literal:
        parts.append(like_condition(term.literal))
    if not negate:
        return and_(*parts)
    if len(parts) == 1 and term.words:
        return IndexMatch(term.fts5(), term.tsquery(), term.words, negate=True)
    return not_(and_(*parts))


def _group_condition(group: Group) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    indexed = group.indexed
    if indexed:
        # All the group's index words in one lookup; literals and exclusions filter what it found.
        words = tuple(w for t in indexed for w in t.words)
        parts.append(IndexMatch(group.fts5(), group.tsquery(), words))
    parts.extend(PhraseInField(t) for t in indexed if t.phrase)
    parts.extend(like_condition(t.literal) for t in group.include if t.literal)
    parts.extend(_term_condition(t, negate=True) for t in group.exclude)
    return and_(*parts) if parts else true()


def text_condition(text: str) -> ColumnElement[bool]:
    """The search filter for the register's WHERE clause."""
    query = parse_query(text)
    if not query.groups:
        return true()
    conditions = [_group_condition(g) for g in query.groups]
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def rank_source(dialect: str, text: str) -> tuple[Any | None, ColumnElement[Any] | None]:
    """(what to join, relevance expression, higher = better) for ordering a search by relevance.

    SQLite computes bm25 in a scan of the FTS table joined on rowid (one pass, not one index probe per row);
    PostgreSQL ranks the rows it found with ts_rank over the same expression. None when some of the query is
    not answered by the index (LIKE has no notion of relevance, and the join would drop those rows).
    """
    query = parse_query(text)
    if not query.ranked:
        return None, None
    if dialect == "sqlite":
        fts = table(FTS_TABLE)
        weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
        # bm25 is "lower is better"; negated so that both databases sort relevance descending.
        hits = (
            select(
                literal_column("rowid").label("risk_id"),
                (-literal_column(f"bm25({FTS_TABLE}, {weights})", Float)).label("relevance"),
            )
            .select_from(fts)
            .where(literal_column(FTS_TABLE).op("MATCH")(bindparam("fts5_rank_query", query.fts5())))
            .subquery("hits")
        )
        return hits, hits.c.relevance
    if dialect == "postgresql":
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("ts_rank_query", query.tsquery()))
        return None, func.ts_rank(literal_column(f"risks.{PG_COLUMN}"), tsquery, type_=Float)
    return None, None


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's `include_name` filter: the full-text objects come from the migration, not from the models, so
    autogenerate and the schema-matches-models test leave them alone (FTS5's table and shadow tables, the
    generated tsvector column and its index).
    """
    if name is None:
        return True
    if type_ == "table":
        return name != FTS_TABLE and not name.startswith(FTS_TABLE + "_")
    if type_ == "index":
        return name != PG_INDEX
    if type_ == "column":
        return name != PG_COLUMN or parent_names.get("table_name") != "risks"
    return True
