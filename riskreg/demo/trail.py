"""The audit trail the demo's history implies: who registered each risk, who assessed it, what the task force decided.

The demo writes its rows in bulk rather than through the register operations (build.py says why), so it writes
the audit events those operations would have written too, dated on the story's days and in the same words; a
demo risk with three assessments then shows three assessments in its audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskreg.appetite import Zone
from riskreg.models import Decision


@dataclass(frozen=True)
class DemoActor:
    user_id: int
    email: str
    role: str
    unit: str


def _row(
    actor: DemoActor, when: datetime, action: str, ref: str, summary: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "at": when,
        "actor_id": actor.user_id,
        "actor_email": actor.email,
        "actor_role": actor.role,
        "actor_unit": actor.unit,
        "action": action,
        "entity": "risk",
        "entity_id": ref,
        "summary": summary[:300],
        "changes_json": json.dumps(changes, sort_keys=True, ensure_ascii=False),
        "request_id": "",
        "ip": "",
    }


def registered(actor: DemoActor, risk: Mapping[str, Any]) -> dict[str, Any]:
    """As `risks.operations.create_risk` records it."""
    changes = {"title": risk["title"], "owner_title": risk["owner_title"], "status": risk["status"].value}
    summary = f"registered {risk['ref']}: {risk['title']}"
    return _row(actor, risk["created_at"], "create", risk["ref"], summary, changes)


def assessed(actor: DemoActor, ref: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """As `risks.operations.record_assessment` records it."""
    zone = Zone(row["zone"])
    changes = {
        "inherent": f"{row['inherent_likelihood']}x{row['inherent_impact']}",
        "residual": f"{row['residual_likelihood']}x{row['residual_impact']}",
        "zone": zone.value,
        "statement_version": row["statement_version"],
    }
    summary = f"assessed {ref}: residual {row['residual_score']} {row['residual_band']}, {zone.label.lower()}"
    return _row(actor, row["created_at"], "assess", ref, summary, changes)


def decided(actor: DemoActor, ref: str, cycle_code: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """As `review.operations.record_decision` records it."""
    decision = Decision(row["decision"])
    changes = {
        "cycle": cycle_code,
        "decision": decision.value,
        "comment": row["comment"],
        "minute_ref": row["minute_ref"],
    }
    summary = f"task force decision in {cycle_code}: {decision.label}"
    return _row(actor, row["created_at"], "decide", ref, summary, changes)
