"""`riskreg heatmap`: one cycle's heatmap written to a PNG or SVG file, drawn like the review page draws it."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from riskreg.cli import fail


@click.command("heatmap")
@click.option("--cycle", "cycle_code", required=True, help="Review cycle code, e.g. 2026-Q3.")
@click.option("--kind", type=click.Choice(["residual", "inherent", "target"]), default="residual", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.png or FILE.svg")
@click.option("--unit", default="", help="Only this unit's risks (unit code).")
@click.option("--category", default="", help="Only this category's risks (category code).")
@click.option("--zone", type=click.Choice(["within_appetite", "above_appetite", "outside_tolerance", "not_evaluated"]))
@click.option("--nature", type=click.Choice(["threat", "opportunity", "all"]), default="threat", show_default=True)
@click.option("--arrows/--no-arrows", default=False, help="Arrows from each risk's position in the previous cycle.")
@click.option("--overlay", default="", help="Outline the cells by this category's appetite (category code).")
@click.option("--colourblind", is_flag=True, help="Use the colour-blind safe palette.")
@click.option("--dpi", type=click.IntRange(50, 600), default=150, show_default=True, help="PNG resolution.")
@with_appcontext
def heatmap_command(
    cycle_code: str,
    kind: str,
    out: Path,
    unit: str,
    category: str,
    zone: str | None,
    nature: str,
    arrows: bool,
    overlay: str,
    colourblind: bool,
    dpi: int,
) -> None:
    """Write the heatmap of review cycle CODE to --out (.png or .svg)."""
    from riskreg import heatmap
    from riskreg.extensions import db
    from riskreg.review import queries
    from riskreg.review.operations import CycleError

    session = cast(Session, db.session)

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        fail(f"{out}: the file name must end in .png or .svg")
    if not out.parent.is_dir():
        fail(f"{out.parent}: no such folder")
    review = queries.ReviewRequest(
        cycle=cycle_code,
        filters=queries.HeatFilters(unit=unit, category=category, zone=zone or "", nature=nature),
        options=queries.HeatOptions(
            kind=kind,  # type: ignore[arg-type]  # click.Choice checked it
            arrows=arrows,
            overlay=overlay,
            palette="colourblind" if colourblind else "standard",
        ),
    )
    try:
        cycle = queries.cycle_by_code(session, cycle_code)
        queries.check_codes(session, review)
        data = queries.load_cycle(session, cycle)
    except (queries.ReviewError, CycleError) as exc:
        known = ", ".join(c.code for c in queries.cycles(session)) or "none"
        fail(f"{exc} (cycles: {known})" if "cycle" in str(exc) else str(exc))
        return
    view = queries.build_heatmap(data, review, current_app.config["ORGANISATION_SHORT"])
    body = heatmap.render_png(view.spec, dpi=dpi) if fmt == "png" else heatmap.render_svg(view.spec)
    try:
        out.write_bytes(body)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror})")
    click.echo(f"wrote {out}: {kind} heatmap of {cycle.code}, {len(view.rows)} risks, {len(body):,} bytes", err=True)
