"""Text search of the register through the database's own full-text index, ranked, with LIKE only as a fallback.

SQLite: the FTS5 table `risks_fts` (external content over risks: ref, title, cause, event, consequence), kept
in step by triggers (migration 20261129_0002), ranked by bm25 with the reference and title weighted above the
text. PostgreSQL: the generated tsvector column `risks.search_vector` (reference and title weight A, the text
weight C; the same words as FTS5: the migration turns the characters PostgreSQL's parser would glue words with
into blanks) with a GIN index, ranked by ts_rank. Both match every word of the query as a word *prefix* ("ransom" finds
"Ransomware"), in any of the five fields, all words required.

A query becomes a `SearchPlan`: its words (letters and digits; what both tokenisers index) go to the index.
When the words do not say everything the user typed (punctuation such as "100%" or "a_b", or one-letter
words), the exact text must also appear in one field, checked with LIKE on the rows the index found; and a
query with no indexable word at all ("%", "_", "x") is a plain LIKE scan, the only path that reads every row.
Words go to the index quoted (FTS5) or as bare lexemes (tsquery), so FTS syntax typed by users (", *, NEAR,
-, :, AND/OR/NOT) is never interpreted: it is text, or ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Float, and_, bindparam, func, literal_column, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import BindParameter
from sqlalchemy.sql.visitors import InternalTraversal

from riskreg.models import Risk

MIN_TERM = 2  # one-letter prefixes match most of the register: not worth the index
MAX_TERMS = 8
FTS_TABLE = "risks_fts"
PG_INDEX = "ix_risks_search"
# bm25 weights of ref, title, cause, event, consequence: a word in the title outranks the same word in the text.
SQLITE_WEIGHTS = (10.0, 10.0, 1.0, 1.0, 1.0)
# PostgreSQL keeps the document in a stored generated column (migration 20261129_0002), so that ranking reads a
# ready tsvector instead of parsing each matching row's text again.
PG_COLUMN = "search_vector"

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchPlan:
    """How one query is answered: `terms` through the index, `literal` (the whole text) with LIKE."""

    text: str
    terms: tuple[str, ...]
    literal: bool  # the exact text must also appear in a field (LIKE), on top of the index

    @property
    def indexed(self) -> bool:
        return bool(self.terms)

    def fts5_query(self) -> str:
        """The FTS5 MATCH string: every term quoted (no operator survives) and prefix-matched, all required."""
        return " ".join(f'"{t}"*' for t in self.terms)

    def tsquery(self) -> str:
        """The to_tsquery() string: every term prefix-matched, all required; terms are letters and digits only."""
        return " & ".join(f"{t}:*" for t in self.terms)


def plan_search(text: str) -> SearchPlan:
    """Split a (cleaned) query into index terms, and decide whether the literal text must be checked too."""
    words = [w.lower() for w in _WORD.findall(text)]
    terms = tuple(dict.fromkeys(w for w in words if len(w) >= MIN_TERM))[:MAX_TERMS]
    plain = all(ch.isalnum() or ch.isspace() for ch in text) and all(len(w) >= MIN_TERM for w in words)
    literal = not terms or not plain or len(set(words)) > MAX_TERMS
    return SearchPlan(text, terms, literal)


def like_condition(text: str) -> ColumnElement[bool]:
    """The text as a literal substring (no wildcards) of any of the five fields, whatever the case."""
    columns = (Risk.ref, Risk.title, Risk.cause, Risk.event, Risk.consequence)
    return or_(*(c.icontains(text, autoescape=True) for c in columns))


class IndexMatch(ColumnElement[bool]):
    """`risks` rows whose text matches the plan's terms in the full-text index; compiled per database.

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
    ]

    def __init__(self, plan: SearchPlan) -> None:
        self.fts5: BindParameter[str] = bindparam("fts5_query", plan.fts5_query(), unique=True)
        self.tsquery: BindParameter[str] = bindparam("ts_query", plan.tsquery(), unique=True)
        # Any other database: every word as a substring (slow but correct).
        self.fallback = and_(*(like_condition(t) for t in plan.terms))


@compiles(IndexMatch, "sqlite")
def _match_sqlite(element: IndexMatch, compiler: Any, **kw: Any) -> str:
    query = compiler.process(element.fts5, **kw)
    risk_id = compiler.process(Risk.__table__.c.id, **kw)
    return f"{risk_id} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {query})"


@compiles(IndexMatch, "postgresql")
def _match_postgresql(element: IndexMatch, compiler: Any, **kw: Any) -> str:
    return f"risks.{PG_COLUMN} @@ to_tsquery('simple'::regconfig, {compiler.process(element.tsquery, **kw)})"


@compiles(IndexMatch)
def _match_other(element: IndexMatch, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.fallback, **kw))


def text_condition(text: str) -> ColumnElement[bool]:
    """The search filter for the register's WHERE clause."""
    plan = plan_search(text)
    if not plan.indexed:
        return like_condition(text)
    match = IndexMatch(plan)
    return match & like_condition(text) if plan.literal else match


def rank_source(dialect: str, text: str) -> tuple[Any | None, ColumnElement[Any] | None]:
    """(what to join, relevance expression, higher = better) for ordering a search by relevance.

    SQLite computes bm25 in a scan of the FTS table joined on rowid (one pass, not one index probe per row);
    PostgreSQL ranks the rows it found with ts_rank over the same expression. None when the query is not
    answered by an index (no ranking: LIKE has no notion of relevance).
    """
    plan = plan_search(text)
    if not plan.indexed:
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
            .where(literal_column(FTS_TABLE).op("MATCH")(bindparam("fts5_rank_query", plan.fts5_query())))
            .subquery("hits")
        )
        return hits, hits.c.relevance
    if dialect == "postgresql":
        query = func.to_tsquery(literal_column("'simple'::regconfig"), bindparam("ts_rank_query", plan.tsquery()))
        return None, func.ts_rank(literal_column(f"risks.{PG_COLUMN}"), query, type_=Float)
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
