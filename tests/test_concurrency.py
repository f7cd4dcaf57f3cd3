"""No lost edits under real concurrency: 20 people save the same version of one risk at the same moment.

Runs against a file SQLite database (BEGIN IMMEDIATE serialises the writers) and PostgreSQL (the
version_id_col UPDATE ... WHERE version = n lets one through and makes the rest match no row).
"""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from riskreg.audit import SYSTEM
from riskreg.extensions import db
from riskreg.models import AuditEvent, Risk, Role
from riskreg.policy import load_bundled_policy
from tests.conftest import login
from tests.factories import category, make_risk, make_unit, make_user

SAVERS = 20


@pytest.fixture(autouse=True)
def quick_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from riskreg.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def test_twenty_concurrent_stale_saves_give_one_winner_and_nineteen_conflicts(app: Flask) -> None:
    with app.app_context():
        load_bundled_policy(db.session, SYSTEM)  # see test_register_list: PostgreSQL reset drops statements
        db.session.commit()
        unit = make_unit(code="GS-FRMD")
        emails = [make_user(role=Role.FOCAL_POINT, unit=unit, email=f"fp{n}@example.org").email for n in range(SAVERS)]
        risk = make_risk(unit=unit, title="The original title")
        ref, seen_version = risk.ref, risk.version
        fin_id = category("FIN").id
    clients: list[FlaskClient] = []
    for email in emails:
        client = app.test_client()
        login(client, email)
        clients.append(client)

    barrier = threading.Barrier(SAVERS)
    outcomes: dict[int, int] = {}
    errors: list[BaseException] = []

    def save(n: int) -> None:
        try:
            client = clients[n]
            form = client.get(f"/risks/{ref}/edit").text
            version = re.search(r'name="version" type="hidden" value="(\d+)"', form)
            assert version is not None
            data = {
                "title": f"Title from saver {n}",
                "cause": "a cause",
                "event": "an event",
                "consequence": "a consequence",
                "category_id": str(fin_id),
                "owner_title": "Treasurer",
                "nature": "threat",
                "level": "departmental",
                "treatment": "treat",
                "version": version.group(1),
            }
            barrier.wait(timeout=30)
            outcomes[n] = client.post(f"/risks/{ref}/edit", data=data).status_code
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=save, args=(n,)) for n in range(SAVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not errors, errors
    assert Counter(outcomes.values()) == {303: 1, 409: SAVERS - 1}
    (winner,) = [n for n, status in outcomes.items() if status == 303]
    with app.app_context():
        risk = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
        assert risk.title == f"Title from saver {winner}"
        assert risk.version == seen_version + 1
        updates = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == ref, AuditEvent.action == "update")
        ).all()
        assert len(updates) == 1
