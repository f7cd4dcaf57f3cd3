"""Council workbook exports: gather a cycle's register, build the workbook, and log the run.

A closed cycle is exported from its frozen snapshot (hash verified), with the appetite statement
and the scales the snapshot names, so the same cycle always gives the same cell values whatever
has been edited since. "Now" exports the live register as a clearly marked draft. Either way the
heatmap image is drawn from exactly the rows the audience sees, so a Council image never shows a
confidential reference. Each export is logged as an ExportRun with the SHA-256 of the bytes handed
out, and audited in the same transaction (security.md H4, H6, I2).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg import appetite, audit, heatmap, paths, policy
from riskreg.models import (
    CycleSnapshot,
    CycleStatus,
    ExportRun,
    Methodology,
    OrgUnit,
    ReviewCycle,
    RiskCategory,
    utcnow,
)
from riskreg.oversight.reporting import workbook_section as oversight_section
from riskreg.review import queries
from riskreg.review.operations import CycleError, load_snapshot, previous_closed_cycle
from riskreg.risks.rows import live_snapshot
from riskreg.scoring import Scales, ScalesError, parse_scales
from riskreg.snapshot import RiskRow, Snapshot
from riskreg.validation import has_control_chars
from riskreg.workbook import (
    AudienceName,
    CouncilInputs,
    LayoutError,
    Progress,
    build_council_workbook,
    load_layout,
    rows_for_audience,
)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AUDIENCES: dict[str, str] = {
    "council": "Council (no confidential risks)",
    "taskforce": "Task force (full register)",
}
CLASSIFICATIONS = ("For official use only", "Internal", "Restricted", "Confidential", "Public")
DEFAULT_CLASSIFICATION = CLASSIFICATIONS[0]
DEFAULT_ANNEX = "1"
DEFAULT_PREPARED_BY = "General Secretariat"
NOW = "now"  # the cycle code that asks for the live register as a draft

# Bounded by the ExportRun columns and by what fits in a page header (security.md H3: refuse, never cut).
SYMBOL_MAX = 100
ANNEX_MAX = 10
CLASSIFICATION_MAX = 60
PREPARED_BY_MAX = 200
ANNEX_PATTERN = re.compile(r"^[A-Za-z0-9.-]*$")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEPARATOR_RUN = re.compile(r"[._-]{2,}")


class ExportError(ValueError):
    """An export that cannot be made as asked; the message is shown to the person (field: the form field)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ExportOptions:
    """What the person chose, checked by `check_options` (the form checks the same for the web)."""

    audience: str = "council"
    symbol: str = ""
    annex: str = DEFAULT_ANNEX
    classification: str = DEFAULT_CLASSIFICATION
    prepared_by: str = DEFAULT_PREPARED_BY


@dataclass(frozen=True)
class ExportSource:
    """The register an export is built from and what belongs with it."""

    snapshot: Snapshot
    snapshot_hash: str
    previous: Snapshot | None
    statement: appetite.Statement
    scales: Scales
    cycle: ReviewCycle | None  # the closed cycle; None for a draft of now
    context_cycle: ReviewCycle | None  # whose narrative and Council session the workbook carries

    @property
    def is_draft(self) -> bool:
        return self.cycle is None


@dataclass(frozen=True)
class ExportResult:
    data: bytes
    file_name: str
    run: ExportRun


# --------------------------------------------------------------------------- checks and names


def check_options(options: ExportOptions) -> ExportOptions:
    """The options with surrounding blanks removed; ExportError naming the field when one is unusable."""
    if options.audience not in AUDIENCES:
        raise ExportError(f"The audience must be one of {', '.join(AUDIENCES)}.", "audience")
    cleaned = ExportOptions(
        audience=options.audience,
        symbol=options.symbol.strip(),
        annex=options.annex.strip(),
        classification=options.classification.strip(),
        prepared_by=options.prepared_by.strip(),
    )
    limits = {
        "symbol": ("document symbol", SYMBOL_MAX),
        "annex": ("annex number", ANNEX_MAX),
        "classification": ("classification", CLASSIFICATION_MAX),
        "prepared_by": ("'prepared by'", PREPARED_BY_MAX),
    }
    for name, (label, limit) in limits.items():
        value = getattr(cleaned, name)
        if len(value) > limit:
            raise ExportError(f"The {label} is {len(value)} characters long; at most {limit} fit.", name)
        if has_control_chars(value) or "\n" in value or "\r" in value:
            raise ExportError(f"The {label} must be one line without control characters.", name)
    if not ANNEX_PATTERN.match(cleaned.annex):
        raise ExportError("Write the annex number with letters, digits, '.' or '-' only (e.g. 2 or B).", "annex")
    if not cleaned.prepared_by:
        raise ExportError("Say which unit prepared the document.", "prepared_by")
    return cleaned


def safe_part(text: str, limit: int = 60) -> str:
    """`text` as a file-name part of [A-Za-z0-9._-] only: accents dropped, no path, no leading dot."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    part = _SEPARATOR_RUN.sub("-", _UNSAFE.sub("-", ascii_text)).strip("._-")
    return part[:limit].strip("._-")


def export_file_name(symbol: str, annex: str, cycle_code: str, audience: str, *, draft: bool) -> str:
    """E.g. 'C26-xx_Annex2_2026-Q3_council.xlsx'; safe on every file system and in any header."""
    parts = [safe_part(symbol) or "Risk-register"]
    if safe_part(annex, ANNEX_MAX):
        parts.append("Annex" + safe_part(annex, ANNEX_MAX))
    parts.append((safe_part(cycle_code, 20) or "cycle") + ("-DRAFT" if draft else ""))
    parts.append(safe_part(audience, 20))
    return "_".join(parts) + ".xlsx"


# --------------------------------------------------------------------------- the register to export


def closed_cycles(session: Session) -> list[ReviewCycle]:
    """Closed cycles, the most recent period first (the first is the default export)."""
    return list(
        session.scalars(
            select(ReviewCycle)
            .where(ReviewCycle.status == CycleStatus.CLOSED)
            .order_by(ReviewCycle.period_end.desc(), ReviewCycle.id.desc())
        )
    )


def find_cycle(session: Session, code: str) -> ReviewCycle | None:
    """The closed cycle `code`, or None for "now"; ExportError when there is no such closed cycle."""
    if code.strip().lower() == NOW:
        return None
    cycle = session.scalars(select(ReviewCycle).where(ReviewCycle.code == code.strip())).first()
    if cycle is None:
        known = ", ".join(c.code for c in closed_cycles(session)) or "none"
        raise ExportError(f"There is no review cycle {code!r} (closed cycles: {known}; or 'now' for a draft).", "cycle")
    if cycle.status != CycleStatus.CLOSED:
        raise ExportError(f"Cycle {cycle.code} is not closed yet; export 'now' for a draft of the register.", "cycle")
    return cycle


def scales_named(session: Session, version: str) -> Scales:
    """The scales a snapshot was frozen with, so a later methodology change does not alter an old cycle's export."""
    current = policy.current_scales(session)
    if not version or version == current.version:
        return current
    text = session.scalar(select(Methodology.source_toml).where(Methodology.version == version))
    if text is None:
        raise ExportError(f"The snapshot names scales {version}, which are not in the database.", "cycle")
    try:
        return parse_scales(tomllib.loads(text), source=f"methodology {version} in database")
    except (tomllib.TOMLDecodeError, ScalesError) as exc:
        raise ExportError(f"The stored scales {version} cannot be read: {exc}", "cycle") from exc


def load_source(session: Session, cycle: ReviewCycle | None, *, as_at: date | None = None) -> ExportSource:
    """The frozen register of a closed cycle, or (cycle None) the live register now as a draft."""
    try:
        if cycle is not None:
            if cycle.status != CycleStatus.CLOSED:
                raise ExportError(f"Cycle {cycle.code} is not closed yet.", "cycle")
            # Read for this export only (not kept in the review's per-process memo): a worker that builds a
            # 100,000-risk workbook gives the memory back when it is done.
            snapshot = load_snapshot(session, cycle)
            content_hash = _stored_hash(session, cycle)
            statement = queries.statement_version(session, snapshot.statement_version)
            if statement is None:
                raise ExportError(
                    f"Cycle {cycle.code} was frozen under appetite statement "
                    f"{snapshot.statement_version or '(none)'}, which is not in the database.",
                    "cycle",
                )
            scales = scales_named(session, snapshot.scales_version)
            context: ReviewCycle | None = cycle
            previous_cycle = previous_closed_cycle(session, cycle)
        else:
            snapshot, statement, scales, context, previous_cycle = _live(session, as_at or date.today())
            content_hash = snapshot.content_hash()
        # Only compared with: its texts and actions are never shown, so they are not read.
        previous = load_snapshot(session, previous_cycle, slim=True) if previous_cycle else None
    except (queries.ReviewError, CycleError) as exc:
        raise ExportError(str(exc), "cycle") from exc
    return ExportSource(snapshot, content_hash, previous, statement, scales, cycle, context)


def _stored_hash(session: Session, cycle: ReviewCycle) -> str:
    return session.scalar(select(CycleSnapshot.content_hash).where(CycleSnapshot.review_cycle_id == cycle.id)) or ""


def _live(
    session: Session, as_at: date
) -> tuple[Snapshot, appetite.Statement, Scales, ReviewCycle | None, ReviewCycle | None]:
    in_force = policy.statement_in_force(session, as_at)
    if in_force is None:
        raise ExportError(f"No endorsed appetite statement is in force on {as_at:%d %b %Y}.", "cycle")
    statement = policy.to_pure(in_force)
    scales = policy.current_scales(session)
    # The draft carries the code, narrative and session of the cycle under way, if any.
    running = session.scalars(
        select(ReviewCycle)
        .where(ReviewCycle.status != CycleStatus.CLOSED)
        .order_by(ReviewCycle.period_start.desc())
        .limit(1)
    ).first()
    snapshot = live_snapshot(session, running.code if running else NOW, statement.version, scales.version, as_at)
    previous = previous_closed_cycle(session, running) if running else _last_closed(session)
    return snapshot, statement, scales, running, previous


def _last_closed(session: Session) -> ReviewCycle | None:
    found = closed_cycles(session)
    return found[0] if found else None


# --------------------------------------------------------------------------- building and logging


def heatmap_image(source: ExportSource, rows: list[RiskRow], audience: str, organisation_short: str = "") -> bytes:
    """The residual heatmap of exactly `rows` (the audience's selection) as PNG."""
    snap, scales = source.snapshot, source.scales
    if source.is_draft:
        first = f"Draft: live register as at {snap.as_at:%d %b %Y}, not frozen"
    else:
        frozen = f"frozen snapshot as at {snap.as_at:%d %b %Y}, content hash {source.snapshot_hash[:12]}"
        first = f"Cycle {snap.cycle_code}: {frozen}"
    label = "Council selection" if audience == "council" else "Task force: full register"
    spec = heatmap.HeatmapSpec(
        scales=scales,
        kind="residual",
        points=queries.heat_points(rows, "residual", None),
        title=f"{organisation_short + ' ' if organisation_short else ''}residual risk heatmap · {snap.cycle_code}"
        + (" (DRAFT)" if source.is_draft else ""),
        footnote=[
            first,
            f"Appetite statement v{snap.statement_version or source.statement.version} · scales {scales.version}",
            f"{label}: {len(rows)} open risk{'' if len(rows) == 1 else 's'}",
        ],
    )
    return heatmap.render_png(spec)


def category_names(session: Session) -> dict[str, str]:
    rows = session.execute(select(RiskCategory.code, RiskCategory.name).order_by(RiskCategory.sort_order))
    return {code: name for code, name in rows}


def unit_names(session: Session) -> dict[str, str]:
    return {code: name for code, name in session.execute(select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.code))}


def build_council_export(
    session: Session,
    actor: audit.Actor,
    *,
    cycle: ReviewCycle | None,
    audience: str,
    symbol: str,
    annex: str,
    classification: str,
    prepared_by: str,
    progress: Progress | None = None,
    organisation: str | None = None,
    organisation_short: str | None = None,
    generated_at: datetime | None = None,
) -> ExportResult:
    """Build the Council workbook of `cycle` (None: now, as a draft), log it as an ExportRun, audit it, commit."""
    options = check_options(ExportOptions(audience, symbol, annex, classification, prepared_by))
    if organisation is None or organisation_short is None:
        organisation = organisation if organisation is not None else str(current_app.config["ORGANISATION"])
        organisation_short = (
            organisation_short if organisation_short is not None else str(current_app.config["ORGANISATION_SHORT"])
        )
    try:
        layout = load_layout(paths.COUNCIL_LAYOUT)
    except LayoutError as exc:
        raise ExportError(f"The Council layout cannot be used: {exc}") from exc
    source = load_source(session, cycle)
    try:
        shown = rows_for_audience(source.snapshot.rows, options.audience, source.scales, layout)
    except LayoutError as exc:
        raise ExportError(f"The Council layout cannot be used: {exc}") from exc
    moment = generated_at or utcnow()
    context = source.context_cycle
    inputs = CouncilInputs(
        snapshot=source.snapshot,
        previous=source.previous,
        statement=source.statement,
        scales=source.scales,
        category_names=category_names(session),
        unit_names=unit_names(session),
        audience=_audience(options.audience),
        organisation=organisation,
        session=context.target_session if context else "",
        symbol=options.symbol,
        annex=options.annex,
        classification=options.classification,
        prepared_by=options.prepared_by,
        generated_at=moment,
        narrative=context.narrative if context else "",
        # From the snapshot's rows (frozen with the cycle), not today's table, so the figure stays reproducible.
        open_escalations=sum(1 for row in shown if row.escalation_status),
        heatmap_png=heatmap_image(source, shown, options.audience, organisation_short),
        snapshot_hash=source.snapshot_hash,
        oversight=oversight_section(session, source.snapshot.as_at, source.previous),
        progress=progress,
    )
    # Everything is read: end the transaction before the (long) build, so an SQLite write lock taken by this
    # POST request is not held for the seconds the workbook takes; log_export opens a short one to write.
    session.commit()
    try:
        data = build_council_workbook(inputs, layout)
    except LayoutError as exc:
        raise ExportError(f"The Council layout cannot be used: {exc}") from exc
    file_name = export_file_name(
        options.symbol, options.annex, source.snapshot.cycle_code, options.audience, draft=source.is_draft
    )
    run = log_export(session, actor, source, options, data, file_name, moment, shown)
    return ExportResult(data, file_name, run)


def log_export(
    session: Session,
    actor: audit.Actor,
    source: ExportSource,
    options: ExportOptions,
    data: bytes,
    file_name: str,
    moment: datetime,
    shown: list[RiskRow],
) -> ExportRun:
    """The ExportRun and its audit record, committed together."""
    digest = hashlib.sha256(data).hexdigest()
    run = ExportRun(
        review_cycle_id=source.cycle.id if source.cycle else None,
        statement_version=source.statement.version,
        audience=options.audience,
        doc_symbol=options.symbol,
        file_name=file_name,
        sha256=digest,
        snapshot_hash=source.snapshot_hash,
        risk_count=len(shown),
        action_count=sum(len(row.actions) for row in shown),
        generated_at=moment,
        generated_by_id=actor.user_id,
    )
    session.add(run)
    session.flush()
    what = f"cycle {source.snapshot.cycle_code}" + (" (draft of now)" if source.is_draft else "")
    audit.record(
        session,
        actor,
        "export",
        "export_run",
        run.id,
        f"exported the {options.audience} workbook of {what}: {run.risk_count} risks, {file_name}",
        {
            "cycle": source.snapshot.cycle_code,
            "draft": source.is_draft,
            "audience": options.audience,
            "doc_symbol": options.symbol,
            "annex": options.annex,
            "classification": options.classification,
            "statement_version": run.statement_version,
            "risk_count": run.risk_count,
            "action_count": run.action_count,
            "sha256": digest,
            "snapshot_hash": source.snapshot_hash,
            "file_name": file_name,
        },
    )
    session.commit()
    return run


def _audience(name: str) -> AudienceName:
    return "council" if name == "council" else "taskforce"
