"""`riskreg recommendations import FILE [--dry-run]` and `riskreg recommendations summary [--as-at DATE]`.

The same reading, checks and all-or-nothing apply as the import page; the same summary as the summary page.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from riskreg.cli import echo_table, fail, system_actor


@click.group("recommendations")
def recommendations_group() -> None:
    """Recommendations of oversight bodies: import a list, print the summary."""


@recommendations_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the preview only; write nothing.")
@with_appcontext
def import_command(file: Path, dry_run: bool) -> None:
    """Preview the recommendations list FILE (.xlsx or .csv), then apply it (all or nothing) unless --dry-run."""
    from riskreg.extensions import db
    from riskreg.importer import ImportRejected, Limits
    from riskreg.oversight import importing, operations, queries

    session = cast(Session, db.session)
    limits = Limits(max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]))
    if file.stat().st_size > limits.max_bytes:
        fail(f"{file.name} is larger than the import limit of {limits.max_bytes / (1024 * 1024):g} MB")
    try:
        read = importing.read_list(file.read_bytes(), file.name, limits)
    except ImportRejected as refusal:
        fail(refusal.message)
        return
    plan = queries.plan_list(session, read)
    echo_table(
        ["Row", "Report", "No.", "Action", "Details"],
        [[p.row.line, p.row.report, p.row.number, p.action, _details(p)] for p in plan.rows],
    )
    counts = plan.counts()
    click.echo(
        f"\n{file.name}: {counts['new']} new, {counts['update']} updated, {counts['unchanged']} unchanged, "
        f"{counts['error']} with errors"
    )
    for warning in plan.warnings:
        click.echo(f"note: {warning}")
    if not plan.ok:
        for planned in plan.rows:
            for error in planned.errors:
                click.echo(f"error: row {planned.row.line}: {error}", err=True)
        fail(f"{counts['error']} row(s) with errors: nothing was written" if plan.rows else "the list has no rows")
    if dry_run:
        click.echo("dry run: nothing was written")
        return
    try:
        outcome = operations.apply_import(session, system_actor(), plan, file.name)
    except (operations.OversightError, operations.StaleEdit) as problem:
        fail(f"nothing was written: {problem}")
        return
    click.echo(f"imported: {outcome.created} new, {outcome.updated} updated, {outcome.unchanged} unchanged")


def _details(planned: object) -> str:
    from riskreg.oversight.importing import Planned

    assert isinstance(planned, Planned)
    if planned.errors:
        return "; ".join(planned.errors)
    return "; ".join(f"{k}: {_word(old)} -> {_word(new)}" for k, (old, new) in planned.changes.items())


def _word(value: object) -> str:
    return str(getattr(value, "value", value))


@recommendations_group.command("summary")
@click.option("--as-at", "as_at_text", default="", help="A past date (YYYY-MM-DD): the counts on that day.")
@click.option("--report", default="", help="Only this report (symbol, e.g. JIU/REP/2016/1).")
@with_appcontext
def summary_command(as_at_text: str, report: str) -> None:
    """Print the task force's summary: the sentence and the table, overall and per report and body."""
    from riskreg.extensions import db
    from riskreg.oversight import queries

    as_at = None
    if as_at_text:
        try:
            as_at = datetime.strptime(as_at_text, "%Y-%m-%d").date()
        except ValueError:
            fail(f"--as-at {as_at_text!r}: give a date as YYYY-MM-DD")
            return
        if as_at > date.today():
            fail("--as-at: give today or a past date")
    session = cast(Session, db.session)
    rows = queries.counted(session, None, as_at)  # every unit, as the coordinator reads them
    if report:
        rows = [r for r in rows if r.report_symbol == report]
        if not rows:
            fail(f"no recommendations of report {report!r}")
    heading = f"as at {as_at.isoformat()}" if as_at else "today"
    groups = [queries.SummaryGroup("", f"All recommendations ({heading})", queries.summary_of(rows))]
    groups += queries.by_report(rows) + ([] if report else queries.by_body(rows))
    for group in groups:
        click.echo(f"\n{group.title}")
        click.echo(group.summary.sentence)
        statuses = group.summary.statuses
        echo_table(
            ["Type", "Total", *(s.value.replace("_", " ") for s in statuses)],
            [[t.label, t.total, *(t.by_status.get(s, 0) for s in statuses)] for t in group.summary.types],
        )
