"""Council workbook downloads and the export history."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("exports", __name__, url_prefix="/exports")


def init_app(app: Flask) -> None:
    from riskreg.exports import views  # noqa: F401 - registers the routes on bp

    app.register_blueprint(bp)
