"""Writes to the jobs table: ask for a job, claim it, report progress, finish or fail it, recover abandoned ones.

A job's state lives in the application database (riskreg/models/jobs.py) so every process, web or worker, on
any machine, reads the same thing. Claiming is one conditional UPDATE, so two workers given the same job id
(a retry, a duplicate message) never both run it. Progress and the heartbeat are written outside the job's own
transaction; on SQLite (one machine, one writer) they go to a small file beside the database instead, because
an import holds the database's only write lock while it runs (see `ProgressBoard`).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.models import Job, JobStatus, utcnow

MAX_ATTEMPTS = 3


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def actor_payload(actor: audit.Actor) -> dict[str, Any]:
    return asdict(actor)


def payload_actor(payload: dict[str, Any]) -> audit.Actor:
    return audit.Actor(**payload["actor"])


def submit(
    session: Session, actor: audit.Actor, kind: str, payload: dict[str, Any], *, key: str | None = None
) -> tuple[int, bool]:
    """Record a queued job and commit; (its id, True), or (the id of the job already asked for under `key`, False).

    Ids, not objects: reading a committed object starts a new transaction, and on SQLite a job run at once
    (immediate mode) needs the write lock this session would then hold.
    """
    if key:
        found = session.scalar(select(Job.id).where(Job.idempotency_key == key))
        if found is not None:
            session.commit()
            return found, False
    job = Job(
        kind=kind,
        requested_by_id=actor.user_id,
        idempotency_key=key,
        payload_json=json.dumps({**payload, "actor": actor_payload(actor)}, default=str),
    )
    session.add(job)
    try:
        session.flush()
        job_id = job.id
        session.commit()
    except IntegrityError:  # asked twice at the same moment: the other request's job is the one
        session.rollback()
        return session.scalars(select(Job.id).where(Job.idempotency_key == key)).one(), False
    return job_id, True


def claim(session: Session, job_id: int) -> Job | None:
    """Take a queued job for this worker: one conditional UPDATE, so exactly one worker gets it."""
    now = utcnow()
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            worker=worker_name(),
            started_at=now,
            heartbeat_at=now,
            attempts=Job.attempts + 1,
            message="",
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if getattr(done, "rowcount", 0) != 1:
        return None
    job = session.get(Job, job_id)
    if job is not None:
        session.refresh(job)
    return job


def finish(
    session: Session, job: Job, *, result_ref: str = "", message: str = "", keep: timedelta | None = None
) -> None:
    job.status = JobStatus.DONE
    job.finished_at = utcnow()
    job.result_ref = result_ref
    job.message = message
    job.progress_done = max(job.progress_done, job.progress_total)
    job.expires_at = job.finished_at + keep if keep else None
    session.commit()


def fail(session: Session, job_id: int, message: str) -> None:
    """Mark the job failed with a message for its owner (the job's own work was rolled back by its operation)."""
    session.rollback()
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status=JobStatus.FAILED, finished_at=utcnow(), message=message[:2000])
        .execution_options(synchronize_session=False)
    )
    session.commit()


def requeue(session: Session, job: Job) -> None:
    """Put a failed or abandoned job back in the queue (its work is idempotent: an import keyed by the job id)."""
    job.status = JobStatus.QUEUED
    job.message = ""
    job.finished_at = None
    session.commit()


def abandoned(session: Session, stale_after: timedelta, board: ProgressBoard) -> list[Job]:
    """Running jobs whose worker stopped saying it is alive (killed, machine lost)."""
    limit = utcnow() - stale_after
    running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
    return [job for job in running if (board.heartbeat(job) or limit) < limit]


# ---------------------------------------------------------------------------------------------- progress


class ProgressBoard:
    """Progress and heartbeats written beside the job's work: a row update on a separate connection, or a file.

    SQLite allows one writer, and an import holds the write lock for its whole transaction: a second connection
    could not update the jobs table until it ends. SQLite means one machine, so there the figures go to
    `<folder>/<job id>.json` (written atomically) and readers look there first.
    """

    def __init__(self, engine: Engine, folder: Path) -> None:
        self.engine = engine
        self.folder = folder
        self.in_files = engine.dialect.name == "sqlite"

    def report(self, job_id: int, done: int, total: int) -> None:
        now = utcnow()
        if self.in_files:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{job_id}.json"
            temporary = path.with_suffix(f".{threading.get_ident()}.tmp")
            temporary.write_text(json.dumps({"done": done, "total": total, "at": now.isoformat()}), encoding="utf-8")
            os.replace(temporary, path)
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(Job).where(Job.id == job_id).values(progress_done=done, progress_total=total, heartbeat_at=now)
            )

    def read(self, job: Job) -> tuple[int, int]:
        found = self._file(job.id)
        if found is not None and not job.status.finished:
            return int(found["done"]), int(found["total"])
        return job.progress_done, job.progress_total

    def heartbeat(self, job: Job) -> datetime | None:
        found = self._file(job.id)
        if found is not None:
            return max(
                datetime.fromisoformat(str(found["at"])), job.heartbeat_at or datetime.fromisoformat(str(found["at"]))
            )
        return job.heartbeat_at

    def forget(self, job_id: int) -> None:
        (self.folder / f"{job_id}.json").unlink(missing_ok=True)

    def _file(self, job_id: int) -> dict[str, Any] | None:
        if not self.in_files:
            return None
        with suppress(OSError, ValueError):
            found: dict[str, Any] = json.loads((self.folder / f"{job_id}.json").read_text(encoding="utf-8"))
            return found
        return None

    @contextmanager
    def beating(self, job_id: int, every: float) -> Iterator[list[int]]:
        """Report the job alive every `every` seconds while the block runs; yields [done, total] to update."""
        figures = [0, 0]
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                with suppress(Exception):  # a missed beat is not the job's failure
                    self.report(job_id, figures[0], figures[1])

        thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
        thread.start()
        try:
            yield figures
        finally:
            stop.set()
            thread.join(timeout=every + 1)
