"""Shared bits of the R8 benchmarks: where the databases live, how to start the app or the CLI against one,
percentiles, and a description of the machine for RESULTS.md.

Nothing here times anything. Every script that imports this module runs from the repository root
(`.venv/bin/python bench/<script>.py`) and puts the root on sys.path itself.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIZES = (1_000, 10_000, 100_000)
BACKENDS = ("sqlite", "postgresql")
PG_SERVER = os.environ.get("RISKREG_BENCH_PG", "postgresql://postgres@127.0.0.1")
# Name prefix of the PostgreSQL benchmark databases (<prefix>_<n>): parallel checkouts each use their own.
PG_PREFIX = os.environ.get("RISKREG_BENCH_PG_PREFIX", "riskreg_bench")
# A fixed key: the benchmark databases hold demo data only, and every process must sign the same cookies.
SECRET_KEY = "riskreg-bench-secret-key-0123456789-abcdefghijklmnop"
DEMO_PASSWORD = "riskreg-demo-2026"
ADMIN_EMAIL = "admin@demo.riskreg.org"
FOCAL_EMAIL = "focal.frmd@demo.riskreg.org"


def sqlite_path(n: int) -> Path:
    return OUT / f"riskreg_{n}.sqlite"


def database_url(backend: str, n: int) -> str:
    """The URL of the cached benchmark database with n demo risks."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_path(n)}"
    if backend == "postgresql":
        return f"{PG_SERVER}/{PG_PREFIX}_{n}"
    raise ValueError(backend)


def app_env(url: str, **extra: str) -> dict[str, str]:
    """Environment for `riskreg …` or gunicorn against `url`: its own instance folder, no `.env`, no rate limit
    only when asked (load runs log many virtual users in from one address).
    """
    instance = OUT / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("RISKREG_") or k in ("RISKREG_BENCH_PG", "RISKREG_TEST")
    }
    env.update(
        RISKREG_SECRET_KEY=SECRET_KEY,
        RISKREG_DATABASE_URL=url,
        RISKREG_INSTANCE_PATH=str(instance),
        MPLCONFIGDIR=str(OUT / "mplconfig"),
    )
    env.update(extra)
    return env


def riskreg_cli(url: str, *args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `riskreg <args>` against `url` in a child process."""
    command = [str(VENV_BIN / "riskreg"), *args]
    return subprocess.run(
        command,
        env=app_env(url),
        cwd=ROOT,
        check=check,
        text=True,
        capture_output=quiet,
    )


def make_app(url: str, **config: Any) -> Any:
    """An app object in this process, configured like `riskreg` would be against `url`."""
    from riskreg import create_app

    base = {
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": False,
        "HEATMAP_CACHE_DIR": str(OUT / "instance" / "cache"),
    }
    base.update(config)
    return create_app(base)


# ------------------------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / min in milliseconds of a sample of durations in seconds."""
    ms = [s * 1000 for s in seconds]
    return {"p50": statistics.median(ms), "p95": percentile(ms, 95), "min": min(ms), "n": float(len(ms))}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# ------------------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_http(port: int, path: str = "/login", timeout: float = 30.0) -> float:
    """Poll until 127.0.0.1:port answers `path`; return the seconds waited."""
    import urllib.error
    import urllib.request

    start = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                response.read()
                return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"nothing answers on port {port}") from None
            time.sleep(0.05)


@contextmanager
def gunicorn(url: str, *, workers: int, port: int, log: Path | None = None, **env: str) -> Iterator[int]:
    """A gunicorn serving the app on 127.0.0.1:port for the duration of the block; stops it (and only it)."""
    command = [
        str(VENV_BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "120",
        "--graceful-timeout",
        "5",
        "riskreg:create_app()",
    ]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, env=app_env(url, **env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_http(port)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------- report helpers


def machine() -> dict[str, str]:
    """Machine and versions, for the head of RESULTS.md."""
    import importlib.metadata as md
    import sqlite3

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    pg = ""
    with suppress(OSError, subprocess.SubprocessError):
        pg = subprocess.run(
            ["psql", PG_SERVER + "/postgres", "-Atc", "show server_version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "-"

    return {
        "cpu": f"{os.cpu_count()} cores, {cpu}",
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg or "-",
        "packages": ", ".join(
            f"{p} {version(p)}"
            for p in ("flask", "sqlalchemy", "flask-sqlalchemy", "psycopg", "gunicorn", "locust", "openpyxl")
        ),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
