"""A service plan or closure as the supervisor reads it before approving or returning it."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from fieldkit.services import Store, casework


def record_lines(store: Store, case_id: str, target: str, target_id: str) -> list[str]:
    """Exactly the content an approval binds to, in words (every user string escaped)."""
    if target == "service_plan":
        content = casework.plan_content_of(store, case_id, target_id)
        plan: dict[str, Any] = content["plan"]
        lines = [
            f"Service plan completed {escape(str(plan.get('completed')))} by "
            f"{escape(str(plan.get('author')))}",
            f"Participants (PL-3): {escape(', '.join(plan.get('participants') or [])) or '—'}",
            f"Family agreement (PL-6): {escape(str(plan.get('family_agreement') or '—'))}",
        ]
        for goal in content["goal"]:
            lines.append(f"• Goal: {escape(str(goal.get('text')))}")
            for obj in (o for o in content["objective"] if o.get("goal") == goal["id"]):
                lines.append(f"  ◦ Objective: {escape(str(obj.get('text')))}")
                for act in (a for a in content["activity"] if a.get("objective") == obj["id"]):
                    parts = "; ".join(
                        f"{key}: {escape(str(act.get(key) or '—'))}"
                        for key in ("who", "where", "how", "when", "measure")
                    )
                    lines.append(f"     – {escape(str(act.get('text')))} ({parts})")
        return lines
    closure = casework.closure_content_of(store, case_id, target_id)["closure"]
    met = {True: "yes", False: "no"}.get(closure.get("goals_met"), "not answered")
    return [
        f"Case closes {escape(str(closure.get('date')))} (CL-1)",
        f"Reason: {escape(str(closure.get('reason')))}",
        f"Supports in place: {escape(str(closure.get('supports')))}",
        f"Goals met: {met}",
    ]
