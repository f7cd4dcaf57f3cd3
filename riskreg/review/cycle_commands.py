"""`riskreg cycle`: the review cycle from the terminal, through the same operations as the cycle pages.

A closed cycle refuses here exactly as on the web (one line, non-zero exit): its narrative and decisions are
frozen, and a correction is an addendum, signed with the account given by --by.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import cast

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.cli import fail, system_actor
from riskreg.models import Decision, ReviewCycle, Risk, User

TEXT_MAX_BYTES = 64_000  # a narrative or an addendum read from --file; far above what the forms allow


def _session() -> Session:
    from riskreg.extensions import db

    return cast(Session, db.session)


def _cycle(session: Session, code: str) -> ReviewCycle:
    from riskreg.review import queries

    try:
        return queries.cycle_by_code(session, code)
    except queries.ReviewError:
        known = ", ".join(c.code for c in queries.cycles(session)) or "none"
        fail(f"no review cycle {code!r} (cycles: {known})")
        raise  # unreachable: fail() raises


def _signer(session: Session, email: str | None) -> tuple[audit.Actor, User | None]:
    """The account the command acts for (--by), or the command-line system actor."""
    if not email:
        return system_actor(), None
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.is_active:
        fail(f"--by {email}: no active user with that email")
        raise AssertionError  # unreachable
    return audit.Actor.of(user), user


def _text(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        fail("give the text with --text or --file (one of them)")
    if file is None:
        return text or ""
    try:
        raw = file.read_bytes()[: TEXT_MAX_BYTES + 1]
    except OSError as exc:
        fail(f"{file}: cannot read ({exc.strerror})")
        raise
    if len(raw) > TEXT_MAX_BYTES:
        fail(f"{file}: larger than {TEXT_MAX_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text")
        raise


@click.group("cycle")
def cycle_group() -> None:
    """Review cycles: narrative, decisions, closing and addenda."""


@cycle_group.command("narrative")
@click.argument("code")
@click.option("--text", help="The narrative.")
@click.option("--file", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Read it from FILE.")
@with_appcontext
def narrative_command(code: str, text: str | None, file: Path | None) -> None:
    """Write the narrative of cycle CODE (refused once the cycle is closed)."""
    from riskreg.review import operations
    from riskreg.risks.operations import StaleEdit

    session = _session()
    cycle = _cycle(session, code)
    body = _text(text, file)
    if len(body.strip()) > 8000:
        fail("the narrative may be 8000 characters long")
    try:
        operations.set_narrative(session, system_actor(), cycle, body, cycle.version)
    except (operations.CycleError, StaleEdit) as exc:
        session.rollback()
        fail(f"narrative refused: {exc}")
    click.echo(f"narrative of {cycle.code} saved")


@cycle_group.command("decide")
@click.argument("code")
@click.argument("ref")
@click.option("--decision", required=True, type=click.Choice([d.value for d in Decision]))
@click.option("--comment", default="", help="Why (required except for noted and validated).")
@click.option("--minute-ref", default="", help="Where the minutes record it.")
@click.option("--on", "decided_on", type=click.DateTime(["%Y-%m-%d"]), help="Decision date (default: today).")
@click.option("--by", "by_email", help="Record it in this user's name (email).")
@with_appcontext
def decide_command(
    code: str, ref: str, decision: str, comment: str, minute_ref: str, decided_on: object, by_email: str | None
) -> None:
    """Record a task force decision on risk REF in cycle CODE (refused once the cycle is closed)."""
    from datetime import datetime

    from riskreg.review import operations

    session = _session()
    cycle = _cycle(session, code)
    risk = session.scalars(select(Risk).where(Risk.ref == ref[:40], Risk.deleted_at.is_(None))).first()
    if risk is None:
        fail(f"no risk {ref!r}")
        return
    actor, _user = _signer(session, by_email)
    on = decided_on.date() if isinstance(decided_on, datetime) else None
    data = operations.DecisionInput(decision=Decision(decision), comment=comment, minute_ref=minute_ref, decided_on=on)
    try:
        operations.record_decision(session, actor, cycle, risk, data)
    except operations.CycleError as exc:
        session.rollback()
        fail(f"decision refused: {exc}")
    click.echo(f"{cycle.code}: {Decision(decision).label} recorded on {risk.ref}")


@cycle_group.command("close")
@click.argument("code")
@click.option("--before-dates", is_flag=True, help="Close even though the period or the meeting is still to come.")
@with_appcontext
def close_command(code: str, before_dates: bool) -> None:
    """Close cycle CODE and freeze the register (it needs its narrative)."""
    from riskreg.cli import progress_printer
    from riskreg.review import operations
    from riskreg.risks.operations import StaleEdit

    session = _session()
    cycle = _cycle(session, code)
    try:
        frozen = operations.close_cycle(
            session,
            system_actor(),
            cycle,
            cycle.version,
            progress=progress_printer("freezing"),
            confirmed_early=before_dates,
        )
    except operations.CycleNotDueError as exc:
        session.rollback()
        fail(f"not closed: {exc} (add --before-dates)")
        return
    except (operations.CycleError, StaleEdit) as exc:
        session.rollback()
        fail(f"not closed: {exc}")
        return
    click.echo(f"{cycle.code} closed: {frozen.risk_count} risks frozen, hash {frozen.content_hash[:16]}")


@cycle_group.command("addendum")
@click.argument("code")
@click.option("--by", "by_email", required=True, help="The signer (email of an active user).")
@click.option("--text", help="The correction.")
@click.option("--file", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Read it from FILE.")
@with_appcontext
def addendum_command(code: str, by_email: str, text: str | None, file: Path | None) -> None:
    """Append a dated addendum, signed by --by, to the minutes of closed cycle CODE."""
    from riskreg.access import Permission, has_permission
    from riskreg.review import operations

    session = _session()
    cycle = _cycle(session, code)
    actor, signer = _signer(session, by_email)
    if signer is None or not has_permission(signer, Permission.CYCLE_AMEND):
        fail(f"--by {by_email}: only a risk coordinator or a task force member signs an addendum")
        return
    try:
        added = operations.add_addendum(session, actor, cycle, _text(text, file), signer)
    except operations.CycleError as exc:
        session.rollback()
        fail(f"addendum refused: {exc}")
        return
    click.echo(f"addendum {added.number} appended to the minutes of {cycle.code} ({date.today():%d %b %Y})")
