"""Policy in the database: loading the data folders, and reading back the scales and the statement in force.

The TOML files in `appetite/` are the source; the database keeps each loaded version so that history
(assessments, snapshots, exports) can always name the version it used.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import date
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from riskreg import appetite, audit, paths
from riskreg.models import (
    AppetiteStatement,
    CategoryAppetite,
    Methodology,
    RatingBand,
    RiskCategory,
    StatementStatus,
)
from riskreg.scoring import Scales, load_scales, parse_scales

_scales_cache: dict[str, Scales] = {}
_cache_lock = threading.Lock()


def load_categories(session: Session, actor: audit.Actor, path: Path = paths.CATEGORIES_FILE) -> int:
    """Add the taxonomy's categories that are not in the database yet; returns how many were added."""
    existing = {c.code: c for c in session.scalars(select(RiskCategory))}
    added = 0
    for definition in appetite.load_categories(path):
        category = existing.get(definition.code)
        if category is None:
            session.add(
                RiskCategory(
                    code=definition.code,
                    name=definition.name,
                    definition=definition.definition,
                    sort_order=definition.sort_order,
                )
            )
            added += 1
    if added:
        audit.record(session, actor, "load", "risk_category", "", f"loaded {added} categories from {path.name}")
    session.flush()
    return added


def load_methodology(session: Session, actor: audit.Actor, path: Path = paths.SCALES_FILE) -> Methodology:
    """Store the scales file as a methodology version (once per version)."""
    text = path.read_text(encoding="utf-8")
    scales = load_scales(path)
    found = session.scalars(select(Methodology).where(Methodology.version == scales.version)).first()
    if found is not None:
        return found
    methodology = Methodology(
        version=scales.version,
        title=scales.title,
        source_toml=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        bands=[
            RatingBand(
                name=b.name,
                min_score=b.min_score,
                max_score=b.max_score,
                fill_hex=b.fill,
                font_hex=b.font,
                review_days=b.review_days,
                critical=b.critical,
            )
            for b in scales.bands
        ],
    )
    session.add(methodology)
    session.flush()
    audit.record(session, actor, "load", "methodology", methodology.id, f"loaded scales version {scales.version}")
    return methodology


def current_scales(session: Session) -> Scales:
    """The newest methodology in the database, parsed (cached by content hash, safe across processes)."""
    row = session.execute(
        select(Methodology.sha256, Methodology.source_toml).order_by(Methodology.id.desc()).limit(1)
    ).first()
    if row is None:
        raise LookupError("no methodology loaded: run `riskreg db upgrade` then `riskreg setup`")
    sha, text = row
    with _cache_lock:
        cached = _scales_cache.get(sha)
        if cached is None:
            import tomllib

            cached = parse_scales(tomllib.loads(text), source="methodology in database")
            _scales_cache[sha] = cached
    return cached


def category_codes(session: Session) -> list[str]:
    return list(session.scalars(select(RiskCategory.code).order_by(RiskCategory.sort_order)))


def statement_in_force(session: Session, on: date) -> AppetiteStatement | None:
    """The endorsed (or since superseded) statement whose effective range holds `on`."""
    return session.scalars(
        select(AppetiteStatement)
        .where(
            AppetiteStatement.status.in_([StatementStatus.ENDORSED, StatementStatus.SUPERSEDED]),
            AppetiteStatement.effective_from <= on,
            or_(AppetiteStatement.effective_to.is_(None), AppetiteStatement.effective_to > on),
        )
        .options(selectinload(AppetiteStatement.categories).selectinload(CategoryAppetite.category))
        .order_by(AppetiteStatement.effective_from.desc())
        .limit(1)
    ).first()


def to_pure(statement: AppetiteStatement) -> appetite.Statement:
    """The database row as the pure `appetite.Statement` the core functions take."""
    supersedes = statement.supersedes.version if statement.supersedes else ""
    return appetite.Statement(
        version=statement.version,
        title=statement.title,
        organisation=statement.organisation,
        status=statement.status.value,
        endorsing_body=statement.endorsing_body,
        session=statement.session,
        document_symbol=statement.document_symbol,
        endorsed_on=statement.endorsed_on,
        effective_from=statement.effective_from,
        effective_to=statement.effective_to,
        supersedes=supersedes,
        review_due_on=statement.review_due_on,
        preamble=statement.preamble,
        overall=statement.overall_statement,
        categories={
            ca.category.code: appetite.CategoryAppetite(
                category=ca.category.code,
                level=ca.level,
                appetite_max=ca.appetite_max,
                tolerance_max=ca.tolerance_max,
                zero_tolerance=ca.zero_tolerance,
                max_impact=ca.max_impact,
                narrative=ca.narrative,
            )
            for ca in statement.categories
        },
    )


def add_statement(session: Session, actor: audit.Actor, statement: appetite.Statement) -> AppetiteStatement:
    """Store a parsed statement as a new version (statuses and dates as the file says)."""
    if session.scalars(select(AppetiteStatement.id).where(AppetiteStatement.version == statement.version)).first():
        raise appetite.AppetiteError(f"version {statement.version} is already in the database")
    categories = {c.code: c for c in session.scalars(select(RiskCategory))}
    missing = sorted(set(statement.categories) - set(categories))
    if missing:
        raise appetite.AppetiteError(f"unknown risk categories: {', '.join(missing)}")
    supersedes = None
    if statement.supersedes:
        supersedes = session.scalars(
            select(AppetiteStatement).where(AppetiteStatement.version == statement.supersedes)
        ).first()
    row = AppetiteStatement(
        version=statement.version,
        title=statement.title,
        organisation=statement.organisation,
        # Written as a draft first: the database refuses category rows under an endorsed statement.
        status=StatementStatus.DRAFT,
        endorsing_body=statement.endorsing_body,
        session=statement.session,
        document_symbol=statement.document_symbol,
        endorsed_on=statement.endorsed_on,
        effective_from=statement.effective_from,
        effective_to=statement.effective_to,
        supersedes=supersedes,
        review_due_on=statement.review_due_on,
        preamble=statement.preamble,
        overall_statement=statement.overall,
        created_by_id=actor.user_id,
        categories=[
            CategoryAppetite(
                category=categories[code],
                level=ca.level,
                appetite_max=ca.appetite_max,
                tolerance_max=ca.tolerance_max,
                max_impact=ca.max_impact,
                zero_tolerance=ca.zero_tolerance,
                narrative=ca.narrative,
            )
            for code, ca in statement.categories.items()
        ],
    )
    session.add(row)
    session.flush()
    row.status = StatementStatus(statement.status)
    session.flush()
    audit.record(session, actor, "load", "appetite_statement", row.id, f"loaded statement version {row.version}")
    return row


def load_bundled_policy(session: Session, actor: audit.Actor) -> None:
    """Categories, scales and the shipped statements, each only if not loaded yet (idempotent)."""
    load_categories(session, actor)
    load_methodology(session, actor)
    scales = current_scales_from_file()
    codes = category_codes(session)
    known = set(session.scalars(select(AppetiteStatement.version)))
    files = sorted(
        paths.STATEMENTS_DIR.glob("*.toml"), key=lambda p: [int(x) for x in p.stem.split(".") if x.isdigit()]
    )
    for path in files:
        statement = appetite.load_statement(path, scales, codes)
        if statement.version not in known:
            add_statement(session, actor, statement)


def current_scales_from_file() -> Scales:
    return load_scales(paths.SCALES_FILE)
