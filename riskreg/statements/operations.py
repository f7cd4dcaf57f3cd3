"""Writes to appetite statements: drafting, submission, withdrawal, endorsement, loading files.

Each operation commits with its audit record. Endorsement is one transaction: the new version becomes
endorsed with its effective range and the version in force becomes superseded, or neither happens
(security.md J3). Endorsed and superseded versions are read-only here, and the database refuses
changes to them as well (triggers in the initial migration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import flag_modified

from riskreg import appetite, audit, policy
from riskreg.models import AppetiteStatement, CategoryAppetite, StatementStatus, utcnow
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.scoring import Scales

VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,19}$")
FROZEN = (StatementStatus.ENDORSED, StatementStatus.SUPERSEDED)
EDITABLE = (StatementStatus.DRAFT,)


class StatementLockedError(Exception):
    """The version may not change in its present status (endorsed, superseded, withdrawn, submitted)."""


class DraftInvalidError(ValueError):
    """A draft with problems; each names the field it belongs to (`categories.CODE` for a category row)."""

    def __init__(self, problems: list[RuleViolation]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class CategoryInput:
    code: str
    level: appetite.AppetiteLevel
    appetite_max: int
    tolerance_max: int
    zero_tolerance: bool = False
    max_impact: int | None = None
    narrative: str = ""

    def to_pure(self) -> appetite.CategoryAppetite:
        return appetite.CategoryAppetite(
            category=self.code,
            level=self.level,
            appetite_max=self.appetite_max,
            tolerance_max=self.tolerance_max,
            zero_tolerance=self.zero_tolerance,
            max_impact=self.max_impact,
            narrative=self.narrative.strip(),
        )


@dataclass(frozen=True)
class DraftInput:
    title: str
    preamble: str
    overall: str
    categories: tuple[CategoryInput, ...]
    review_due_on: date | None = None


@dataclass(frozen=True)
class EndorsementInput:
    endorsing_body: str
    session: str
    document_symbol: str
    endorsed_on: date
    effective_from: date


# --------------------------------------------------------------------------- reading


def get_version(session: Session, version: str) -> AppetiteStatement | None:
    return session.scalars(
        select(AppetiteStatement)
        .where(AppetiteStatement.version == version)
        .options(selectinload(AppetiteStatement.categories).selectinload(CategoryAppetite.category))
    ).first()


def endorsed_version(session: Session) -> AppetiteStatement | None:
    """The latest endorsed version (the one a new endorsement supersedes), whatever its start date."""
    return session.scalars(
        select(AppetiteStatement)
        .where(AppetiteStatement.status == StatementStatus.ENDORSED)
        .order_by(AppetiteStatement.effective_from.desc())
        .limit(1)
    ).first()


def draft_problems(data: DraftInput, scales: Scales) -> list[RuleViolation]:
    """Everything wrong with a draft's content; empty when it may be saved."""
    problems = []
    if not data.title.strip():
        problems.append(RuleViolation("title", "Give the statement a title."))
    if not data.overall.strip():
        problems.append(RuleViolation("overall", "State the overall position."))
    if not data.categories:
        problems.append(RuleViolation("categories", "A statement sets an appetite for at least one category."))
    for category in data.categories:
        for problem in appetite.threshold_problems(category.to_pure(), scales):
            problems.append(RuleViolation(f"categories.{category.code}", problem[0].upper() + problem[1:] + "."))
    return problems


# --------------------------------------------------------------------------- drafting


def create_draft(
    session: Session,
    actor: audit.Actor,
    version: str,
    *,
    base: AppetiteStatement | None = None,
    today: date | None = None,
) -> AppetiteStatement:
    """A new draft version: a copy of `base`, by default the statement in force today."""
    version = version.strip()
    if not VERSION_PATTERN.match(version):
        raise RuleViolation(
            "version", "Use up to 20 letters, digits, dots or hyphens, starting with a letter or digit (e.g. 3.0)."
        )
    if session.scalars(select(AppetiteStatement.id).where(AppetiteStatement.version == version)).first():
        raise RuleViolation("version", f"Version {version} already exists; choose another version string.")
    base = base or policy.statement_in_force(session, today or date.today())
    if base is None:
        raise RuleViolation("version", "No statement is in force to copy; load one with `riskreg appetite load`.")
    draft = AppetiteStatement(
        version=version,
        title=base.title,
        organisation=base.organisation,
        status=StatementStatus.DRAFT,
        supersedes=base,
        review_due_on=None,
        preamble=base.preamble,
        overall_statement=base.overall_statement,
        created_by_id=actor.user_id,
        categories=[
            CategoryAppetite(
                category_id=ca.category_id,
                level=ca.level,
                appetite_max=ca.appetite_max,
                tolerance_max=ca.tolerance_max,
                max_impact=ca.max_impact,
                zero_tolerance=ca.zero_tolerance,
                narrative=ca.narrative,
            )
            for ca in base.categories
        ],
    )
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "appetite_statement",
        draft.id,
        f"draft statement {version} created as a copy of {base.version}",
        {"version": version, "copied_from": base.version},
    )
    session.commit()
    return draft


def update_draft(
    session: Session, actor: audit.Actor, statement: AppetiteStatement, data: DraftInput, expected_version: int
) -> AppetiteStatement:
    """Change a draft's texts, levels and thresholds (all validated together; nothing saved on a problem)."""
    _check_editable(statement, expected_version)
    scales = policy.current_scales(session)
    problems = draft_problems(data, scales)
    rows = {ca.category.code: ca for ca in statement.categories}
    unknown = sorted({c.code for c in data.categories} - set(rows))
    if unknown:
        problems.append(RuleViolation("categories", f"Not in this statement: {', '.join(unknown)}."))
    if problems:
        raise DraftInvalidError(problems)
    before = _fields(statement)
    statement.title = data.title.strip()
    statement.preamble = data.preamble.strip()
    statement.overall_statement = data.overall.strip()
    statement.review_due_on = data.review_due_on
    for category in data.categories:
        row = rows[category.code]
        row.level = category.level
        row.appetite_max = category.appetite_max
        row.tolerance_max = category.tolerance_max
        row.zero_tolerance = category.zero_tolerance
        row.max_impact = category.max_impact
        row.narrative = category.narrative.strip()
    changes = audit.diff(before, _fields(statement))
    # A change to category rows alone must still move the statement's lock version on.
    flag_modified(statement, "title")
    session.flush()
    audit.record(
        session, actor, "update", "appetite_statement", statement.id, f"draft {statement.version} edited", changes
    )
    session.commit()
    return statement


def submit_draft(
    session: Session, actor: audit.Actor, statement: AppetiteStatement, expected_version: int
) -> AppetiteStatement:
    """Send a complete draft for endorsement; it cannot be edited while submitted."""
    _check_editable(statement, expected_version)
    scales = policy.current_scales(session)
    problems = draft_problems(_input_of(statement), scales)
    if problems:
        raise DraftInvalidError(problems)
    statement.status = StatementStatus.SUBMITTED
    statement.submitted_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "submit",
        "appetite_statement",
        statement.id,
        f"statement {statement.version} submitted for endorsement",
        {"status": ["draft", "submitted"]},
    )
    session.commit()
    return statement


def reopen_draft(
    session: Session, actor: audit.Actor, statement: AppetiteStatement, expected_version: int
) -> AppetiteStatement:
    """Take a submitted version back to draft (e.g. the working group asked for changes)."""
    _check_version(statement, expected_version)
    if statement.status != StatementStatus.SUBMITTED:
        raise StatementLockedError(
            f"Version {statement.version} is {statement.status.value}; only a submitted one reopens."
        )
    statement.status = StatementStatus.DRAFT
    statement.submitted_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "reopen",
        "appetite_statement",
        statement.id,
        f"statement {statement.version} returned to draft",
        {"status": ["submitted", "draft"]},
    )
    session.commit()
    return statement


def withdraw(
    session: Session, actor: audit.Actor, statement: AppetiteStatement, reason: str, expected_version: int
) -> AppetiteStatement:
    """Abandon a draft or submitted version; it stays listed as withdrawn."""
    _check_version(statement, expected_version)
    if statement.status not in (StatementStatus.DRAFT, StatementStatus.SUBMITTED):
        raise StatementLockedError(f"Version {statement.version} is {statement.status.value} and cannot be withdrawn.")
    if not reason.strip():
        raise RuleViolation("reason", "Say why the version is withdrawn.")
    before = statement.status.value
    statement.status = StatementStatus.WITHDRAWN
    session.flush()
    audit.record(
        session,
        actor,
        "withdraw",
        "appetite_statement",
        statement.id,
        f"statement {statement.version} withdrawn: {reason.strip()}",
        {"status": [before, "withdrawn"], "reason": reason.strip()},
    )
    session.commit()
    return statement


# --------------------------------------------------------------------------- endorsement


def endorsement_problems(
    data: EndorsementInput, previous: AppetiteStatement | None, today: date
) -> list[RuleViolation]:
    problems = []
    for key, label in (
        ("endorsing_body", "the endorsing body"),
        ("session", "the session"),
        ("document_symbol", "the document symbol"),
    ):
        if not getattr(data, key).strip():
            problems.append(RuleViolation(key, f"Give {label}."))
    if data.endorsed_on > today:
        problems.append(RuleViolation("endorsed_on", "An endorsement is recorded after it happened, not before."))
    if data.effective_from < data.endorsed_on:
        problems.append(RuleViolation("effective_from", "A statement cannot take effect before it is endorsed."))
    if previous is not None and previous.effective_from and data.effective_from <= previous.effective_from:
        problems.append(
            RuleViolation(
                "effective_from",
                f"Must be after {previous.effective_from.isoformat()}, when version {previous.version} took effect.",
            )
        )
    return problems


def endorse(
    session: Session,
    actor: audit.Actor,
    statement: AppetiteStatement,
    data: EndorsementInput,
    expected_version: int,
    *,
    today: date | None = None,
) -> AppetiteStatement:
    """Record the governing body's endorsement of a submitted version, superseding the endorsed one."""
    _check_version(statement, expected_version)
    if statement.status in FROZEN:
        raise StatementLockedError(f"Version {statement.version} is already {statement.status.value}.")
    if statement.status != StatementStatus.SUBMITTED:
        raise StatementLockedError(
            f"Version {statement.version} is {statement.status.value}; submit it before endorsing."
        )
    previous = endorsed_version(session)
    problems = endorsement_problems(data, previous, today or date.today())
    problems += draft_problems(_input_of(statement), policy.current_scales(session))
    if problems:
        raise DraftInvalidError(problems)
    try:
        if previous is not None:
            # Closing the old range is the one change the database allows on an endorsed row.
            previous.status = StatementStatus.SUPERSEDED
            previous.effective_to = data.effective_from
            session.flush()
        statement.endorsing_body = data.endorsing_body.strip()
        statement.session = data.session.strip()
        statement.document_symbol = data.document_symbol.strip()
        statement.endorsed_on = data.endorsed_on
        statement.effective_from = data.effective_from
        statement.effective_to = None
        statement.supersedes = previous
        statement.status = StatementStatus.ENDORSED
        session.flush()
        audit.record(
            session,
            actor,
            "endorse",
            "appetite_statement",
            statement.id,
            f"statement {statement.version} endorsed by {statement.endorsing_body} ({statement.session}, "
            f"{statement.document_symbol}), effective {data.effective_from.isoformat()}",
            {
                "status": ["submitted", "endorsed"],
                "endorsed_on": data.endorsed_on,
                "effective_from": data.effective_from,
                "supersedes": previous.version if previous else "",
            },
        )
        if previous is not None:
            audit.record(
                session,
                actor,
                "supersede",
                "appetite_statement",
                previous.id,
                f"statement {previous.version} superseded by {statement.version} from {data.effective_from}",
                {"status": ["endorsed", "superseded"], "effective_to": [None, data.effective_from]},
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return statement


# --------------------------------------------------------------------------- files


def import_statement(session: Session, actor: audit.Actor, statement: appetite.Statement) -> AppetiteStatement:
    """Store a statement read from a TOML file as a new version, keeping one coherent history.

    Drafts, submitted and withdrawn files load as they are. An endorsed or superseded file must not
    overlap the effective range of a stored version, with one exception that is an endorsement loaded
    in order: an open-ended endorsed file starting after the endorsed version supersedes it (its range
    is closed on the new start date, in the same transaction).
    """
    existing = session.scalars(
        select(AppetiteStatement.status).where(AppetiteStatement.version == statement.version)
    ).first()
    if existing is not None:
        raise appetite.AppetiteError(
            f"version {statement.version} is already in the database ({existing.value}); "
            "a stored version is never replaced: load the file under a new version string"
        )
    status = StatementStatus(statement.status)
    previous: AppetiteStatement | None = None
    if status in FROZEN:
        statement, previous = _place_in_history(session, statement, status)
    try:
        if previous is not None:
            previous.status = StatementStatus.SUPERSEDED
            previous.effective_to = statement.effective_from
            session.flush()
        row = policy.add_statement(session, actor, statement)
        if previous is not None:
            audit.record(
                session,
                actor,
                "supersede",
                "appetite_statement",
                previous.id,
                f"statement {previous.version} superseded by loaded {row.version} from {statement.effective_from}",
                {"status": ["endorsed", "superseded"], "effective_to": [None, statement.effective_from]},
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def _place_in_history(
    session: Session, statement: appetite.Statement, status: StatementStatus
) -> tuple[appetite.Statement, AppetiteStatement | None]:
    """Check an endorsed/superseded file against stored ranges; return it and the version it supersedes."""
    start = statement.effective_from
    if start is None:  # parse_statement requires it for these statuses; kept for the type checker
        raise appetite.AppetiteError(f"version {statement.version}: effective_from is missing")
    if status == StatementStatus.ENDORSED and statement.effective_to is not None:
        raise appetite.AppetiteError(
            f"version {statement.version}: an endorsed statement is open-ended; "
            'give a past version status = "superseded" and its effective_to'
        )
    if status == StatementStatus.SUPERSEDED and statement.effective_to is None:
        raise appetite.AppetiteError(f"version {statement.version}: a superseded statement needs effective_to")
    current = endorsed_version(session)
    previous = None
    if (
        status == StatementStatus.ENDORSED
        and current is not None
        and current.effective_from is not None
        and start > current.effective_from
    ):
        if statement.supersedes and statement.supersedes != current.version:
            raise appetite.AppetiteError(
                f"version {statement.version}: supersedes = {statement.supersedes!r}, "
                f"but the endorsed version is {current.version}"
            )
        previous = current
        statement = replace(statement, supersedes=current.version)
    end = statement.effective_to
    stored = session.execute(
        select(AppetiteStatement.version, AppetiteStatement.effective_from, AppetiteStatement.effective_to).where(
            AppetiteStatement.status.in_(FROZEN), AppetiteStatement.effective_from.is_not(None)
        )
    ).all()
    for version, other_start, other_end in stored:
        if other_start is None or (previous is not None and version == previous.version):
            continue  # the superseded version's range is closed at `start` when this file loads
        if (end is None or other_start < end) and (other_end is None or start < other_end):
            until = other_end.isoformat() if other_end else "open-ended"
            raise appetite.AppetiteError(
                f"version {statement.version}: effective range overlaps version {version} "
                f"({other_start.isoformat()} to {until}); load versions in order, each starting after the last"
            )
    return statement, previous


# --------------------------------------------------------------------------- shared


def _check_version(statement: AppetiteStatement, expected_version: int) -> None:
    if statement.lock_version != expected_version:
        raise StaleEdit(statement)


def _check_editable(statement: AppetiteStatement, expected_version: int) -> None:
    if statement.status in FROZEN:
        raise StatementLockedError(
            f"Version {statement.version} is {statement.status.value} and can never be edited; "
            "create a new draft to change the statement."
        )
    if statement.status not in EDITABLE:
        raise StatementLockedError(f"Version {statement.version} is {statement.status.value} and cannot be edited.")
    _check_version(statement, expected_version)


def _input_of(statement: AppetiteStatement) -> DraftInput:
    return DraftInput(
        title=statement.title,
        preamble=statement.preamble,
        overall=statement.overall_statement,
        review_due_on=statement.review_due_on,
        categories=tuple(
            CategoryInput(
                code=ca.category.code,
                level=ca.level,
                appetite_max=ca.appetite_max,
                tolerance_max=ca.tolerance_max,
                zero_tolerance=ca.zero_tolerance,
                max_impact=ca.max_impact,
                narrative=ca.narrative,
            )
            for ca in statement.categories
        ),
    )


def _fields(statement: AppetiteStatement) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "title": statement.title,
        "preamble": statement.preamble,
        "overall": statement.overall_statement,
        "review_due_on": statement.review_due_on,
    }
    for ca in statement.categories:
        fields[f"categories.{ca.category.code}"] = (
            f"{ca.level.value} {ca.appetite_max}/{ca.tolerance_max}"
            f"{' zero' if ca.zero_tolerance else ''}{f' cap {ca.max_impact}' if ca.max_impact else ''}"
            f" | {ca.narrative}"
        )
    return fields
