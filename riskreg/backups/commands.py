"""`riskreg backup OUT` and `riskreg restore IN`: the database of this installation (RISKREG_DATABASE_URL)."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from riskreg.backups.operations import BackupError, Report, backup, check, head_revision, restore


def _url() -> str:
    from riskreg.extensions import db

    # The engine's URL: Flask-SQLAlchemy has made a relative SQLite path absolute (instance folder).
    return db.engine.url.render_as_string(hide_password=False)


def _print(report: Report) -> None:
    for line in report.lines:
        click.echo(f"  {line}")


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(out: Path) -> None:
    """Write a consistent backup of the database to OUT while the app keeps serving.

    SQLite: the online backup API (one file). PostgreSQL: pg_dump --format=custom.
    """
    started = time.perf_counter()
    try:
        report = backup(_url(), out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup of {report.risks:,} risks (revision {report.revision}) checked and written:")
    _print(report)
    click.echo(f"  took {time.perf_counter() - started:.1f} s")


@click.command("restore")
@click.argument("source", metavar="IN", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@with_appcontext
def restore_command(source: Path) -> None:
    """Restore backup IN into this installation's database, which must be empty, then check it.

    Success is reported only after the integrity, foreign key, migration head and search index checks pass. A
    backup from an older version is upgraded to the current schema first.
    """
    from flask_migrate import upgrade

    from riskreg.extensions import db

    started = time.perf_counter()
    url = _url()
    db.engine.dispose()  # no pooled connection may hold the (empty) target open while it is replaced
    try:
        report = restore(url, source)
        before = check(url, require_head=False)
        if before.revision != head_revision():
            click.echo(f"upgrading the restored schema from {before.revision} to {head_revision()}")
            upgrade()
            db.engine.dispose()
        final = check(url, require_head=True)
    except BackupError as exc:
        raise click.ClickException(f"restore failed: {exc}") from exc
    click.echo(f"restored {final.risks:,} risks into {db.engine.url.render_as_string(hide_password=True)}:")
    _print(Report(lines=report.lines + final.lines))
    click.echo(f"  took {time.perf_counter() - started:.1f} s")
    current_app.logger.info("restored %s from %s", url, source)
