"""Sign-in throttling that an attacker can neither multiply nor turn against an account's owner (security.md A3).

Policy (README "Sign-in throttling"). Failed sign-ins are counted against three counters:

- the account from one client (LOGIN_LIMIT_PER_ACCOUNT_CLIENT, e.g. 5 a minute): refuses that client for that
  account only;
- the client address, across all accounts (LOGIN_LIMIT_PER_IP): stops one address spraying many accounts;
- the account from every client it does not know, together (LOGIN_LIMIT_PER_ACCOUNT): stops many addresses
  guessing one account.

A client "known" to an account holds that account's device cookie, signed with the secret key and given by a
successful sign-in (OWASP "device cookies"). A known client is counted only by its own account+device counter,
so an attacker elsewhere, however many addresses they use, cannot lock the owner out of their usual browser.
Refused attempts are not counted, so hammering does not extend a refusal. Nothing is ever locked for good:
every counter forgets failures older than its window.

Counts are shared by every process of one installation: by default they live in the database (table
sign_in_failures); LOGIN_THROTTLE_STORAGE set to a `limits` storage URI (e.g. redis://host:6379/0, the
production setting) keeps them there instead.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from flask import Flask, Request, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, func, select
from werkzeug.wrappers import Response

from riskreg.extensions import db
from riskreg.models import SignInFailure, utcnow

DEVICE_COOKIE = "riskreg_device"
DEVICE_DAYS = 180
_DEVICE_ACCOUNTS = 8  # accounts one browser is remembered for (shared desks)


class FailureStore(Protocol):
    """Where failure counts live; every process of an installation must see the same counts."""

    def allows(self, limit: RateLimitItem, key: str) -> bool: ...

    def add(self, limits: Sequence[RateLimitItem], key: str) -> None: ...

    def clear(self, limits: Sequence[RateLimitItem], key: str) -> None: ...


class DatabaseStore:
    """Counts in table sign_in_failures: shared by every process that uses the database, no server needed.

    Writes commit at once, in the request's session: the count must stand whatever the request does next.
    """

    def allows(self, limit: RateLimitItem, key: str) -> bool:
        since = utcnow() - timedelta(seconds=limit.get_expiry())
        count = db.session.scalar(select(func.count()).where(SignInFailure.key == key, SignInFailure.failed_at > since))
        return (count or 0) < limit.amount

    def add(self, limits: Sequence[RateLimitItem], key: str) -> None:
        now = utcnow()
        longest = max((item.get_expiry() for item in limits), default=0)
        # Keep the table as small as the longest window: old failures count for nothing.
        db.session.execute(delete(SignInFailure).where(SignInFailure.failed_at < now - timedelta(seconds=longest)))
        db.session.add(SignInFailure(key=key, failed_at=now))
        db.session.commit()

    def clear(self, limits: Sequence[RateLimitItem], key: str) -> None:
        db.session.execute(delete(SignInFailure).where(SignInFailure.key == key))
        db.session.commit()


class LimitsStore:
    """Counts in a `limits` storage (redis://, memcached://, memory:// for one process only), moving windows."""

    def __init__(self, uri: str) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri))

    def allows(self, limit: RateLimitItem, key: str) -> bool:
        return bool(self.limiter.test(limit, "riskreg-sign-in", key))

    def add(self, limits: Sequence[RateLimitItem], key: str) -> None:
        for item in limits:
            self.limiter.hit(item, "riskreg-sign-in", key)

    def clear(self, limits: Sequence[RateLimitItem], key: str) -> None:
        for item in limits:
            self.limiter.clear(item, "riskreg-sign-in", key)


def init_app(app: Flask) -> None:
    uri = str(app.config["LOGIN_THROTTLE_STORAGE"])
    store: FailureStore = DatabaseStore() if uri == "database" else LimitsStore(uri)
    app.extensions["riskreg_sign_in_store"] = store


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: which account, from which client, and whether the client is known to the account."""

    account: str
    address: str
    device: str | None  # the device id, when the client holds this account's device cookie

    @property
    def known(self) -> bool:
        return self.device is not None

    def counters(self) -> list[tuple[str, str]]:
        """(setting, key) of each counter this attempt is checked against and counts towards."""
        client = f"device:{self.device}" if self.device else f"ip:{self.address}"
        found = [("LOGIN_LIMIT_PER_ACCOUNT_CLIENT", _key("pair", self.account, client))]
        if not self.known:
            found.append(("LOGIN_LIMIT_PER_IP", _key("ip", self.address)))
            found.append(("LOGIN_LIMIT_PER_ACCOUNT", _key("account", self.account)))
        return found


def attempt_of(request: Request, email: str) -> Attempt:
    account = email.strip().lower()[:254]
    device = _read_device(request)
    known = device is not None and _account_hash(account) in device[1]
    return Attempt(account=account, address=request.remote_addr or "", device=device[0] if known and device else None)


def refused(attempt: Attempt) -> bool:
    """True when any counter of `attempt` is full (the caller answers 429 without checking the password)."""
    if not _enabled():
        return False
    store = _store()
    return any(not store.allows(item, key) for setting, key in attempt.counters() for item in _limits(setting))


def record_failure(attempt: Attempt) -> None:
    if not _enabled():
        return
    for setting, key in attempt.counters():
        _store().add(_limits(setting), key)


def record_success(attempt: Attempt, response: Response, request: Request) -> None:
    """Forget the client's failures for the account and remember the client as known to it (device cookie)."""
    if _enabled():
        setting, key = attempt.counters()[0]
        _store().clear(_limits(setting), key)
    device = _read_device(request)
    device_id, accounts = device if device else (secrets.token_urlsafe(16), [])
    mine = _account_hash(attempt.account)
    accounts = [mine, *[a for a in accounts if a != mine]][:_DEVICE_ACCOUNTS]
    value = _serializer().dumps({"d": device_id, "a": accounts})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_DAYS * 86400,
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )


def _read_device(request: Request) -> tuple[str, list[str]] | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 4000:
        return None
    try:
        data = _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("a"), list):
        return None
    return data["d"], [a for a in data["a"] if isinstance(a, str)]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="riskreg-device-cookie")


def _account_hash(account: str) -> str:
    return hashlib.sha256(("account:" + account).encode()).hexdigest()[:24]


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _limits(setting: str) -> list[RateLimitItem]:
    return list(parse_many(str(current_app.config[setting])))


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _store() -> FailureStore:
    store: FailureStore = current_app.extensions["riskreg_sign_in_store"]
    return store
