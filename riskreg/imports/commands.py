"""`riskreg import register FILE --unit CODE [--sheet NAME] [--mapping FILE] [--dry-run]`.

The same reading, checks and all-or-nothing apply as the import page. The preview is printed as a table;
with any error the command writes nothing and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg.cli import echo_table, fail, progress_printer, system_actor
from riskreg.imports.preview import PreviewRow, cell_warnings, preview_row

if TYPE_CHECKING:
    from riskreg.importer import ImportPlan, ImportResult

PREVIEW_HEADERS = ["Sheet", "Row", "Ref", "Action", "Title", "Details"]


@click.group("import")
def import_group() -> None:
    """Import a unit's existing risk register (.xlsx or .csv)."""


@import_group.command("register")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_code", required=True, help="Code of the unit the register belongs to.")
@click.option("--sheet", default=None, help="Read only this sheet (default: every sheet that looks like a register).")
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='TOML file with a [columns] table of "Header" = "field" lines.',
)
@click.option("--dry-run", is_flag=True, help="Print the preview only; write nothing.")
@with_appcontext
def register_command(file: Path, unit_code: str, sheet: str | None, mapping_file: Path | None, dry_run: bool) -> None:
    """Preview the import of FILE into unit CODE, then apply it (all or nothing) unless --dry-run."""
    from riskreg.extensions import db
    from riskreg.importer import ImportRejected, Limits, RowAction, parse_mapping, read_register
    from riskreg.imports.operations import ImportRaced, apply_file, plan_for_unit
    from riskreg.models import OrgUnit
    from riskreg.policy import current_scales
    from riskreg.risks.operations import RuleViolation, StaleEdit

    session = cast(Session, db.session)
    unit = session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code, OrgUnit.active)).first()
    if unit is None:
        fail(f"no active unit with code {unit_code!r}")
        return
    limits = Limits(max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]))
    if file.stat().st_size > limits.max_bytes:
        fail(f"{file.name} is larger than the import limit of {limits.max_bytes / (1024 * 1024):g} MB")
    scales = current_scales(session)
    session.commit()  # no transaction (on SQLite: no write lock) while the file is read and the preview printed
    try:
        mapping = parse_mapping(mapping_file.read_text(encoding="utf-8-sig")) if mapping_file else None
        result = read_register(file.read_bytes(), file.name, scales, sheet=sheet, mapping=mapping, limits=limits)
    except (ImportRejected, UnicodeDecodeError) as refusal:
        fail(refusal.message if isinstance(refusal, ImportRejected) else "the mapping file is not UTF-8 text")
        return
    plan = plan_for_unit(session, unit, result)
    session.commit()
    rows = [preview_row(p) for p in plan.rows]
    echo_table(
        PREVIEW_HEADERS,
        [[r.sheet, r.row, r.ref or "-", r.label, r.title, _details(r)] for r in rows],
    )
    counts = plan.counts()
    click.echo(
        f"\n{file.name} into {unit.code}: {counts['new']} new, {counts['update']} updated, "
        f"{counts['unchanged']} unchanged, {counts['error']} with errors"
    )
    _echo_notes(result, plan)
    if plan.has_errors:
        for planned in plan.of(RowAction.ERROR):
            for error in planned.errors:
                click.echo(f"error: {error}", err=True)
        fail(f"{counts['error']} row(s) with errors: nothing was written")
    if dry_run:
        click.echo("dry run: nothing was written")
        return
    try:
        # Planned again under the unit's lock: written only if it still does what was printed above.
        run = apply_file(
            session, system_actor(), unit, result, seen=counts, scales=scales, progress=progress_printer("applying")
        )
    except ImportRaced as raced:
        fail(f"nothing was written: {raced}")
        return
    except (RuleViolation, StaleEdit) as problem:
        fail(f"nothing was written: {problem}")
        return
    click.echo(f"imported (import run {run.id}): {run.summary}")


def _echo_notes(result: ImportResult, plan: ImportPlan) -> None:
    """What the web preview shows beside the table: unmapped columns, plan notes and cell warnings."""
    for column in result.unmapped:
        click.echo(f"not imported: {column.sheet} column {column.letter} {column.header!r}")
    for warning in plan.warnings:
        click.echo(f"note: {warning}")
    for warning in cell_warnings(plan):  # shown beside each row on the preview page
        click.echo(f"warning: {warning}")


def _details(row: PreviewRow) -> str:
    if row.errors:
        return "; ".join(f"{e.column_letter or 'row'}: {e.message}" for e in row.errors)
    return "; ".join(
        (f"{c.label}: {c.old} -> {c.new}" if c.old else f"{c.label} added: {c.new}").replace("\n", " / ")
        for c in row.changes
    )
