"""Commands of the appetite feature, for the `riskreg appetite` group.

`load` replaces the plain loader: it keeps the history coherent (no overlapping effective ranges; an
endorsed file loaded in order supersedes the version in force). `escalations` expires lapsed
acceptances and proposes the escalations the cycle-level triggers call for (idempotent; cron-safe).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import cast

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session


def _session() -> Session:
    from riskreg.extensions import db

    # Flask-SQLAlchemy's scoped session stands in for a Session; the operations are typed against Session.
    return cast(Session, db.session)


@click.command("load")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def load_command(path: Path) -> None:
    """Load a statement TOML file as a new version (endorsed files in order only)."""
    from riskreg.appetite import AppetiteError, load_statement
    from riskreg.cli import fail, system_actor
    from riskreg.policy import category_codes, current_scales
    from riskreg.statements.operations import import_statement

    if not path.is_file():
        fail(f"{path}: no such file")
    session = _session()
    try:
        statement = load_statement(path, current_scales(session), category_codes(session))
        row = import_statement(session, system_actor(), statement)
    except (AppetiteError, LookupError) as exc:
        session.rollback()
        fail(str(exc))
        return
    click.echo(f"loaded statement version {row.version} ({row.status.value})")


@click.command("escalations")
@click.option(
    "--as-at",
    "as_at",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge on this date (default: today).",
)
@with_appcontext
def escalations_command(as_at: datetime | None) -> None:
    """Expire lapsed acceptances and propose escalations (persistent above appetite, overdue actions)."""
    from riskreg.cli import echo_table, fail, system_actor
    from riskreg.statements.responses import expire_acceptances
    from riskreg.statements.triggers import escalation_candidates

    day = as_at.date() if as_at is not None else date.today()
    actor = system_actor()
    session = _session()
    try:
        expired = expire_acceptances(session, actor, day)
        created = escalation_candidates(session, actor, day)
    except LookupError as exc:
        session.rollback()
        fail(str(exc))
        return
    click.echo(f"{expired} acceptance(s) expired; {len(created)} escalation(s) proposed")
    if created:
        echo_table(
            ["risk", "trigger", "to", "reason"],
            [[e.risk.ref, e.trigger.value, e.to_level.label, e.reason] for e in created],
        )
