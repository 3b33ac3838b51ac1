"""A service plan or closure as the supervisor reads it before approving or returning it."""

from __future__ import annotations

from typing import Any

from fieldkit.i18n import N_, _
from fieldkit.services import Store, casework
from fieldkit.text import safe_content


def record_lines(store: Store, case_id: str, target: str, target_id: str) -> list[str]:
    """Exactly the content an approval binds to, in words (every user string escaped)."""
    if target == "service_plan":
        content = casework.plan_content_of(store, case_id, target_id)
        plan: dict[str, Any] = content["plan"]
        lines = [
            _("Service plan completed {day} by {author}").format(
                day=safe_content(str(plan.get("completed"))),
                author=safe_content(str(plan.get("author"))),
            ),
            _("Participants (PL-3): {who}").format(
                who=safe_content(", ".join(plan.get("participants") or [])) or "—"
            ),
            _("Family agreement (PL-6): {text}").format(
                text=safe_content(str(plan.get("family_agreement") or "—"))
            ),
        ]
        for goal in content["goal"]:
            lines.append(_("• Goal: {text}").format(text=safe_content(str(goal.get("text")))))
            for obj in (o for o in content["objective"] if o.get("goal") == goal["id"]):
                lines.append(
                    _("  ◦ Objective: {text}").format(text=safe_content(str(obj.get("text"))))
                )
                for act in (a for a in content["activity"] if a.get("objective") == obj["id"]):
                    parts = "; ".join(
                        _(key) + f": {safe_content(str(act.get(key) or '—'))}"
                        for key in (N_("who"), N_("where"), N_("how"), N_("when"), N_("measure"))
                    )
                    lines.append(f"     – {safe_content(str(act.get('text')))} ({parts})")
        return lines
    closure = casework.closure_content_of(store, case_id, target_id)["closure"]
    met = {True: _("yes"), False: _("no")}.get(closure.get("goals_met"), _("not answered"))
    return [
        _("Case closes {day} (CL-1)").format(day=safe_content(str(closure.get("date")))),
        _("Reason: {text}").format(text=safe_content(str(closure.get("reason")))),
        _("Supports in place: {text}").format(text=safe_content(str(closure.get("supports")))),
        _("Goals met: {answer}").format(answer=met),
    ]
