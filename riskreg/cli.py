"""The `riskreg` command: a Flask CLI group whose commands call the same operations as the views.

Errors are one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from riskreg import audit


def _create_app() -> Flask:
    from flask.cli import NoAppException

    from riskreg import ConfigurationError, create_app

    try:
        # No key needed to list commands or to run `setup`, which writes it (a fresh install has none).
        return create_app(require_secret_key=False)
    except ConfigurationError as exc:
        # Flask's CLI prints a NoAppException as one line; anything else as a traceback.
        raise NoAppException(str(exc)) from exc


class _RiskRegGroup(FlaskGroup):
    """Flask's command group, with database errors told in one line (e.g. a command run before `setup`)."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            first_line = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            raise click.ClickException(
                f"database error: {first_line} (run `riskreg setup` first on a new installation)"
            ) from exc


@click.group(cls=_RiskRegGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """RiskReg: the enterprise risk register."""


def init_app(app: Flask) -> None:
    # Feature commands live beside their feature; imported here, they import nothing heavy at module level.
    from riskreg.backups.commands import backup_command, restore_command
    from riskreg.exports.commands import export_group
    from riskreg.imports.commands import import_group
    from riskreg.jobs.commands import worker_command
    from riskreg.oversight.commands import recommendations_group
    from riskreg.review.commands import heatmap_command
    from riskreg.review.cycle_commands import cycle_group
    from riskreg.statements.commands import escalations_command, load_command

    appetite_group.add_command(load_command)
    appetite_group.add_command(escalations_command)
    for command in (
        setup,
        appetite_group,
        demo,
        user_group,
        heatmap_command,
        export_group,
        import_group,
        worker_command,
    ):
        app.cli.add_command(command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(cycle_group)
    app.cli.add_command(recommendations_group)


def fail(message: str) -> None:
    """Stop the command with a one-line error and exit status 1."""
    raise click.ClickException(message)


def system_actor() -> audit.Actor:
    return audit.Actor(user_id=None, email="cli:" + (os.environ.get("USER") or "system"), role="system")


def progress_printer(label: str) -> Callable[[int, int], None]:
    """A progress callback printing 'label: done/total (pct%)' on one line to stderr."""

    def report(done: int, total: int) -> None:
        pct = 100 * done // total if total else 100
        click.echo(f"\r{label}: {done:,}/{total:,} ({pct}%)", nl=done >= total, err=True)

    return report


@click.command("setup")
@click.option("--demo/--no-demo", default=True, help="Load the demo organisation when the database is empty.")
@with_appcontext
def setup(demo: bool) -> None:
    """Prepare an installation: secret key, database schema, policy data, demo data if the database is empty.

    Safe to run again: an existing key is kept, migrations run only if the schema is behind.
    """
    from flask_migrate import upgrade

    from riskreg.extensions import db
    from riskreg.models import Risk
    from riskreg.policy import load_bundled_policy

    if not current_app.config.get("SECRET_KEY"):
        key_file = ensure_secret_key(current_app.instance_path)
        current_app.config["SECRET_KEY"] = key_file.read_text(encoding="utf-8").strip()
        click.echo(f"secret key: {key_file}")
    upgrade()
    load_bundled_policy(db.session(), system_actor())
    db.session.commit()
    if demo and db.session.scalar(select(func.count()).select_from(Risk)):
        _remind_demo_logins()
        return
    if demo:
        from riskreg.demo import DemoError, load_demo, print_logins

        try:
            result = load_demo(db.session(), risks=60, seed=2026, progress=progress_printer("demo risks"))
        except DemoError:
            db.session.rollback()
            click.echo("demo skipped: the database already holds data")
            return
        print_logins(result)


def _remind_demo_logins() -> None:
    """On later runs of `make run`, say again how to sign in to an existing demo database."""
    from riskreg.demo.content import DEMO_PASSWORD
    from riskreg.extensions import db
    from riskreg.models import User

    demo_users = db.session.scalars(select(User).where(User.email.like("%@demo.riskreg.org")).order_by(User.id)).all()
    if demo_users:
        emails = ", ".join(u.email for u in demo_users[:6])
        click.echo(f"Demo logins (password {DEMO_PASSWORD}): {emails}, and focal.<unit>@demo.riskreg.org")


def ensure_secret_key(instance_path: str) -> Path:
    """Write instance/secret_key once (random, 0600) so a fresh install is secure without set-up."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    key_file = folder / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file


@click.command("init-secret", hidden=True)
def init_secret() -> None:
    """Create instance/secret_key if missing (used by `make run` before the app can start)."""
    from flask import Flask as _Flask

    path = os.environ.get("RISKREG_INSTANCE_PATH") or _Flask("riskreg").instance_path
    click.echo(ensure_secret_key(path))


main.add_command(init_secret)


# --------------------------------------------------------------------------- appetite


@click.group("appetite")
def appetite_group() -> None:
    """Load or export risk appetite statements (TOML)."""


@appetite_group.command("export")
@click.argument("version")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
def appetite_export(version: str, out: Path | None) -> None:
    """Write statement VERSION as TOML."""
    from riskreg.appetite import dump_statement
    from riskreg.extensions import db
    from riskreg.models import AppetiteStatement
    from riskreg.policy import to_pure

    row = db.session.scalars(select(AppetiteStatement).where(AppetiteStatement.version == version)).first()
    if row is None:
        versions = ", ".join(db.session.scalars(select(AppetiteStatement.version).order_by(AppetiteStatement.id)))
        fail(f"no statement version {version!r} (known: {versions or 'none'})")
        return
    text = dump_statement(to_pure(row))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)


# --------------------------------------------------------------------------- demo


@click.command("demo")
@click.option("--risks", "risk_count", type=click.IntRange(1, 200_000), default=60, show_default=True)
@click.option("--seed", type=int, default=2026, show_default=True)
@with_appcontext
def demo(risk_count: int, seed: int) -> None:
    """Load a realistic demo organisation (into an empty database only)."""
    from riskreg.demo import DemoError, load_demo, print_logins
    from riskreg.extensions import db
    from riskreg.policy import load_bundled_policy

    try:
        load_bundled_policy(db.session(), system_actor())
        db.session.commit()
        result = load_demo(db.session(), risks=risk_count, seed=seed, progress=progress_printer("demo risks"))
    except DemoError as exc:
        db.session.rollback()
        fail(str(exc))
        return
    print_logins(result)


# --------------------------------------------------------------------------- users


@click.group("user")
def user_group() -> None:
    """Manage user accounts."""


@user_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "coordinator", "taskforce", "secretariat", "focal_point", "viewer"]),
)
@click.option("--unit", "unit_code", help="Org unit code (required for focal points).")
@click.option("--name", default="", help="Display name (default: the part of the email before @).")
@click.option("--title", default="", help="Functional title shown in exports.")
@with_appcontext
def user_create(email: str, role: str, unit_code: str | None, name: str, title: str) -> None:
    """Create a user; the password comes from RISKREG_PASSWORD or a hidden prompt."""
    from riskreg.auth.operations import UserData, UserError, create_user
    from riskreg.extensions import db
    from riskreg.models import Role

    password = os.environ.get("RISKREG_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            fail("no password: set RISKREG_PASSWORD or run in a terminal to be prompted")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    data = UserData(
        email=email,
        name=name or email.split("@")[0],
        title=title or Role(role).label,
        role=Role(role),
        unit_code=unit_code,
    )
    try:
        user = create_user(db.session(), system_actor(), data, password or "")
    except UserError as exc:
        db.session.rollback()
        fail(str(exc))
        return
    click.echo(f"created {user.email} ({user.role.label})")


def echo_table(headers: list[str], rows: list[list[Any]]) -> None:
    """Print a plain-text table (for previews in the terminal)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    widths = [min(w, 60) for w in widths]
    click.echo("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo("  ".join(str(v)[:w].ljust(w) for v, w in zip(row, widths, strict=True)))


__all__ = ["current_app", "echo_table", "fail", "main", "progress_printer", "system_actor"]
