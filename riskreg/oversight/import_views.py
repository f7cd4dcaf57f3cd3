"""Import of a recommendations list: upload and preview, then apply (all or nothing) or cancel.

The upload is kept on disk between preview and apply with the register import's store (imports/uploads.py);
apply re-reads and re-plans the stored bytes, and refuses if the plan differs from the preview shown.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from riskreg.access import Permission, requires
from riskreg.extensions import db
from riskreg.importer import ImportRejected, Limits
from riskreg.imports import uploads
from riskreg.imports.forms import file_bytes
from riskreg.imports.operations import clean_file_name
from riskreg.oversight import bp, importing, operations, queries
from riskreg.oversight.forms import ApplyForm, ImportForm
from riskreg.web import current_actor, signed_in_user


def _session() -> Session:
    return cast(Session, db.session)


def _folder() -> Path:
    base = Path(current_app.instance_path) / str(current_app.config.get("IMPORT_UPLOAD_DIR", "imports"))
    return base / "oversight"


def _limits() -> Limits:
    return Limits(max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]))


def plan_for(read: importing.ReadList) -> importing.Plan:
    return queries.plan_list(_session(), read)


@bp.route("/import", methods=["GET", "POST"])
@requires(Permission.OVERSIGHT_MANAGE)
def import_upload() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("oversight/import.html", form=form), (400 if form.errors else 200)
    storage = form.file.data
    file_name = clean_file_name(getattr(storage, "filename", "") or "")
    data = file_bytes(storage, _limits().max_bytes)
    try:
        read = importing.read_list(data, file_name, _limits())
    except ImportRejected as refusal:
        form.file.errors = [refusal.message]
        return render_template("oversight/import.html", form=form), 400
    plan = plan_for(read)
    uploads.sweep(_folder())
    upload = uploads.store(
        _folder(),
        data,
        uploads.StoredUpload(
            token=uploads.new_token(),
            unit_code="",
            file_name=file_name,
            sha256=read.sha256,
            uploader_id=signed_in_user().id,
            created=time.time(),
            counts=plan.counts(),
        ),
    )
    return _preview(upload, plan)


def _preview(upload: uploads.StoredUpload, plan: importing.Plan, notice: str = "", status: int = 200) -> Any:
    form = ApplyForm(token=upload.token)
    page = render_template("oversight/import_preview.html", upload=upload, plan=plan, form=form, notice=notice)
    return page, status


def _stored(token: str) -> tuple[uploads.StoredUpload, bytes]:
    found = uploads.load(_folder(), token)
    if found is None or found[0].uploader_id != signed_in_user().id:
        abort(404)
    return found


@bp.post("/import/apply")
@requires(Permission.OVERSIGHT_MANAGE)
def import_apply() -> Any:
    form = ApplyForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data or ""
    upload, data = _stored(token)
    try:
        plan = plan_for(importing.read_list(data, upload.file_name, _limits()))
    except ImportRejected:
        abort(400)
    if not plan.ok:
        return _preview(
            upload, plan, "Nothing was written: the list has errors. Correct them and upload it again.", 400
        )
    if plan.counts() != upload.counts:
        upload = uploads.with_counts(_folder(), upload, plan.counts())
        text = "Nothing was written: the recommendations changed since your preview. Check this preview, then apply."
        return _preview(upload, plan, text, 409)
    if not uploads.claim(_folder(), token):
        abort(404)
    try:
        outcome = operations.apply_import(_session(), current_actor(), plan, upload.file_name)
    except (operations.OversightError, StaleDataError, IntegrityError, operations.StaleEdit) as problem:
        _session().rollback()
        uploads.release(_folder(), token)
        return _preview(upload, plan, f"Nothing was written: {problem}", 409)
    except Exception:
        uploads.release(_folder(), token)
        raise
    uploads.discard(_folder(), token)
    flash(
        f"Imported {upload.file_name}: {outcome.created} new, {outcome.updated} updated, "
        f"{outcome.unchanged} unchanged.",
        "success",
    )
    return redirect(url_for("oversight.index"), 303)
