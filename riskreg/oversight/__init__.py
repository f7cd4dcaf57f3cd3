"""Recommendations of oversight bodies (JIU, External Auditor, audit committee, internal audit), linked to risks.

summary.py     pure: counts by type and status, the task force's sentence
operations.py  writes: recommendations, status updates (append-only history), links to risks
queries.py     reads in scope: the register, a recommendation, summaries (now or as at a date), the standing section
importing.py   a recommendations list (.xlsx/.csv) read with the register import's reader and safety checks
views.py, forms.py, commands.py
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def init_app(app: Flask) -> None:
    from riskreg.oversight import import_views, views  # noqa: F401 - register the routes on bp

    app.register_blueprint(bp)
