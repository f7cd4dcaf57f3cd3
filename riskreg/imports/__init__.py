"""Importing a department's existing Excel register: upload, preview, apply."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("imports", __name__, url_prefix="/import")


def init_app(app: Flask) -> None:
    from riskreg.imports import views  # noqa: F401 - registers the routes on bp

    app.register_blueprint(bp)
