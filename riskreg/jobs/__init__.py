"""Background jobs: the queue instance (Huey) and the task functions, each running an operation in its own session.

A job is an operation run elsewhere. The web (or CLI) records the job in the jobs table and puts only its id on
the queue; a worker (`riskreg worker`) takes the id, claims the job, runs the operation with its own app context
and session, and records progress and the outcome where every process reads them. The queue's storage:

- embedded default: SqliteHuey in the instance folder (`JOBS_QUEUE_URL` empty), for one machine with nothing else
  installed; `make run` starts one worker beside gunicorn;
- distributed: `JOBS_QUEUE_URL=redis://host:6379/0` (RedisHuey), with PostgreSQL, and workers on as many
  machines as needed;
- tests: `JOBS_IMMEDIATE=True` runs each task in the calling process at once (Huey's immediate mode).

Periodic tasks (every worker schedules them; the jobs table's idempotency key makes each one run once): the daily
run (acceptance expiry, escalation triggers, old export files) and, every minute, the recovery of jobs whose
worker died (heartbeat older than JOBS_STALE_SECONDS): retried up to three attempts, then failed with a message
and their upload given back.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.models import Job

log = logging.getLogger(__name__)
_QUEUE_LOCK = threading.Lock()
QUEUE_NAME = "riskreg"


@dataclass
class Queue:
    """The app's Huey instance and its tasks."""

    huey: Huey
    run_job: Any  # huey TaskWrapper: run_job(job_id) enqueues

    def enqueue(self, job_id: int) -> None:
        self.run_job(job_id)


def init_app(app: Flask) -> None:
    from riskreg.jobs import views

    app.register_blueprint(views.bp)
    app.extensions["riskreg_queue"] = None  # built on first use: create_app does no I/O (SqliteHuey opens a file)


def queue_of(app: Flask | None = None) -> Queue:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _QUEUE_LOCK:
        found: Queue | None = app.extensions.get("riskreg_queue")
        if found is None:
            found = app.extensions["riskreg_queue"] = _make_queue(app)
    return found


def _storage(app: Flask) -> Huey:
    url = str(app.config.get("JOBS_QUEUE_URL") or "")
    if app.config.get("JOBS_IMMEDIATE"):
        return MemoryHuey(QUEUE_NAME, immediate=True)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=url)
    filename = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    path = Path(filename) if filename else Path(app.instance_path) / "queue.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path))


def _make_queue(app: Flask) -> Queue:
    huey = _storage(app)

    def run_job(job_id: int) -> None:
        execute(app, job_id)

    def daily() -> None:
        ask_daily(app)

    def recover_abandoned() -> None:
        recover(app)

    hour, _, minute = str(app.config["JOBS_DAILY_AT"]).partition(":")
    huey.periodic_task(crontab(minute=minute or "0", hour=hour), name="daily")(daily)
    huey.periodic_task(crontab(minute="*"), name="recover")(recover_abandoned)
    return Queue(huey=huey, run_job=huey.task(name="run_job")(run_job))


# ---------------------------------------------------------------------------------------------- asking


def submit(session: Session, actor: audit.Actor, kind: str, payload: dict[str, Any], *, key: str | None = None) -> int:
    """Record the job and queue it (once per `key`); returns its id. Commits: the request's transaction ends."""
    from riskreg.jobs import operations

    job_id, new = operations.submit(session, actor, kind, payload, key=key)
    if new:
        queue_of().enqueue(job_id)
    return job_id


def prerender_heatmaps(session: Session, actor: audit.Actor, cycle_code: str) -> None:
    """Ask for a just-closed cycle's heatmaps to be drawn into the image cache (outside an app: nothing to do)."""
    if has_app_context():
        submit(session, actor, "heatmaps", {"cycle": cycle_code}, key=f"heatmaps:{cycle_code}")


def ask_daily(app: Flask, day: date | None = None) -> None:
    from riskreg.extensions import db

    day = day or date.today()
    with app.app_context():
        session = cast(Session, db.session)
        submit(session, audit.SYSTEM, "daily", {"day": day.isoformat()}, key=f"daily:{day.isoformat()}")


# ---------------------------------------------------------------------------------------------- running


def board_of(app: Flask) -> Any:
    from riskreg.extensions import db
    from riskreg.jobs.operations import ProgressBoard

    return ProgressBoard(db.engine, Path(app.instance_path) / str(app.config["JOBS_PROGRESS_DIR"]))


def execute(app: Flask, job_id: int) -> None:
    """Run one job in this process: claim it, call its runner, record the outcome. Never raises for a job's failure."""
    from riskreg.extensions import db
    from riskreg.jobs import operations
    from riskreg.jobs.runners import ABANDON, RUNNERS, JobFailed, Outcome, Run

    with app.app_context():
        session = cast(Session, db.session)
        job = operations.claim(session, job_id)
        if job is None:
            return  # done, failed, or running elsewhere
        kind = job.kind  # read now: after a failed operation the session must roll back before loading anything
        board = board_of(app)
        runner = RUNNERS.get(kind)
        try:
            with board.beating(job.id, float(app.config["JOBS_HEARTBEAT_SECONDS"])) as figures:

                def progress(done: int, total: int) -> None:
                    figures[:] = [done, total]
                    board.report(job_id, done, total)

                if runner is None:
                    raise JobFailed(f"RiskReg does not know jobs of kind {kind!r}.")
                outcome: Outcome = runner(Run(app, session, job, json.loads(job.payload_json), progress))
        except JobFailed as failure:
            operations.fail(session, job_id, failure.message)
        except Exception as problem:  # the operation rolled back; say so, keep the trace for the administrator
            log.exception("job %s (%s) failed", job_id, kind)
            operations.fail(
                session,
                job_id,
                f"Nothing was written: the job stopped on an unexpected error ({type(problem).__name__}). "
                "Try again; if it happens again, tell your administrator.",
            )
            release = ABANDON.get(kind)  # e.g. the import's upload: the user may apply or cancel it again
            if release is not None:
                release(app, session.get(Job, job_id) or job)
        else:
            job = session.get(Job, job_id) or job
            operations.finish(session, job, result_ref=outcome.result_ref, message=outcome.message, keep=outcome.keep)
        finally:
            board.forget(job_id)


def recover(app: Flask) -> int:
    """Requeue jobs whose worker died (up to MAX_ATTEMPTS), else fail them and give back what they held."""
    from riskreg.extensions import db
    from riskreg.jobs import operations
    from riskreg.jobs.runners import ABANDON

    with app.app_context():
        session = cast(Session, db.session)
        stale = timedelta(seconds=float(app.config["JOBS_STALE_SECONDS"]))
        found = operations.abandoned(session, stale, board_of(app))
        for job in found:
            if job.attempts < operations.MAX_ATTEMPTS:
                operations.requeue(session, job)
                queue_of(app).enqueue(job.id)
            else:
                operations.fail(
                    session,
                    job.id,
                    f"Nothing was written: the worker running this job stopped {job.attempts} times. "
                    "Ask your administrator to check the workers, then try again.",
                )
                release = ABANDON.get(job.kind)
                if release is not None:
                    release(app, job)
        return len(found)
