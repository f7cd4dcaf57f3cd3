"""What each kind of job does: open the stored input, call the same operation a view or command would, report.

Each runner gets a `Run` (the app, a session of its own, the job, its payload and a progress callback) and
returns an `Outcome`, or raises `JobFailed` with a message for the person who asked, after making sure nothing
was left half-done (the operations are all-or-nothing; runners only release what they hold, like an upload).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from riskreg.models import Job, OrgUnit


class JobFailed(Exception):  # noqa: N818 - an outcome, not a program error
    """The job cannot be done; `message` tells its owner why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Run:
    app: Flask
    session: Session
    job: Job
    payload: dict[str, Any]
    progress: Callable[[int, int], None]


@dataclass(frozen=True)
class Outcome:
    result_ref: str = ""
    message: str = ""
    keep: timedelta | None = None


Runner = Callable[[Run], Outcome]


def upload_folder(app: Flask) -> Path:
    return Path(app.instance_path) / str(app.config.get("IMPORT_UPLOAD_DIR", "imports"))


def export_folder(app: Flask) -> Path:
    return Path(app.instance_path) / str(app.config["EXPORT_JOB_DIR"])


# ---------------------------------------------------------------------------------------------- import apply


def import_apply(run: Run) -> Outcome:
    """Apply a previewed upload (claimed by the web request that asked): planned again under the unit's lock."""
    from riskreg.importer import ImportRejected, Limits, read_register
    from riskreg.imports import uploads
    from riskreg.imports.operations import ImportRaced, apply_file
    from riskreg.jobs.operations import payload_actor
    from riskreg.policy import current_scales
    from riskreg.risks.operations import RuleViolation, StaleEdit

    folder, token = upload_folder(run.app), str(run.payload["token"])
    found = uploads.load(folder, token, claimed=True)
    if found is None:
        raise JobFailed("The uploaded file is no longer here (it expired or was cancelled); nothing was written.")
    upload, data = found
    unit = run.session.scalars(select(OrgUnit).where(OrgUnit.code == upload.unit_code)).first()
    if unit is None:
        uploads.release(folder, token)
        raise JobFailed(f"Unit {upload.unit_code} no longer exists; nothing was written.")
    scales = current_scales(run.session)
    run.session.commit()  # reading the file takes seconds: no transaction (no SQLite write lock) meanwhile
    limits = Limits(max_bytes=int(run.app.config["IMPORT_MAX_BYTES"]))
    try:
        result = read_register(
            data, upload.file_name, scales, sheet=upload.sheet, mapping=upload.mapping, limits=limits
        )
        imported = apply_file(
            run.session,
            payload_actor(run.payload),
            unit,
            result,
            seen=upload.counts,
            scales=scales,
            progress=run.progress,
            idempotency_key=f"job:{run.job.id}",
        )
    except ImportRaced as raced:
        uploads.release(folder, token)
        raise JobFailed(str(raced)) from None
    except ImportRejected as refusal:
        uploads.release(folder, token)
        raise JobFailed(f"Nothing was written: {refusal.message}") from None
    except RuleViolation as problem:
        uploads.release(folder, token)
        raise JobFailed(f"Nothing was written: {problem}") from None
    except (StaleEdit, StaleDataError, IntegrityError):
        uploads.release(folder, token)
        changed = "Nothing was written: someone changed the register while the import ran. Apply it again."
        raise JobFailed(changed) from None
    uploads.discard(folder, token)
    return Outcome(
        result_ref=f"import_run:{imported.id}",
        message=f"Imported {upload.file_name} into {unit.code}: {imported.summary}.",
    )


def import_abandoned(app: Flask, job: Job) -> None:
    """An import job given up after its workers died: its upload goes back to the user (nothing was written)."""
    from riskreg.imports import uploads

    uploads.release(upload_folder(app), str(json.loads(job.payload_json).get("token", "")))


# ---------------------------------------------------------------------------------------------- council export


def council_export(run: Run) -> Outcome:
    """Build the Council workbook, keep the file for EXPORT_KEEP_HOURS, log it in the export history."""
    from riskreg.exports import operations as exports
    from riskreg.jobs.operations import payload_actor

    p = run.payload
    code = str(p.get("cycle", ""))
    cycle = None if code == exports.NOW else exports.find_cycle(run.session, code)
    if code != exports.NOW and cycle is None:
        raise JobFailed(f"Cycle {code} is not a closed cycle any more; nothing was exported.")

    def sheets(done: int, total: int, _sheet: str) -> None:
        run.progress(done, total)

    try:
        result = exports.build_council_export(
            run.session,
            payload_actor(p),
            cycle=cycle,
            audience=str(p.get("audience", "")),
            symbol=str(p.get("symbol", "")),
            annex=str(p.get("annex", "")),
            classification=str(p.get("classification", "")),
            prepared_by=str(p.get("prepared_by", "")),
            progress=sheets,
            organisation=str(run.app.config["ORGANISATION"]),
            organisation_short=str(run.app.config["ORGANISATION_SHORT"]),
        )
    except exports.ExportError as problem:
        run.session.rollback()
        raise JobFailed(f"Nothing was exported: {problem}") from None
    folder = export_folder(run.app)
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{run.job.id}-{secrets.token_hex(8)}.xlsx"  # never the user's text: the download name is data
    temporary = folder / f"{stored}.tmp"
    temporary.write_bytes(result.data)
    temporary.replace(folder / stored)
    keep = timedelta(hours=float(run.app.config["EXPORT_KEEP_HOURS"]))
    return Outcome(result_ref=f"{stored}|{result.file_name}", message=f"{result.file_name} is ready.", keep=keep)


def sweep_exports(app: Flask, session: Session) -> int:
    """Delete kept export files whose time is up; returns how many went."""
    from riskreg.models import JobStatus, utcnow

    removed = 0
    expired = session.scalars(
        select(Job).where(Job.kind == "export", Job.status == JobStatus.DONE, Job.expires_at < utcnow())
    ).all()
    for job in expired:
        stored = job.result_ref.partition("|")[0]
        if stored:
            (export_folder(app) / stored).unlink(missing_ok=True)
            removed += 1
    return removed


# ---------------------------------------------------------------------------------------------- daily and heatmaps


def daily(run: Run) -> Outcome:
    """The daily run: expire lapsed acceptances, propose the escalations the triggers call for."""
    from riskreg.jobs.operations import payload_actor
    from riskreg.statements.responses import expire_acceptances
    from riskreg.statements.triggers import escalation_candidates

    day = date.fromisoformat(str(run.payload.get("day") or date.today().isoformat()))
    actor = payload_actor(run.payload)
    try:
        expired = expire_acceptances(run.session, actor, day)
        created = escalation_candidates(run.session, actor, day)
    except LookupError as problem:
        run.session.rollback()
        raise JobFailed(str(problem)) from None
    removed = sweep_exports(run.app, run.session)
    return Outcome(message=f"{expired} acceptance(s) expired; {len(created)} escalation(s) proposed; "
                   f"{removed} old export file(s) removed.")  # fmt: skip


def heatmaps(run: Run) -> Outcome:
    """Draw a closed cycle's heatmaps (residual, inherent, target) into the shared image cache."""
    from riskreg import heatmap
    from riskreg.review import heatcache, queries

    code = str(run.payload.get("cycle", ""))
    try:
        cycle = queries.cycle_by_code(run.session, code)
        data = queries.load_cycle(run.session, cycle)
    except queries.ReviewError:
        raise JobFailed(f"Cycle {code} is not there any more.") from None
    cache = heatcache.cache_for(run.app)
    kinds: tuple[heatmap.Kind, ...] = ("residual", "inherent", "target")
    drawn = 0
    for n, kind in enumerate(kinds, start=1):
        review = queries.ReviewRequest(cycle=code, options=queries.HeatOptions(kind=kind))
        view = queries.build_heatmap(data, review, str(run.app.config["ORGANISATION_SHORT"]))
        if cache.get(view.key, "png") is None:
            cache.put(view.key, "png", heatmap.render_png(view.spec))
            drawn += 1
        run.progress(n, len(kinds))
    return Outcome(message=f"{drawn} heatmap(s) of {code} drawn ahead of the first visit.")


RUNNERS: dict[str, Runner] = {
    "import": import_apply,
    "export": council_export,
    "daily": daily,
    "heatmaps": heatmaps,
}
ABANDON: dict[str, Callable[[Flask, Job], None]] = {"import": import_abandoned}
