"""Pages of the imports feature: upload, preview (a table of what would change), apply or cancel.

Thin: the importer reads, `plan_for_unit` previews, `apply_import` writes. Between the preview and the
apply nothing is kept in process memory: the upload is stored under a random token (uploads.py) and the
apply reads and plans it again, so it writes exactly what the database now implies, and refuses when that
differs from what the user saw. A refused file is a 400 with the reason beside the file field, never a 500.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from riskreg import jobs
from riskreg.access import Permission, requires, sees_all_units
from riskreg.importer import (
    FIELD_LABELS,
    ImportPlan,
    ImportRejected,
    ImportResult,
    Limits,
    parse_mapping,
    read_register,
)
from riskreg.imports import bp, forms, preview, queries, uploads
from riskreg.imports.operations import clean_file_name, plan_for_unit
from riskreg.models import OrgUnit
from riskreg.risks import lookup
from riskreg.risks import queries as risk_queries
from riskreg.web import current_actor

Page = Response | str | tuple[str, int]
MAPPING_MAX_BYTES = 64 * 1024
UPLOAD_DIR = "imports"


def _folder() -> Path:
    # IMPORT_UPLOAD_DIR is relative to the instance folder (an absolute path also works), like HEATMAP_CACHE_DIR.
    return Path(current_app.instance_path) / str(current_app.config.get("IMPORT_UPLOAD_DIR", UPLOAD_DIR))


def _limits() -> Limits:
    return Limits(max_bytes=int(current_app.config["IMPORT_MAX_BYTES"]))


def _own_unit() -> OrgUnit | None:
    """The focal point's unit (None for coordinators, who choose); 403 for a focal point without one."""
    user = lookup.user()
    if sees_all_units(user):
        return None
    unit = queries.import_unit(lookup.session(), user, None)
    if unit is None:
        abort(403)
    return unit


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.IMPORT_REGISTER)
def index() -> Page:
    user = lookup.user()
    own = _own_unit()
    form = forms.UploadForm()
    if own is not None:
        del form.unit  # focal points import into their own unit only; nothing posted can change that
    else:
        units = risk_queries.unit_options(lookup.session(), user, active_only=True)
        form.unit.choices = [("", "— choose a unit —"), *units]
    if form.validate_on_submit():
        unit = own or queries.import_unit(lookup.session(), user, form.unit.data)
        if unit is None:
            form.unit.errors = ["Choose one of the units."]
        else:
            return _upload(form, unit)
    return _upload_page(form, own, 400 if request.method == "POST" else 200)


def _upload_page(form: forms.UploadForm, own: OrgUnit | None, status: int) -> tuple[str, int]:
    runs = queries.recent_runs(lookup.session(), lookup.user())
    limit_mb = int(current_app.config["IMPORT_MAX_BYTES"]) / (1024 * 1024)
    return render_template("imports/index.html", form=form, own=own, runs=runs, limit_mb=limit_mb), status


def _upload(form: forms.UploadForm, unit: OrgUnit) -> Page:
    storage = form.file.data
    file_name = clean_file_name(getattr(storage, "filename", "") or "")
    data = forms.file_bytes(storage, _limits().max_bytes)
    try:
        mapping = _mapping(form.mapping.data)
    except ImportRejected as refusal:
        form.mapping.errors = [refusal.message]
        return _upload_page(form, None if sees_all_units(lookup.user()) else unit, 400)
    sheet = form.sheet.data or None
    try:
        result = read_register(data, file_name, lookup.scales(), sheet=sheet, mapping=mapping, limits=_limits())
    except ImportRejected as refusal:
        form.file.errors = [refusal.message]
        return _upload_page(form, None if sees_all_units(lookup.user()) else unit, 400)
    plan = plan_for_unit(lookup.session(), unit, result)
    uploads.sweep(_folder())
    upload = uploads.store(
        _folder(),
        data,
        uploads.StoredUpload(
            token=uploads.new_token(),
            unit_code=unit.code,
            file_name=file_name,
            sha256=result.sha256,
            uploader_id=lookup.user().id,
            created=time.time(),
            sheet=sheet,
            mapping=mapping,
            counts=plan.counts(),
        ),
    )
    return _preview_page(upload, unit, result, plan)


def _mapping(storage: object) -> dict[str, str] | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    raw = forms.file_bytes(storage, MAPPING_MAX_BYTES)
    if len(raw) > MAPPING_MAX_BYTES:
        raise ImportRejected(f"The column mapping file is larger than {MAPPING_MAX_BYTES // 1024} KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected("The column mapping file is not UTF-8 text.") from None
    return parse_mapping(text)


# ---------------------------------------------------------------------------------------------- stored uploads


def _stored(token: str) -> tuple[uploads.StoredUpload, bytes, OrgUnit]:
    """The user's own stored upload and its unit, or 404 (unknown, expired, someone else's, out of scope)."""
    found = uploads.load(_folder(), token)
    if found is None:
        abort(404)
    upload, data = found
    user = lookup.user()
    unit = queries.import_unit(lookup.session(), user, upload.unit_code)
    if upload.uploader_id != user.id or unit is None:
        abort(404)
    return upload, data, unit


def _replan(upload: uploads.StoredUpload, data: bytes, unit: OrgUnit) -> tuple[ImportResult, ImportPlan]:
    result = read_register(
        data, upload.file_name, lookup.scales(), sheet=upload.sheet, mapping=upload.mapping, limits=_limits()
    )
    return result, plan_for_unit(lookup.session(), unit, result)


def _refused_later(token: str, refusal: ImportRejected) -> Response:
    # The same bytes were accepted at upload; a refusal now means the server's settings changed.
    uploads.discard(_folder(), token)
    flash(refusal.message, "error")
    return redirect(url_for("imports.index"), 303)


@bp.route("/<token>")
@requires(Permission.IMPORT_REGISTER)
def show(token: str) -> Page:
    upload, data, unit = _stored(token)
    try:
        result, plan = _replan(upload, data, unit)
    except ImportRejected as refusal:
        return _refused_later(token, refusal)
    if plan.counts() != upload.counts:
        upload = uploads.with_counts(_folder(), upload, plan.counts())  # apply compares with what was shown last
    page = request.args.get("page", "1")
    number = int(page) if page.isdecimal() and len(page) < 7 else 1
    return _preview_page(upload, unit, result, plan, request.args.get("show", "all"), number)


@bp.route("/apply", methods=["POST"])
@requires(Permission.IMPORT_REGISTER)
def apply() -> Page:
    """Hand the previewed upload to a background job; its page shows the progress, then the result.

    The job plans the file again under the unit's lock and writes only if the import still does what this
    preview showed (riskreg/imports/operations.py `apply_file`); otherwise it says what changed.
    """
    form = forms.TokenForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data or ""
    upload, data, unit = _stored(token)
    if upload.counts.get("error"):
        try:
            result, plan = _replan(upload, data, unit)
        except ImportRejected as refusal:
            return _refused_later(token, refusal)
        text = "Nothing was written: the file has rows with errors. Correct them and upload the file again."
        return _preview_page(upload, unit, result, plan, notice=("bad", text), status=400)
    if not uploads.claim(_folder(), token):
        abort(404)  # applied (or being applied) by another request for the same upload: the claim is the guard
    job_id = jobs.submit(
        lookup.session(), current_actor(), "import", {"token": token, "unit": unit.code, "file_name": upload.file_name}
    )
    return redirect(url_for("jobs.show", job_id=job_id), 303)


@bp.route("/cancel", methods=["POST"])
@requires(Permission.IMPORT_REGISTER)
def cancel() -> Page:
    form = forms.TokenForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data or ""
    _stored(token)
    uploads.discard(_folder(), token)
    flash("Import cancelled: the uploaded file was deleted and nothing was written.", "info")
    return redirect(url_for("imports.index"), 303)


def _preview_page(
    upload: uploads.StoredUpload,
    unit: OrgUnit,
    result: ImportResult,
    plan: ImportPlan,
    show: str = "all",
    page: int = 1,
    *,
    notice: tuple[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    errors = plan.errors
    return render_template(
        "imports/preview.html",
        upload=upload,
        unit=unit,
        result=result,
        plan=plan,
        counts=plan.counts(),
        page=preview.page_of(plan, show, page),
        shows=preview.SHOWS,
        errors=errors[: preview.MAX_ERRORS_SHOWN],
        error_total=len(errors),
        field_labels=FIELD_LABELS,
        notice=notice,
    ), status
