"""Every setting with its default. Overridden by instance/config.py, then RISKREG_* environment variables."""

from __future__ import annotations

from datetime import timedelta


class DefaultConfig:
    # Secret key: None here; `riskreg setup` writes instance/secret_key on first run and create_app reads it.
    SECRET_KEY: str | None = None
    # Production mode refuses to start with a weak key, debug on, or cookies that travel over plain HTTP.
    PRODUCTION = False
    DEBUG = False

    # Relative SQLite paths resolve against the instance folder. RISKREG_DATABASE_URL overrides this.
    SQLALCHEMY_DATABASE_URI = "sqlite:///riskreg.sqlite"
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    # How long an SQLite writer waits for another's lock before failing; well inside gunicorn's 30 s timeout.
    SQLITE_BUSY_TIMEOUT_MS = 15000

    ORGANISATION = "International Union for Connectivity Standards (IUCS)"
    ORGANISATION_SHORT = "IUCS"

    # Sessions and cookies (security.md A7, A8). Secure cookies are not sent over http://127.0.0.1, so
    # None means "Secure in production only"; an explicit False in production refuses to start.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE: bool | None = None
    SESSION_COOKIE_NAME = "riskreg_session"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)
    SESSION_IDLE_MINUTES = 30
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    REMEMBER_COOKIE_SECURE: bool | None = None
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Uploads (security.md G1): the whole request body, and the spreadsheet inside it.
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    IMPORT_MAX_BYTES = 8 * 1024 * 1024
    # Uploads kept between preview and apply (any process may apply); relative to the instance folder.
    IMPORT_UPLOAD_DIR = "imports"

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # Sign-in throttling (security.md A3; policy in riskreg/auth/throttle.py and README "Sign-in throttling").
    # RATELIMIT_ENABLED switches it off (tests, benchmarks). Failed attempts are counted per account+client,
    # per client address (all accounts) and per account (from clients the account does not know).
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"  # Flask-Limiter's own store (no route uses it today)
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT_CLIENT = "5/minute;20/hour"
    LOGIN_LIMIT_PER_IP = "20/minute;100/hour"
    LOGIN_LIMIT_PER_ACCOUNT = "10/minute;50/hour"
    # Where the counts live: "database" (default: shared by every process, no server needed) or a `limits`
    # storage URI; production with Redis: "redis://127.0.0.1:6379/0". memory:// is per process: tests only.
    LOGIN_THROTTLE_STORAGE = "database"

    # Behind a reverse proxy, how many hops set X-Forwarded-For / -Proto (0 = not behind a proxy).
    PROXY_HOPS = 0

    # Heatmap image cache, shared by all app processes through the file system. Relative to the instance folder.
    HEATMAP_CACHE_DIR = "cache/heatmaps"

    REGISTER_PAGE_SIZE = 50

    # Background jobs (riskreg/jobs): empty queue URL = SqliteHuey in the instance folder (one machine);
    # redis://host:6379/0 for workers on several machines. Immediate mode runs jobs in the asking process (tests).
    JOBS_QUEUE_URL = ""
    JOBS_IMMEDIATE = False
    JOBS_WORKERS = 2  # threads per `riskreg worker` process
    JOBS_HEARTBEAT_SECONDS = 5.0
    JOBS_STALE_SECONDS = 60.0  # a running job silent this long lost its worker: retried, then failed
    JOBS_DAILY_AT = "02:30"  # local time of the daily run (acceptance expiry, escalation triggers)
    JOBS_PROGRESS_DIR = "jobs"  # SQLite only: progress files (relative to the instance folder)
    EXPORT_JOB_DIR = "exports"  # finished Council exports, kept EXPORT_KEEP_HOURS for download
    EXPORT_KEEP_HOURS = 24.0


WEAK_SECRET_KEYS = {"dev", "changeme", "change-me", "secret", "development", "test"}
