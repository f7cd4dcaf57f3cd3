"""Pages of the imports feature."""

from __future__ import annotations

from flask import render_template

from riskreg.access import Permission, requires
from riskreg.imports import bp


@bp.route("/")
@requires(Permission.APPETITE_READ)
def index() -> str:
    return render_template("errors/error.html", code=501, title="Coming soon", text="This page is being built.")
