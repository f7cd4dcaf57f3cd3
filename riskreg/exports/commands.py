"""`riskreg export council`: the Council workbook of a cycle written to a file, logged like a web download."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from riskreg.cli import fail, system_actor


@click.group("export")
def export_group() -> None:
    """Export workbooks."""


@export_group.command("council")
@click.option("--cycle", "cycle_code", required=True, help="Closed review cycle code, e.g. 2026-Q3, or 'now' (draft).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx to write.")
@click.option("--audience", type=click.Choice(["council", "taskforce"]), default="council", show_default=True)
@click.option("--symbol", default="", help="Document symbol, e.g. C26/12 (page headers).")
@click.option("--annex", default="1", show_default=True, help="Annex number as printed, e.g. 2.")
@click.option("--classification", default="For official use only", show_default=True, help="Footer text.")
@click.option("--prepared-by", default="General Secretariat", show_default=True, help="The preparing unit.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@with_appcontext
def council_command(
    cycle_code: str,
    out: Path,
    audience: str,
    symbol: str,
    annex: str,
    classification: str,
    prepared_by: str,
    quiet: bool,
) -> None:
    """Write the Council workbook of review cycle CODE (or of now, as a draft) to --out."""
    from riskreg.exports import operations
    from riskreg.extensions import db

    session = cast(Session, db.session)
    if out.suffix.lower() != ".xlsx":
        fail(f"{out}: the file name must end in .xlsx")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        fail(f"{folder}: no such folder")
    if not os.access(folder, os.W_OK):
        fail(f"{folder}: not writable")
    started = time.perf_counter()

    def say(text: str) -> None:
        if not quiet:
            click.echo(text, err=True)

    try:
        operations.check_options(operations.ExportOptions(audience, symbol, annex, classification, prepared_by))
        cycle = operations.find_cycle(session, cycle_code)
        say(f"reading {'the live register (draft)' if cycle is None else 'the frozen snapshot of ' + cycle.code}…")
        result = operations.build_council_export(
            session,
            system_actor(),
            cycle=cycle,
            audience=audience,
            symbol=symbol,
            annex=annex,
            classification=classification,
            prepared_by=prepared_by,
            progress=None if quiet else _progress_printer(),
            organisation=current_app.config["ORGANISATION"],
            organisation_short=current_app.config["ORGANISATION_SHORT"],
        )
    except operations.ExportError as exc:
        session.rollback()
        fail(str(exc))
        return
    try:
        out.write_bytes(result.data)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror})")
    run = result.run
    click.echo(
        f"wrote {out}: {run.audience} workbook, {run.risk_count:,} risks, {run.action_count:,} actions, "
        f"{len(result.data):,} bytes in {time.perf_counter() - started:.1f} s; sha256 {run.sha256} "
        f"(export run {run.id}; suggested name {result.file_name})",
        err=True,
    )


def _progress_printer() -> Callable[[int, int, str], None]:
    """Progress of the workbook writer on one rewritten line: rows done of rows expected, and the sheet."""
    last = [0.0]

    def report(done: int, total: int, sheet: str) -> None:
        now = time.perf_counter()
        finished = total and done >= total
        if not finished and now - last[0] < 0.5:  # a line every half second is plenty on a terminal
            return
        last[0] = now
        pct = min(100, 100 * done // total) if total else 100
        click.echo(f"\rwriting workbook: {done:,}/{total:,} rows ({pct}%) · {sheet:<14}", nl=bool(finished), err=True)

    return report
