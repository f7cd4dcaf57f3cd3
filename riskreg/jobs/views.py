"""Pages of a background job: its state and progress (refreshing itself until it ends), and a finished export's file.

A job is shown to the person who asked for it only (anyone else gets 404, like another unit's risk); a kept
Council export is downloadable by anyone who may export, as the export history lists it for all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from flask import Blueprint, abort, current_app, render_template, send_file
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from riskreg.access import Permission, requires
from riskreg.extensions import db
from riskreg.jobs import board_of
from riskreg.jobs.runners import export_folder
from riskreg.models import Job, JobStatus, utcnow
from riskreg.risks import lookup

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_LINKS = {"import": ("imports.index", "Back to imports"), "export": ("exports.index", "Back to exports")}


def _own(job_id: int) -> Job:
    job = cast(Session, db.session).get(Job, job_id)
    if job is None or job.requested_by_id != lookup.user().id:
        abort(404)
    return job


@bp.route("/<int:job_id>")
@requires(Permission.SESSION)
def show(job_id: int) -> str:
    job = _own(job_id)
    done, total = board_of(current_app).read(job)
    percent = 100 if job.status == JobStatus.DONE else (int(100 * done / total) if total else 0)
    return render_template(
        "jobs/show.html",
        job=job,
        done=done,
        total=total,
        percent=percent,
        link=_LINKS.get(job.kind),
        downloadable=_kept_file(job) is not None,
        preview_token=_released_upload(job),
    )


def _released_upload(job: Job) -> str | None:
    """A failed import's upload token: the failure gave the upload back, so its preview can be opened again."""
    if job.kind != "import" or job.status != JobStatus.FAILED:
        return None
    token = json.loads(job.payload_json).get("token")
    return token if isinstance(token, str) else None


@bp.route("/<int:job_id>/download")
@requires(Permission.EXPORT_COUNCIL)
def download(job_id: int) -> Response:
    job = cast(Session, db.session).get(Job, job_id)
    path = _kept_file(job) if job is not None else None
    if job is None or path is None:
        abort(404)
    name = job.result_ref.partition("|")[2] or "council.xlsx"
    response = send_file(path, mimetype=XLSX, as_attachment=True, download_name=name, etag=False, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _kept_file(job: Job) -> Path | None:
    """The finished export's file while it is kept, else None."""
    if job.kind != "export" or job.status != JobStatus.DONE or not job.result_ref:
        return None
    if job.expires_at is not None and job.expires_at < utcnow():
        return None
    path = export_folder(current_app) / job.result_ref.partition("|")[0]
    return path if path.is_file() else None
