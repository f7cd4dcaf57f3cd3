"""The register: risks, assessments, controls, actions, and the home page."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("risks", __name__)


def init_app(app: Flask) -> None:
    from riskreg.risks import views  # noqa: F401 - registers the routes on bp

    app.register_blueprint(bp)
