"""Background jobs: lifecycle on the embedded (SqliteHuey) and Redis storages, real worker processes, kill -9.

Most tests elsewhere run jobs in immediate mode; here the queue is real: a job goes queued → running → done
through `riskreg worker` processes started as a user would, and a worker killed mid-import leaves nothing
half-applied, the job is retried by the next worker and applies exactly once. Both databases.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from riskreg import create_app
from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.jobs import execute, queue_of, submit
from riskreg.models import ImportRun, Job, JobStatus, Risk
from tests.conftest import base_config, login
from tests.test_imports import COORD, register_book, register_row, world  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.usefixtures("world")
REDIS_URL = "redis://127.0.0.1:6379/2"  # this branch's Redis database (never FLUSHALL; only this db is flushed)
WORKER_BIN = Path(sys.executable).with_name("riskreg")


def _queued_app(database_uri: str, tmp_path: Path, queue_url: str, **extra: Any) -> Flask:
    config = base_config(
        database_uri,
        JOBS_IMMEDIATE=False,
        JOBS_QUEUE_URL=queue_url,
        JOBS_PROGRESS_DIR=str(tmp_path / "jobs"),
        EXPORT_JOB_DIR=str(tmp_path / "exports"),
        IMPORT_UPLOAD_DIR=str(tmp_path / "uploads"),
        HEATMAP_CACHE_DIR=str(tmp_path / "cache"),
        **extra,
    )
    return create_app(config)


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite-queue":
        yield f"sqlite:///{tmp_path / 'queue.sqlite'}"
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


def _upload_and_apply(app: Flask, rows: int, prefix: str = "JOB") -> int:
    """Preview a register through the web and press Apply: the id of the job that was queued."""
    client = app.test_client()
    login(client, COORD)
    data = register_book(*[register_row(f"{prefix}-{n:04d}", f"Queued risk {n}") for n in range(rows)])
    preview = client.post(
        "/import/",
        data={"file": (io.BytesIO(data), "queued.xlsx"), "unit": "GS-FRMD"},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, preview.text[:300]
    token = re.search(r'name="token" value="([A-Za-z0-9_-]{32})"', preview.text)
    assert token is not None
    applied = client.post("/import/apply", data={"token": token.group(1)})
    assert applied.status_code == 303
    found = re.search(r"/jobs/(\d+)$", applied.headers["Location"])
    assert found is not None
    page = client.get(applied.headers["Location"])
    assert 'data-job-status="queued"' in page.text  # nothing runs it until a worker takes it
    return int(found.group(1))


def _status(app: Flask, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        db.session.expunge(job)
        return job


def _worker_env(app: Flask, database_uri: str, tmp_path: Path, queue_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKREG_")}
    env.update(
        RISKREG_SECRET_KEY=str(app.config["SECRET_KEY"]),
        RISKREG_DATABASE_URL=database_uri,
        RISKREG_INSTANCE_PATH=str(tmp_path / "instance"),
        RISKREG_JOBS_QUEUE_URL=queue_url,
        RISKREG_JOBS_PROGRESS_DIR=str(tmp_path / "jobs"),
        RISKREG_EXPORT_JOB_DIR=str(tmp_path / "exports"),
        RISKREG_IMPORT_UPLOAD_DIR=str(tmp_path / "uploads"),
        RISKREG_JOBS_HEARTBEAT_SECONDS="0.3",
        RISKREG_JOBS_STALE_SECONDS="3",
        RISKREG_RATELIMIT_ENABLED="false",
    )
    return env


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen([str(WORKER_BIN), "worker", "--workers", "1"], env=env, stdout=handle, stderr=handle)


def _wait(app: Flask, job_id: int, wanted: set[JobStatus], seconds: float = 120) -> Job:
    deadline = time.monotonic() + seconds
    while True:
        job = _status(app, job_id)
        if job.status in wanted or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def _risks(app: Flask, prefix: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Risk).where(Risk.ref.like(f"{prefix}-%"))) or 0


def test_job_lifecycle_on_the_queue_storage(database_uri: str, tmp_path: Path, queue_url: str) -> None:
    """queued (on the SqliteHuey or Redis queue) → run by a consumer of that queue → done, visible on its page."""
    app = _queued_app(database_uri, tmp_path, queue_url)
    job_id = _upload_and_apply(app, 5)
    assert _status(app, job_id).status == JobStatus.QUEUED
    huey = queue_of(app).huey
    assert huey.pending_count() == 1
    task = huey.dequeue()  # what a worker thread does, in this process
    huey.execute(task)
    job = _status(app, job_id)
    assert job.status == JobStatus.DONE, job.message
    assert job.result_ref.startswith("import_run:")
    assert _risks(app, "JOB") == 5
    client = app.test_client()
    login(client, COORD)
    page = client.get(f"/jobs/{job_id}")
    assert 'data-job-status="done"' in page.text
    assert "5 new" in page.text
    # Asking again for the same job (a retry, a duplicate message) never runs it twice.
    execute(app, job_id)
    assert _risks(app, "JOB") == 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 1


def test_the_same_key_asks_for_one_job(app: Flask) -> None:
    with app.app_context():
        first = submit(db.session, SYSTEM, "daily", {"day": "2026-12-04"}, key="daily:2026-12-04")
        again = submit(db.session, SYSTEM, "daily", {"day": "2026-12-04"}, key="daily:2026-12-04")
        assert first == again
        assert db.session.scalar(select(func.count()).select_from(Job)) == 1
        job = db.session.get(Job, first)
        assert job is not None
        assert job.status == JobStatus.DONE  # immediate mode in tests
        assert "acceptance(s) expired" in job.message


@pytest.mark.slow
def test_a_real_worker_runs_the_job_and_a_killed_one_leaves_nothing_half_done(
    database_uri: str, tmp_path: Path, queue_url: str
) -> None:
    app = _queued_app(database_uri, tmp_path, queue_url)
    env = _worker_env(app, database_uri, tmp_path, queue_url)
    log = tmp_path / "worker.log"
    rows = 3000
    job_id = _upload_and_apply(app, rows, prefix="BIG")
    worker = _start_worker(env, log)
    try:
        job = _wait(app, job_id, {JobStatus.RUNNING, JobStatus.DONE, JobStatus.FAILED})
        assert job.status == JobStatus.RUNNING, log.read_text()[-2000:]
        time.sleep(0.5)  # inside the apply's transaction
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    job = _status(app, job_id)
    if job.status == JobStatus.RUNNING:  # killed mid-import: not one row of it is in the register
        assert _risks(app, "BIG") == 0
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 0
    time.sleep(3.5)  # the heartbeat goes stale
    worker = _start_worker(env, log)  # the next worker recovers the job and runs it again
    try:
        job = _wait(app, job_id, {JobStatus.DONE, JobStatus.FAILED}, seconds=240)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert job.status == JobStatus.DONE, (job.message, log.read_text()[-3000:])
    assert _risks(app, "BIG") == rows  # applied exactly once
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportRun)) == 1


def test_closing_a_cycle_draws_its_heatmaps_ahead_of_the_first_visit(app: Flask, tmp_path: Path) -> None:
    from datetime import date

    from riskreg.review import operations as review_ops

    with app.app_context():
        today = date.today()
        cycle = review_ops.open_cycle(
            db.session,
            SYSTEM,
            review_ops.CycleInput(code="2099-Q9", period_start=date(today.year, 1, 1), period_end=today),
        )
        cycle.narrative = "Closed to draw its heatmaps."
        review_ops.close_cycle(db.session, SYSTEM, cycle, cycle.version, confirmed_early=True)
        job = db.session.scalars(select(Job).where(Job.kind == "heatmaps")).one()
        assert job.status == JobStatus.DONE, job.message
        assert job.idempotency_key == "heatmaps:2099-Q9"
    drawn = list((tmp_path / "cache").rglob("*.png"))
    assert len(drawn) == 3  # residual, inherent and target


def test_an_import_whose_workers_kept_dying_fails_and_gives_the_upload_back(app: Flask, tmp_path: Path) -> None:
    import json
    from datetime import timedelta

    from riskreg.imports import uploads
    from riskreg.jobs import recover
    from riskreg.models import utcnow

    folder = Path(app.instance_path) / "imports"
    token = uploads.new_token()
    uploads.store(folder, b"bytes", uploads.StoredUpload(token, "GS-FRMD", "r.xlsx", "0" * 64, None, time.time()))
    assert uploads.claim(folder, token)
    try:
        with app.app_context():
            payload = json.dumps({"token": token, "actor": {"user_id": None, "email": "x", "role": "system"}})
            stale = utcnow() - timedelta(hours=1)
            job = Job(kind="import", status=JobStatus.RUNNING, attempts=3, payload_json=payload, heartbeat_at=stale)
            db.session.add(job)
            db.session.commit()
            job_id = job.id
        assert recover(app) == 1
        job = _status(app, job_id)
        assert job.status == JobStatus.FAILED
        assert "stopped 3 times" in job.message
        assert uploads.load(folder, token) is not None  # the user can apply or cancel it again
    finally:
        uploads.discard(folder, token)


def test_an_import_that_raced_another_says_what_changed_and_offers_the_new_preview(app: Flask) -> None:
    client = app.test_client()
    login(client, COORD)
    data = register_book(*[register_row(f"RACE-{n}", f"Raced risk {n}") for n in range(3)])
    tokens = []
    for _ in range(2):  # two previews of the same file, as two tabs (or two coordinators) would
        page = client.post(
            "/import/",
            data={"file": (io.BytesIO(data), "race.xlsx"), "unit": "GS-FRMD"},
            content_type="multipart/form-data",
        )
        found = re.search(r'name="token" value="([A-Za-z0-9_-]{32})"', page.text)
        assert found is not None
        tokens.append(found.group(1))
    first = client.post("/import/apply", data={"token": tokens[0]})
    assert 'data-job-status="done"' in client.get(first.headers["Location"]).text
    second = client.post("/import/apply", data={"token": tokens[1]})
    page = client.get(second.headers["Location"])
    assert 'data-job-status="failed"' in page.text
    assert "The register changed since the preview (3 → 0 new, 0 → 3 unchanged)" in page.text
    assert f"/import/{tokens[1]}" in page.text
    again = client.get(f"/import/{tokens[1]}")
    assert again.status_code == 200
    assert _risks(app, "RACE") == 3


def test_an_unexpected_error_fails_the_job_writes_nothing_and_gives_the_upload_back(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskreg.imports import bulk

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "create_risks", broken)
    client = app.test_client()
    login(client, COORD)
    data = register_book(register_row("BROKEN-1", "Never written"))
    page = client.post(
        "/import/", data={"file": (io.BytesIO(data), "b.xlsx"), "unit": "GS-FRMD"}, content_type="multipart/form-data"
    )
    token = re.search(r'name="token" value="([A-Za-z0-9_-]{32})"', page.text)
    assert token is not None
    applied = client.post("/import/apply", data={"token": token.group(1)})
    job_page = client.get(applied.headers["Location"]).text
    assert 'data-job-status="failed"' in job_page
    assert "unexpected error (RuntimeError)" in job_page
    assert _risks(app, "BROKEN") == 0
    assert client.get(f"/import/{token.group(1)}").status_code == 200  # released: it can be applied again
