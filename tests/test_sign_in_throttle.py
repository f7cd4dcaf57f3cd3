"""Sign-in throttling shared by every process and never turned against the owner (issue R10 item 3).

- two app instances in separate processes, against one database, share the counts (the default store);
- the owner signs in from their usual browser (device cookie) while other clients hammer the account, from one
  address or many; and from another address while one address hammers;
- the Redis store (database 1 of the local Redis) shares the counts between instances just the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from riskreg import create_app
from riskreg.auth.throttle import DEVICE_COOKIE
from riskreg.models import Role, SignInFailure
from tests.conftest import PASSWORD, base_config
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[1]
REDIS_URI = "redis://127.0.0.1:6379/1"  # this branch's Redis database (never another)
EMAIL = "owner@example.org"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"RATELIMIT_ENABLED": True}


@pytest.fixture
def owner(app: Flask) -> str:
    with app.app_context():
        make_user(role=Role.COORDINATOR, email=EMAIL)
    return EMAIL


def _post(client: FlaskClient, password: str, address: str, email: str = EMAIL) -> int:
    response = client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})
    return response.status_code


_PROCESS = """
import json, sys
from riskreg import create_app
from tests.conftest import base_config
app = create_app(base_config(sys.argv[1], RATELIMIT_ENABLED=True))
client = app.test_client()
statuses = [
    client.post("/login", data={"email": sys.argv[2], "password": f"wrong {i}"},
                environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code
    for i in range(int(sys.argv[3]))
]
print(json.dumps(statuses))
"""


def _other_process(uri: str, attempts: int) -> list[int]:
    result = subprocess.run(
        [sys.executable, "-c", _PROCESS, uri, EMAIL, str(attempts)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    statuses: list[int] = json.loads(result.stdout.strip().splitlines()[-1])
    return statuses


def test_counts_are_shared_by_two_processes(app: Flask, owner: str) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    # Each process is a separate app with its own memory; the per account+client limit is 5 a minute.
    assert _other_process(uri, 3) == [200, 200, 200]
    assert _other_process(uri, 3) == [200, 200, 429]
    # And the test process, a third instance, sees the same counts.
    assert _post(app.test_client(), "wrong again", "10.7.7.7") == 429


def test_owner_signs_in_from_another_address_while_one_address_hammers(
    app: Flask, client: FlaskClient, owner: str
) -> None:
    attacker = app.test_client()
    statuses = [_post(attacker, f"guess {i}", "203.0.113.9") for i in range(30)]
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}
    assert _post(attacker, PASSWORD, "203.0.113.9") == 429, "the attacker's client stays refused"
    assert _post(client, PASSWORD, "192.0.2.10") == 302


def test_owner_signs_in_from_their_usual_browser_while_many_addresses_hammer(
    app: Flask, client: FlaskClient, owner: str
) -> None:
    # The owner has signed in from this browser before: it holds the account's device cookie.
    assert _post(client, PASSWORD, "192.0.2.10") == 302
    assert client.get_cookie(DEVICE_COOKIE) is not None
    client.post("/logout")

    attackers = [app.test_client() for _ in range(20)]
    refused = 0
    for round_ in range(3):
        for number, attacker in enumerate(attackers):
            # Even from the owner's own address (one office behind one NAT address) for some of them.
            address = "192.0.2.10" if number % 5 == 0 else f"198.51.100.{number}"
            refused += _post(attacker, f"guess {round_}-{number}", address) == 429
    assert refused >= 40, "unknown clients must be refused once the account's limit for them is full"
    assert _post(app.test_client(), PASSWORD, "198.51.100.77") == 429, "an unknown client is refused"

    assert _post(client, PASSWORD, "192.0.2.10") == 302, "the owner's usual browser still signs in"


def test_a_forged_or_other_accounts_device_cookie_does_not_count_as_known(app: Flask, owner: str) -> None:
    with app.app_context():
        make_user(role=Role.VIEWER, email="colleague@example.org")
    shared_desk = app.test_client()
    assert _post(shared_desk, PASSWORD, "192.0.2.20", email="colleague@example.org") == 302
    shared_desk.post("/logout")
    forged = app.test_client()
    forged.set_cookie(DEVICE_COOKIE, "eyJkIjoiYWJjIiwiYSI6W119.forged.signature")
    for client in (shared_desk, forged):
        statuses = [_post(client, f"guess {i}", "192.0.2.20") for i in range(6)]
        assert statuses == [200] * 5 + [429]
        assert _post(client, PASSWORD, "192.0.2.20") == 429
        with app.app_context():
            from riskreg.extensions import db

            db.session.query(SignInFailure).delete()
            db.session.commit()


def test_correct_sign_in_forgets_the_clients_earlier_failures(app: Flask, client: FlaskClient, owner: str) -> None:
    assert [_post(client, f"typo {i}", "192.0.2.30") for i in range(4)] == [200] * 4
    assert _post(client, PASSWORD, "192.0.2.30") == 302
    client.post("/logout")
    assert [_post(client, f"typo {i}", "192.0.2.30") for i in range(5)] == [200] * 5


def _redis_or_skip() -> Any:
    try:
        import redis
    except ImportError:
        pytest.skip("the redis client is not installed")
    connection = redis.Redis.from_url(REDIS_URI)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    return connection


@pytest.mark.parametrize("database_uri", ["sqlite"], indirect=True)
def test_redis_store_is_shared_between_instances(database_uri: str, owner: str) -> None:
    connection = _redis_or_skip()
    connection.flushdb()  # database 1 only: this branch's own
    instances = [
        create_app(base_config(database_uri, RATELIMIT_ENABLED=True, LOGIN_THROTTLE_STORAGE=REDIS_URI))
        for _ in range(2)
    ]
    statuses = [_post(instances[i % 2].test_client(), f"wrong {i}", "10.8.8.8") for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert connection.dbsize() > 0, "the counts are in Redis"
    with instances[0].app_context():
        from riskreg.extensions import db

        assert db.session.query(SignInFailure).count() == 0, "and not in the database"
    assert _post(instances[1].test_client(), PASSWORD, "10.8.8.9") == 302
    connection.flushdb()
