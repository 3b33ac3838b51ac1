"""The guided visit, driven key by key with Pilot; what was stored is read back from the store."""

from __future__ import annotations

from datetime import date

from fieldkit.screens.app import make_app
from fieldkit.screens.case_view import CaseScreen
from fieldkit.screens.visit.record import VisitRecordScreen
from fieldkit.screens.visit.review import ReviewStep

from fieldkit import services
from fieldkit.services import caseload, visits
from fieldkit.store import Store
from fieldkit.visit_record import ChildObservation, PrivateInterview, VisitRecord
from tests.functional.conftest import TODAY, click, open_case, settle, start_visit, type_text


def _complete_infant(record: VisitRecord) -> None:
    """Everything C-INFANT's profile requires, answered (the infant p1 seen and observed)."""
    record.kind, record.outcome, record.announced = "home", "completed", False
    record.present = ["p1", "p3"]
    contact = record.contact("p1")
    contact.seen = True
    contact.observation = ChildObservation("cot", "warm", "well")
    record.notes, record.next_visit = "n", "2026-12-01"
    record.progress["g1"] = "p"


def _visit_records(store: Store, case_id: str) -> list[dict]:
    detail = services.case_detail(store, case_id)
    return [v for v in detail["records"]["visit"] if v["id"].startswith("v-")]


async def _first_steps(pilot, unannounced: bool = True, kind: str = "home") -> None:
    """Kind, outcome completed, (un)announced; who is present (the child); safety unchanged."""
    await click(pilot, f"#kind-{kind}")
    await click(pilot, "#outcome-completed")
    await click(pilot, "#announced-no" if unannounced else "#announced-yes")
    await pilot.press("ctrl+n")
    await settle(pilot)
    await click(pilot, "#present")
    await pilot.press("space")
    await type_text(pilot, "#others_present", "grandmother")
    await pilot.press("ctrl+n")
    await settle(pilot)
    await click(pilot, "#safety_changed-no")
    await pilot.press("ctrl+n")
    await settle(pilot)


async def _interview(pilot, alone: str = "yes", overheard: str = "no") -> None:
    """The verbal child's step: seen, interviewed privately, where, their words."""
    await click(pilot, "#seen-yes")
    await settle(pilot)
    await click(pilot, "#interviewed-yes")
    await settle(pilot)
    await type_text(pilot, "#where", "bedroom")
    await click(pilot, f"#seen_alone-{alone}")
    await click(pilot, f"#could_be_overheard-{overheard}")
    await type_text(pilot, "#said", "I feel safe now")


async def _observation(pilot) -> None:
    """The infant's step: seen, observed with the caregiver (interaction, condition, home)."""
    await click(pilot, "#seen-yes")
    await settle(pilot)
    await click(pilot, "#observed-yes")
    await settle(pilot)
    await type_text(pilot, "#interaction", "smiles at mother")
    await type_text(pilot, "#condition", "clean and fed")
    await type_text(pilot, "#environment", "crib assembled")
    await pilot.press("ctrl+n")
    await settle(pilot)


async def _last_steps(pilot, sign: bool = True) -> None:
    """Progress on the goal and activity, notes, next visit, then review and sign (Ctrl+S, y)."""
    await type_text(pilot, "#progress-g1", "evenings calm")
    await type_text(pilot, "#progress-a1", "attended twice")
    await pilot.press("ctrl+n")
    await settle(pilot)
    await type_text(pilot, "#notes", "home tidy")
    await type_text(pilot, "#next_steps", "call school")
    await type_text(pilot, "#next_visit", "2026-12-10")
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewStep)
    if sign:
        assert [c for c in pilot.app.screen.checks if c.blocking] == []
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ReviewStep), "Ctrl+S asks before it signs"
        await pilot.press("y")
        await settle(pilot)


async def test_whole_visit_verbal_child_victim(visit_store: Store) -> None:
    """Rule VI-2: the verbal child victim is interviewed privately; all of it is stored."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-VERBAL")
        assert isinstance(app.screen, CaseScreen)
        await pilot.press("v")
        await settle(pilot)
        assert "UNANNOUNCED" in str(app.screen.query_one("#unannounced-required").render())
        await _first_steps(pilot)
        await _interview(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await _last_steps(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    stored = _visit_records(visit_store, "C-VERBAL")
    assert len(stored) == 1
    visit = stored[0]
    assert visit["signed"] is True
    assert visit["announced"] is False
    assert visit["private_interview"] == ["p2"] and visit["seen"] == ["p2"]
    assert visit["observed"] == []
    interview = visit["children"]["p2"]["private_interview"]
    assert interview["where"] == "bedroom" and interview["alone"] is True
    assert interview["could_be_overheard"] is False
    assert interview["words"] == "I feel safe now"
    assert visit["progress"] == {"g1": "evenings calm", "a1": "attended twice"}
    assert visit["notes"] == "home tidy" and visit["next_visit"] == "2026-12-10"
    assert visit["present"] == ["p2"] and visit["others_present"] == "grandmother"
    assert visit["safety"]["changed"] is False and visit["author"] == "jsmith"
    assert visit["kind"] == "home" and visit["outcome"] == "completed"
    assert visit_store.drafts() == [], "the draft is dropped once the visit is signed"
    case = services.load_case(visit_store, "C-VERBAL")
    assert date(2026, 11, 26) in [v.date for v in case.visits]


async def test_whole_visit_non_verbal_infant(visit_store: Store) -> None:
    """Rule VI-3: the infant is observed with the caregiver; interaction and condition stored."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, "C-INFANT")
        await _first_steps(pilot)
        assert len(app.screen.query("#said")) == 0, "no interview for an infant"
        await _observation(pilot)
        await _last_steps(pilot)
    visit = _visit_records(visit_store, "C-INFANT")[0]
    assert visit["signed"] is True
    assert visit["observed"] == ["p1"] and visit["private_interview"] == []
    observation = visit["children"]["p1"]["observation"]
    assert observation["interaction"] == "smiles at mother"
    assert observation["condition"] == "clean and fed"
    assert observation["environment"] == "crib assembled"


async def test_new_threat_opens_alternative_plan_that_stays_pending(visit_store: Store) -> None:
    """Rules SA-2, SA-3: new threats → an alternative safety plan, pending supervisor approval."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start_visit(pilot, "C-VERBAL")
        await click(pilot, "#kind-home")
        await click(pilot, "#outcome-completed")
        await click(pilot, "#announced-no")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await click(pilot, "#present")
        await pilot.press("space")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert not app.screen.query_one("#assessment").display
        await click(pilot, "#safety_changed-yes")
        await settle(pilot)
        assert app.screen.query_one("#assessment").display
        await click(pilot, "#circumstances")
        await pilot.press("down", "space")  # "a move"
        await type_text(pilot, "#new_threats", "new partner violent")
        await type_text(pilot, "#interventions", "mother and children stay with aunt")
        await pilot.press("ctrl+r")
        await settle(pilot)
        summary = str(app.screen.query_one("#summary").render())
        assert "PENDING SUPERVISOR APPROVAL" in summary
        # finish what the profile requires, then sign
        session = app.visit_session
        assert session is not None
        await pilot.press("f2")
        await settle(pilot)
        record = visits.record_of(visits.drafts(visit_store, "C-VERBAL")[0])
        assert record.safety.new_threats == ["new partner violent"]
        assert record.safety.circumstances == ["a move"]
    case = services.load_case(visit_store, "C-VERBAL")
    assert not case.pending_safety_plans(), "nothing is recorded before the visit is signed"
    # sign through the service (the screens call exactly this)
    record.notes, record.next_visit = "n", "2026-12-01"
    contact = record.contact("p2")
    contact.seen = True
    contact.private_interview = PrivateInterview(True, False, "kitchen", "ok")
    record.progress["g1"] = "p"
    fields = visits.sign_visit(
        visit_store,
        visits.load_case_with_plan(visit_store, "C-VERBAL"),
        record,
        caseload.policy_of(visit_store),
        TODAY,
    )
    case = services.load_case(visit_store, "C-VERBAL")
    pending = case.pending_safety_plans()
    assert [p.id for p in pending] == [fields["safety_plan"]]
    assert pending[0].approval.value == "pending" and pending[0].kind == "alternative"
    assert pending[0].interventions[0].text == "mother and children stay with aunt"
    assert "new partner violent" in [t.text for t in case.threats]


async def test_phone_approval_is_recorded_with_who_and_when(visit_store: Store) -> None:
    """Rule SA-2: a phone approval names the supervisor and the time; still not final."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start_visit(pilot, "C-INFANT")
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(pilot)
        await click(pilot, "#safety_changed-yes")
        await settle(pilot)
        await type_text(pilot, "#new_threats", "no heat")
        await type_text(pilot, "#interventions", "space heater from agency")
        await type_text(pilot, "#phone_approval_by", "akhan")
        await type_text(pilot, "#phone_approval_at", "2026-11-26 15:05")
        await pilot.press("f2")
        await settle(pilot)
    record = visits.record_of(visits.drafts(visit_store, "C-INFANT")[0])
    _complete_infant(record)
    visits.sign_visit(
        visit_store,
        visits.load_case_with_plan(visit_store, "C-INFANT"),
        record,
        caseload.policy_of(visit_store),
        TODAY,
    )
    plan = services.load_case(visit_store, "C-INFANT").pending_safety_plans()[0]
    assert plan.approval.value == "phone-approved"
    assert (plan.phone_approval_by, plan.phone_approval_at) == ("akhan", "2026-11-26 15:05")
    assert plan.pending_approval, "a phone approval is confirmed by the supervisor on sync"


async def test_content_blocks_and_cannot_be_overridden_only_gates_can(
    visit_store: Store,
) -> None:
    """Content rules block and are not overridable; a gate (VI-2) is, by its own check id."""
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_visit(pilot, "C-VERBAL")
        await pilot.press("ctrl+r")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewStep)
        rules = {c.rule for c in review.checks if c.blocking}
        assert {"VI-1", "SA-3", "VI-4"} <= rules
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewStep), "signing refused while content is missing"
        assert _visit_records(visit_store, "C-VERBAL") == []
        # the first open check is a content requirement: o does not open the dialog
        assert not review.open[0].gate
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, ReviewStep)
        assert review.session.record.overrides == []
    assert _visit_records(visit_store, "C-VERBAL") == []


async def test_signed_visit_is_read_only_and_takes_an_addendum(visit_store: Store) -> None:
    """A signed record never changes; a correction is an addendum pointing to it."""
    case = visits.load_case_with_plan(visit_store, "C-INFANT")
    draft = visits.new_draft(case, "jsmith", TODAY)
    record = visits.record_of(draft)
    _complete_infant(record)
    record.safety.changed = False
    visits.sign_visit(visit_store, case, record, caseload.policy_of(visit_store), TODAY)
    try:
        services.record_change(visit_store, "C-INFANT", "visit", draft["visit_id"], {"notes": "x"})
        raise AssertionError("a signed visit must refuse changes")
    except Exception as exc:
        assert "addendum" in str(exc)
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_case(pilot, "C-INFANT")
        await click(pilot, "#visits")
        await pilot.press("home", "enter")
        await settle(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
        assert "SIGNED" in str(app.screen.query_one("#record").render())
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"crib", "space", *"upstairs")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "ADDENDUM" in str(app.screen.query_one("#record").render())
    record = visits.visit_record(visit_store, "C-INFANT", draft["visit_id"])
    assert record["addenda"][0]["visit"] == draft["visit_id"]
    assert record["fields"]["notes"] == "n"


async def test_the_case_view_shows_imported_history_as_imported(visit_store: Store) -> None:
    """An imported history visit has no sign mark: it reads "imported", never "✓ signed"."""
    case = services.load_case(visit_store, "C-VERBAL")
    assert case.visits and not any(v.signed for v in case.visits)
    app = make_app(store=visit_store, today=TODAY)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_case(pilot, "C-VERBAL")
        text = pilot.app.export_screenshot()
        assert "imported" in text
        assert "✓&#160;signed" not in text and "✓ signed" not in text
