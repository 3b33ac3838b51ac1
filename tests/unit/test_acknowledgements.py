"""Rules SA-5, PL-6: caregivers' acknowledgement of a plan, and the family's copy read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from fieldkit import attachments, services
from fieldkit.acknowledgements import acknowledgements_of, record_acknowledgement
from fieldkit.errors import FieldkitError
from fieldkit.family_copy import write_family_copy
from fieldkit.store import Store
from tests.conftest import cli_profile, run_cli, sample_case, transfer_doc


@pytest.fixture
def case_store(store: Store) -> Store:
    services.import_cases(store, transfer_doc(sample_case("C-1")))
    return store


def read_aloud_agreed(store: Store) -> str:
    """Ana (p3) had C-1's safety plan read aloud and agreed, on 2026-11-20: the ack's id."""
    return record_acknowledgement(
        store,
        "C-1",
        plan="safety_plan",
        plan_id="plan",
        caregiver="p3",
        typed_name="Ana Ortiz",
        how="read-aloud-agreed",
        at="2026-11-20T16:00:00+00:00",
    )


def _pdf_text(path: Path) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(str(path)).pages)


def test_read_aloud_and_agreed_is_signed_and_marks_the_plan_shared(case_store: Store) -> None:
    """Rule SA-5: the plan is shared with the family; the acknowledgement is kept, signed."""
    ack_id = read_aloud_agreed(case_store)
    ent = case_store.entity("C-1", "acknowledgement", ack_id)
    assert ent is not None and ent.signed is not None
    (ack,) = acknowledgements_of(case_store, "C-1", "safety_plan", "plan")
    assert (ack.caregiver, ack.how, ack.current) == ("p3", "read-aloud-agreed", True)
    case = services.load_case(case_store, "C-1")
    assert case.safety_plans[0].shared_with_family is True
    # The plan changes: the acknowledgement was of an earlier version and says so.
    plan = case_store.entity("C-1", "safety_plan", "plan")
    assert plan is not None
    changed = [*plan.fields["interventions"], {"threat": "t1", "text": "No alcohol at home"}]
    case_store.record("C-1", "safety_plan", "plan", {"interventions": changed})
    (ack,) = acknowledgements_of(case_store, "C-1", "safety_plan", "plan")
    assert ack.current is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"caregiver": "p1"}, "'p1' is not a caregiver"),
        ({"how": "nodded"}, "how it was given"),
        ({"typed_name": " "}, "type the caregiver's name"),
        ({"how": "signed-on-paper"}, "needs its photograph"),
        ({"how": "signed-on-paper", "attachment": "att-x"}, "no attachment att-x"),
        ({"plan_id": "nope"}, "no safety plan nope"),
    ],
)
def test_a_bad_acknowledgement_is_refused_whole(
    case_store: Store, values: dict[str, str], message: str
) -> None:
    base = {
        "plan": "safety_plan",
        "plan_id": "plan",
        "caregiver": "p3",
        "typed_name": "Ana Ortiz",
        "how": "read-aloud-agreed",
    }
    before = case_store.log_mark()
    with pytest.raises(FieldkitError, match=message):
        record_acknowledgement(case_store, "C-1", **{**base, **values})  # type: ignore[arg-type]
    assert case_store.log_mark() == before


def test_signed_on_paper_points_to_the_photograph(case_store: Store, tmp_path: Path) -> None:
    from PIL import Image

    page = tmp_path / "signed-page.jpg"
    Image.new("RGB", (1200, 1600), (250, 250, 250)).save(page, format="JPEG")
    (photo,) = attachments.attach(case_store, "C-1", page, target="safety_plan", target_id="plan")
    record_acknowledgement(
        case_store,
        "C-1",
        plan="safety_plan",
        plan_id="plan",
        caregiver="p3",
        typed_name="Ana M. Ortiz",
        how="signed-on-paper",
        attachment=photo,
    )
    (ack,) = acknowledgements_of(case_store, "C-1")
    assert ack.attachment == photo and ack.typed_name == "Ana M. Ortiz"


def test_family_copy_reads_back_in_plain_language(case_store: Store, tmp_path: Path) -> None:
    read_aloud_agreed(case_store)
    out = tmp_path / "family.pdf"
    write_family_copy(case_store, "C-1", "safety_plan", "plan", out)
    text = " ".join(_pdf_text(out).split())
    assert "Your family's safety plan" in text
    assert "Why we have this plan" in text and "Caregiver intoxicated" in text
    assert "What the plan asks, of whom, by when" in text
    assert "Rosa Diaz WHO: Grandmother evenings PLAN — Starting now" in text
    assert "Who to call" in text and "Your caseworker: jsmith" in text
    assert "their supervisor, akhan" in text
    assert "Ana Ortiz NAME3 had the plan read aloud and agreed on 2026-11-20" in text
    assert "C-1" not in text, "no case number on the family's copy"
    with pytest.raises(FieldkitError, match="already exists"):
        write_family_copy(case_store, "C-1", "safety_plan", "plan", out)


def test_acknowledge_and_family_copy_from_the_command_line(tmp_path: Path) -> None:
    env = cli_profile(tmp_path)
    args = ("acknowledge", "C-1", "--caregiver", "p3", "--how", "refused", "--name", "-")
    done = run_cli(*args, env=env, input="Ana Ortiz\n")
    assert done.returncode == 0, done.stderr
    exported = json.loads(run_cli("case", "export", "C-1", env=env).stdout)
    (ack,) = exported["cases"][0]["records"]["acknowledgement"]
    assert ack["how"] == "refused" and ack["typed_name"] == "Ana Ortiz"
    out = tmp_path / "copy.pdf"
    made = run_cli("family-copy", "C-1", "--out", str(out), env=env)
    assert made.returncode == 0, made.stderr
    assert "Ana Ortiz NAME3 refused to acknowledge the plan" in " ".join(_pdf_text(out).split())
    again = run_cli("family-copy", "C-1", "--out", str(out), env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
