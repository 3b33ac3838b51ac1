"""Practice rules engine: policy profiles, deadline rules, gates and content rules (PRACTICE.md)."""

from __future__ import annotations

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
