"""The one mapping between stored entities and the domain (`fieldkit.records`): a record's
signed and altered state is its entity's own mark, never a default and never a field."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from fieldkit import services
from fieldkit.records import Record, by_case, record_of, unsaved, visit_of
from fieldkit.store import EntityView, Store
from tests.conftest import sample_case, signed_visit, transfer_doc

ROOT = Path(__file__).resolve().parents[2]


def _view(fields: dict[str, object], signed: bool, altered: bool = False) -> EntityView:
    return EntityView("C-1", "visit", "v1", fields, signed, altered, 0)


def test_signed_is_the_entity_mark_not_a_field() -> None:
    """A field named like a mark cannot make a record signed (nor unsigned)."""
    forged = record_of(_view({"date": "2026-11-20", "_signed": True, "signed": True}, False))
    assert forged.signed is False and visit_of(forged).signed is False
    real = record_of(_view({"date": "2026-11-20", "_signed": False}, True))
    assert real.signed is True and visit_of(real).signed is True


def test_altered_after_signing_only_on_a_signed_record() -> None:
    assert record_of(_view({}, True, altered=True)).altered_after_signing is True
    assert record_of(_view({}, False, altered=True)).altered_after_signing is False


def test_a_record_has_no_default_marks() -> None:
    """Every Record states whether it is signed: the constructor has no default for it."""
    marks = {f.name: f for f in dataclasses.fields(Record)}
    for name in ("signed", "altered_after_signing"):
        assert marks[name].default is dataclasses.MISSING, name
    with pytest.raises(TypeError):
        Record("C-1", "visit", "v1", {})  # type: ignore[call-arg]
    draft = unsaved("C-1", "service_plan", "draft", {"completed": "2026-11-01"})
    assert (draft.signed, draft.altered_after_signing) == (False, False)


def test_imported_history_is_not_signed_and_a_signed_visit_is(store: Store) -> None:
    """Through the store: the imported history visits carry no sign mark; the visit signed
    on this laptop does, in the domain case and in `case show --json`."""
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    signed_visit(store, "v1", case_id="C-1")
    records = by_case(store.views("C-1"))["C-1"]["visit"]
    marks = {r.id: r.signed for r in records}
    assert marks.pop("v1") is True and marks and not any(marks.values())
    case = services.load_case(store, "C-1")
    assert {v.id: v.signed for v in case.visits} == {r.id: r.signed for r in records}
    detail = services.case_detail(store, "C-1")
    shown = {v["id"]: v["signed"] for v in detail["records"]["visit"]}
    assert shown == {r.id: r.signed for r in records}


def test_bookkeeping_keys_are_read_in_one_place() -> None:
    """No module passes marks or ids around as `_signed` / `_id` dict keys any more."""
    magic = re.compile(r"""["'](_signed|_id|_altered_after_signing)["']""")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("fieldkit", "sync", "screens")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if magic.search(line)
    ]
    assert found == []
