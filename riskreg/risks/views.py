"""Pages of the register."""

from __future__ import annotations

from flask import render_template

from riskreg.access import Permission, requires
from riskreg.risks import bp


@bp.route("/")
@requires(Permission.APPETITE_READ)
def home() -> str:
    return render_template("errors/error.html", code=200, title="Home", text="Home page.")


@bp.route("/risks")
@requires(Permission.RISK_READ)
def index() -> str:
    return render_template("errors/error.html", code=200, title="Register", text="Register.")
