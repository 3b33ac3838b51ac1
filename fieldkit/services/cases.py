"""Use cases of cases the CLI and the app share: import, export and read cases.

Faces (CLI, screens) call these; these use the store and the change log. No SQL, no
crypto and no Textual here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fieldkit import changelog
from fieldkit.domain import Case
from fieldkit.errors import FieldkitError, StoreError, TransferError
from fieldkit.i18n import _
from fieldkit.records import build_case, by_case
from fieldkit.store import EntityState, EntityView, Store
from fieldkit.transfer import FORMAT, case_entities, check_document, export_document

# --- cases ----------------------------------------------------------------------------


def read_transfer_file(path: Path) -> dict[str, Any]:
    """Parse a case-transfer file, or say in one line why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TransferError(_("no such file: {path}").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TransferError(_("cannot read {path}: {exc}").format(path=path, exc=exc)) from None
    try:
        doc: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransferError(
            _("{name} line {lineno}: not valid JSON ({msg}); nothing was imported").format(
                name=path.name, lineno=exc.lineno, msg=exc.msg
            )
        ) from None
    except RecursionError:
        raise TransferError(
            _("{name}: nested too deeply to be a case-transfer file; nothing was imported").format(
                name=path.name
            )
        ) from None
    return doc


def import_cases(store: Store, doc: Any) -> list[str]:
    """Check the whole document, then write every case in one transaction."""
    cases = check_document(doc)
    existing = set(store.case_ids())
    for case in cases:
        if case["id"] in existing:
            raise TransferError(
                _(
                    "case {id}, key id: this profile already holds the case; nothing was imported"
                ).format(id=case["id"])
            )
    with store.transaction():
        for case in cases:
            for entity, entity_id, fields in case_entities(case):
                store.record(case["id"], entity, entity_id, fields)
    return [c["id"] for c in cases]


def _require_case(store: Store, case_id: str) -> list[EntityState]:
    entities = store.entities(case_id)
    if not any(e.entity == "case" for e in entities):
        raise FieldkitError(
            _("no case {case_id} in this profile; `fieldkit case list` shows them").format(
                case_id=case_id
            )
        )
    return entities


def export_case(store: Store, case_id: str) -> dict[str, Any]:
    """One case as a transfer document."""
    by_kind = by_case(_require_case(store, case_id))[case_id]
    head = by_kind.pop("case")[0]
    return {"format": FORMAT, "cases": [export_document(head, by_kind)]}


def load_case(store: Store, case_id: str) -> Case:
    """The domain case, decrypted in memory."""
    cases = _cases_from(store.views(case_id))
    if not cases:
        raise FieldkitError(
            _("no case {case_id} in this profile; `fieldkit case list` shows them").format(
                case_id=case_id
            )
        )
    return cases[0]


def load_cases(store: Store) -> list[Case]:
    """Every case in the profile, decrypted in memory."""
    return _cases_from(store.views())


def cases_of(store: Store, case_ids: Sequence[str]) -> list[Case]:
    """These cases (those still in the profile), decrypted in memory: a slice of the
    caseload, so a long read never holds every case at once."""
    return _cases_from(store.views(case_ids=case_ids))


def _cases_from(views: list[EntityView]) -> list[Case]:
    critical: dict[str, int] = defaultdict(int)
    for view in views:
        critical[view.case_id] += view.critical_conflicts
    cases = []
    for case_id, by_kind in by_case(views).items():
        heads = by_kind.pop("case", None)
        if not heads:
            continue
        cases.append(build_case(heads[0], by_kind, needs_resolution=critical[case_id]))
    return cases


def case_summary(case: Case) -> dict[str, Any]:
    """JSON for `fieldkit case list --json`."""
    last = case.last_visit()
    return {
        "id": case.id,
        "kind": case.kind.value,
        "track": case.track.value if case.track else None,
        "family": case.family_name,
        "worker": case.worker,
        "supervisor": case.supervisor,
        "opened": case.opened.isoformat(),
        "children": len(case.children),
        "last_visit": last.date.isoformat() if last else None,
        "needs_resolution": case.needs_resolution,
    }


def case_detail(store: Store, case_id: str) -> dict[str, Any]:
    """JSON for `fieldkit case show ID --json`: the case, its records and open conflicts."""
    entities = _require_case(store, case_id)
    by_kind = by_case(entities)[case_id]
    head = by_kind.pop("case")[0]
    doc = export_document(head, by_kind)
    doc["records"] = {kind: [r.to_json() for r in items] for kind, items in sorted(by_kind.items())}
    doc["conflicts"] = [conflict_json(c) for e in entities for c in e.conflicts()]
    return doc


def conflict_json(c: changelog.FieldConflict, case_id: str | None = None) -> dict[str, Any]:
    """One conflict for scripts: the record, the field, every version and who wrote it."""
    doc: dict[str, Any] = {} if case_id is None else {"case": case_id}
    doc.update(
        entity=c.entity,
        entity_id=c.entity_id,
        field=c.field,
        needs_resolution=c.critical,
        versions=[{"value": v["v"], "by": v["by"], "hlc": v["hlc"]} for v in c.versions],
    )
    return doc


def record_change(
    store: Store, case_id: str, entity: str, entity_id: str, values: dict[str, Any]
) -> changelog.Op:
    """One change to a case record (refused on a signed record: add an addendum)."""
    current = store.entity(case_id, entity, entity_id)
    if current is not None and current.signed:
        raise StoreError(
            _("{entity} {entity_id} is signed and cannot change; add an addendum instead").format(
                entity=entity, entity_id=entity_id
            )
        )
    return store.record(case_id, entity, entity_id, values)
