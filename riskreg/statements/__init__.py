"""The risk appetite statement: versions, drafting, endorsement, what-if, breaches."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("statements", __name__, url_prefix="/appetite")


def init_app(app: Flask) -> None:
    from riskreg.statements import response_views, views  # noqa: F401 - register the routes on bp

    app.register_blueprint(bp)
