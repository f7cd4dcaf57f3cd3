"""`riskreg worker`: run background jobs (Huey consumer threads, the periodic tasks, recovery of abandoned jobs)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Threads (default: JOBS_WORKERS).")
@with_appcontext
def worker_command(workers: int | None) -> None:
    """Run jobs from the queue until stopped (Ctrl+C or SIGTERM finish the running jobs' current step first)."""
    from riskreg.jobs import queue_of, recover

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("JOBS_IMMEDIATE"):
        raise click.ClickException("JOBS_IMMEDIATE is on: jobs run where they are asked; no worker is needed")
    recover(app)  # jobs left running by a worker that died before this one started
    consumer = queue_of(app).huey.create_consumer(
        workers=workers or int(app.config["JOBS_WORKERS"]),
        worker_type="thread",
        periodic=True,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=1.0,
        check_worker_health=True,
    )
    click.echo(f"riskreg worker: {consumer.workers} thread(s) on {type(queue_of(app).huey).__name__}", err=True)
    consumer.run()
