"""The demo organisation: `riskreg demo` and `riskreg setup` load it into an empty database.

A fictitious intergovernmental organisation (IUCS) with its departments, bureaux and regional offices, one
login per role, a register of realistic risks with three review cycles of history, and as many generated
risks as a benchmark asks for. Deterministic for a given seed.
"""

from __future__ import annotations

import click

from riskreg.demo.build import DemoError, DemoLogin, DemoResult, load_demo


def print_logins(result: DemoResult) -> None:
    """Print the demo logins once, with the shared demo password and what was loaded."""
    from riskreg.cli import echo_table

    counts = result.counts
    click.echo(
        f"Demo organisation loaded (seed {result.seed}): {counts.get('risks', 0):,} risks, "
        f"{counts.get('assessments', 0):,} assessments, {counts.get('actions', 0):,} actions, "
        f"{counts.get('cycles', 0)} review cycles in {result.seconds:.1f} s."
    )
    click.echo("")
    echo_table(
        ["email", "role", "unit", "password"],
        [[login.email, login.role, login.unit or "(all units)", result.password] for login in result.logins],
    )
    click.echo("")
    click.echo("These are demo accounts with a published password: do not load the demo into a production database.")


__all__ = ["DemoError", "DemoLogin", "DemoResult", "load_demo", "print_logins"]
