"""Practice rules engine: policy profiles, deadline rules, gates and content rules (PRACTICE.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldkit.lazy import package_getattr

if TYPE_CHECKING:
    from fieldkit.practice.content import (
        review_content_problems,
        service_plan_content_problems,
        visit_content_problems,
    )
    from fieldkit.practice.engine import (
        OPEN_STATUSES,
        CaseFacts,
        DueItem,
        due_items,
        due_list,
        group_by_worker,
        next_due,
        open_items,
        worker_counts,
    )
    from fieldkit.practice.gates import (
        GateCheck,
        Override,
        apply_overrides,
        blocking,
        safety_plan_gate,
        service_plan_gate,
        visit_gates,
    )
    from fieldkit.practice.profile import (
        STATUSES,
        Period,
        PolicyProfile,
        ProfileError,
        add_months,
    )
    from fieldkit.practice.profile_load import DEFAULT_PROFILE, load_profile
    from fieldkit.practice.profile_toml import list_profiles
    from fieldkit.practice.render import (
        STATUS_HELP,
        due_table,
        due_text,
        print_due,
        print_rules,
        rules_table,
    )
    from fieldkit.practice.rule_table import rules_rows
    from fieldkit.practice.rules import RULES, Rule

_FROM = {
    "review_content_problems": "fieldkit.practice.content",
    "service_plan_content_problems": "fieldkit.practice.content",
    "visit_content_problems": "fieldkit.practice.content",
    "OPEN_STATUSES": "fieldkit.practice.engine",
    "CaseFacts": "fieldkit.practice.engine",
    "DueItem": "fieldkit.practice.engine",
    "due_items": "fieldkit.practice.engine",
    "due_list": "fieldkit.practice.engine",
    "group_by_worker": "fieldkit.practice.engine",
    "next_due": "fieldkit.practice.engine",
    "open_items": "fieldkit.practice.engine",
    "worker_counts": "fieldkit.practice.engine",
    "GateCheck": "fieldkit.practice.gates",
    "Override": "fieldkit.practice.gates",
    "apply_overrides": "fieldkit.practice.gates",
    "blocking": "fieldkit.practice.gates",
    "safety_plan_gate": "fieldkit.practice.gates",
    "service_plan_gate": "fieldkit.practice.gates",
    "visit_gates": "fieldkit.practice.gates",
    "STATUSES": "fieldkit.practice.profile",
    "Period": "fieldkit.practice.profile",
    "PolicyProfile": "fieldkit.practice.profile",
    "ProfileError": "fieldkit.practice.profile",
    "add_months": "fieldkit.practice.profile",
    "DEFAULT_PROFILE": "fieldkit.practice.profile_load",
    "load_profile": "fieldkit.practice.profile_load",
    "list_profiles": "fieldkit.practice.profile_toml",
    "STATUS_HELP": "fieldkit.practice.render",
    "due_table": "fieldkit.practice.render",
    "due_text": "fieldkit.practice.render",
    "print_due": "fieldkit.practice.render",
    "print_rules": "fieldkit.practice.render",
    "rules_table": "fieldkit.practice.render",
    "rules_rows": "fieldkit.practice.rule_table",
    "RULES": "fieldkit.practice.rules",
    "Rule": "fieldkit.practice.rules",
}
"""Each name and the module it comes from, loaded on first use (`fieldkit.lazy`): `case
list` needs the profile loader, not the content rules or the rendering."""
_SUBMODULES = frozenset(
    (
        "content",
        "engine",
        "gates",
        "profile",
        "profile_load",
        "profile_toml",
        "profiles",
        "render",
        "rule_table",
        "rules",
        "visit_checks",
    )
)
"""Its modules, as attributes too (`practice.engine`), as when the package imported them."""
if not TYPE_CHECKING:  # mypy reads the imports above; at run time names load on first use
    __getattr__ = package_getattr(globals(), _FROM, _SUBMODULES)

__all__ = [
    "DEFAULT_PROFILE",
    "OPEN_STATUSES",
    "RULES",
    "STATUSES",
    "STATUS_HELP",
    "CaseFacts",
    "DueItem",
    "GateCheck",
    "Override",
    "Period",
    "PolicyProfile",
    "ProfileError",
    "Rule",
    "add_months",
    "apply_overrides",
    "blocking",
    "due_items",
    "due_list",
    "due_table",
    "due_text",
    "group_by_worker",
    "worker_counts",
    "list_profiles",
    "load_profile",
    "next_due",
    "open_items",
    "print_due",
    "print_rules",
    "review_content_problems",
    "rules_rows",
    "rules_table",
    "safety_plan_gate",
    "service_plan_content_problems",
    "service_plan_gate",
    "visit_content_problems",
    "visit_gates",
]
