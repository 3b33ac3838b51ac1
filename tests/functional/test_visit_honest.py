"""The honest visit record, driven key by key with Pilot: one test per way a visit record
used to say more than the worker affirmed. Each reads the signed record back through the
real `fieldkit case show --json`.

The case: Maya (p1) a non-verbal infant, Leo (p2) a verbal child victim, Ana (p3) their
mother; the case requires unannounced visits (VI-4).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fieldkit.screens.app import make_app
from fieldkit.screens.toggles import CHOSEN, Choice
from fieldkit.screens.visit.record import VisitRecordScreen
from fieldkit.screens.visit.review import ReviewStep
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, RadioSet, Static, TextArea

from fieldkit import services
from fieldkit.store import Store
from tests.conftest import FAST_ARGON, PASSPHRASE, run_cli, sample_case, transfer_doc
from tests.functional.conftest import (
    TODAY,
    add_service_plan,
    click,
    settle,
    start_visit,
    type_text,
)

CASE = "C-HONEST"


@pytest.fixture
def family_store(tmp_path: Path) -> Iterator[Store]:
    """The whole sample family on one case, with a service plan (PL-4)."""
    store = Store.create(tmp_path / "family.fieldkit", PASSPHRASE, "jsmith", argon=FAST_ARGON)
    services.import_cases(store, transfer_doc(sample_case(CASE)))
    add_service_plan(store, CASE)
    yield store
    with contextlib.suppress(Exception):
        store.close()


def signed_visits(store: Store) -> list[dict[str, Any]]:
    """The visits signed in this profile, as `fieldkit case show --json` prints them."""
    path = Path(store.path)
    shown = run_cli(
        "--data-dir",
        str(path.parent),
        "--profile",
        path.stem,
        "case",
        "show",
        CASE,
        "--json",
        env={"FIELDKIT_PASSPHRASE": PASSPHRASE},
    )
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    return [v for v in detail["records"]["visit"] if v["id"].startswith("v-")]


def fk_case_export(store: Store) -> list[dict[str, Any]]:
    """The visits of `fieldkit case export` that were signed in this profile."""
    path = Path(store.path)
    shown = run_cli(
        "--data-dir",
        str(path.parent),
        "--profile",
        path.stem,
        "case",
        "export",
        CASE,
        env={"FIELDKIT_PASSPHRASE": PASSPHRASE},
    )
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    case = doc["cases"][0] if "cases" in doc else doc
    found: list[dict[str, Any]] = case["history"]["visits"]
    return [v for v in found if str(v.get("visit_id", "")).startswith("v-")]


# --- driving the wizard like a worker ----------------------------------------------------


async def kind_step(
    pilot: Pilot[Any], kind: str = "home", announced: bool = False, date: str | None = None
) -> None:
    """Step 1: kind, outcome completed, announced or not, and (optionally) the date typed."""
    await click(pilot, f"#kind-{kind}")
    await click(pilot, "#outcome-completed")
    await click(pilot, "#announced-yes" if announced else "#announced-no")
    if date is not None:
        field = pilot.app.screen.query_one("#date")
        field.value = ""  # type: ignore[attr-defined]
        await type_text(pilot, "#date", date)
    await pilot.press("ctrl+n")
    await settle(pilot)


async def present_step(pilot: Pilot[Any], ticks: tuple[int, ...]) -> None:
    """Step 2: tick the people at these list positions (0 Maya, 1 Leo, 2 Ana)."""
    pilot.app.screen.query_one("#present").focus()
    await pilot.pause()
    at = 0
    for position in ticks:
        await pilot.press(*["down"] * (position - at), "space")
        at = position
    await pilot.press("ctrl+n")
    await settle(pilot)


async def safety_step(pilot: Pilot[Any], threat: str = "", interventions: str = "") -> None:
    """Step 3: no change, or a new threat (with or without the plan's interventions)."""
    if not threat:
        await click(pilot, "#safety_changed-no")
    else:
        await click(pilot, "#safety_changed-yes")
        await settle(pilot)
        await type_text(pilot, "#new_threats", threat)
        if interventions:
            await type_text(pilot, "#interventions", interventions)
    await pilot.press("ctrl+n")
    await settle(pilot)


async def infant_step(pilot: Pilot[Any], observed: bool = True, reason: str = "") -> None:
    """Maya's step: seen and observed, or not seen with a reason."""
    if reason:
        await click(pilot, "#seen-no")
        await settle(pilot)
        await click(pilot, f"#not_seen_reason-{reason.replace(' ', '-')}")
    else:
        await click(pilot, "#seen-yes")
        await settle(pilot)
        if observed:
            await click(pilot, "#observed-yes")
            await settle(pilot)
            await type_text(pilot, "#interaction", "reaches for mother")
            await type_text(pilot, "#condition", "clean and fed")
    await pilot.press("ctrl+n")
    await settle(pilot)


async def child_step(pilot: Pilot[Any], alone: str = "yes", overheard: str = "no") -> None:
    """Leo's step: seen, interviewed, alone / overheard as given, where, his words."""
    await click(pilot, "#seen-yes")
    await settle(pilot)
    await click(pilot, "#interviewed-yes")
    await settle(pilot)
    await click(pilot, f"#seen_alone-{alone}")
    await type_text(pilot, "#where", "his bedroom")
    await click(pilot, f"#could_be_overheard-{overheard}")
    await type_text(pilot, "#said", "mum is better now")
    await pilot.press("ctrl+n")
    await settle(pilot)


async def last_steps(pilot: Pilot[Any]) -> ReviewStep:
    """Progress, notes, next visit; lands on the review step."""
    await type_text(pilot, "#progress-g1", "calm evenings")
    await pilot.press("ctrl+n")
    await settle(pilot)
    await type_text(pilot, "#notes", "home tidy")
    await type_text(pilot, "#next_visit", "2026-12-10")
    await pilot.press("ctrl+n")
    await settle(pilot)
    review = pilot.app.screen
    assert isinstance(review, ReviewStep)
    return review


async def override(pilot: Pilot[Any], review: ReviewStep, check_id: str, reason: str) -> None:
    """Highlight one check in the list, o, type the reason, Enter."""
    ids = [c.id for c in review.open]
    assert check_id in ids, ids
    review.query_one("#checks").focus()
    await pilot.press("home", *["down"] * ids.index(check_id), "o")
    await settle(pilot)
    await type_text(pilot, "#reason", reason)
    await pilot.press("enter")
    await settle(pilot)


async def sign(pilot: Pilot[Any]) -> None:
    """Ctrl+S, then the one confirmation key."""
    await pilot.press("ctrl+s")
    await settle(pilot)
    await pilot.press("y")
    await settle(pilot)


async def start(pilot: Pilot[Any]) -> None:
    await start_visit(pilot, CASE)


async def to_leo(pilot: Pilot[Any]) -> None:
    """The visit as far as Leo's step: home, all three present, safety unchanged, Maya
    seen and observed."""
    await start(pilot)
    await kind_step(pilot)
    await present_step(pilot, (0, 1, 2))
    await safety_step(pilot)
    await infant_step(pilot)


async def to_review(
    pilot: Pilot[Any],
    *,
    kind: str = "home",
    announced: bool = False,
    date: str | None = None,
    threat: str = "",
    alone: str = "yes",
    overheard: str = "no",
) -> ReviewStep:
    """The whole visit with all three present, Maya seen and observed, Leo interviewed as
    given; lands on the review step."""
    await start(pilot)
    await kind_step(pilot, kind=kind, announced=announced, date=date)
    await present_step(pilot, (0, 1, 2))
    await safety_step(pilot, threat=threat)
    await infant_step(pilot)
    await child_step(pilot, alone=alone, overheard=overheard)
    return await last_steps(pilot)


async def no_override_offered(pilot: Pilot[Any], review: ReviewStep) -> None:
    """O on the first check opens no override dialog and records no override."""
    review.query_one("#checks").focus()
    await pilot.press("home", "o")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ReviewStep), "no override dialog for this check"
    assert pilot.app.visit_session.record.overrides == []  # type: ignore[attr-defined]


async def redo_step(
    pilot: Pilot[Any], step: str, selector: str, text: str, replace: bool = False
) -> None:
    """Back to a step from the review, type in a field (emptied first when `replace`), and
    back to the review (Ctrl+R)."""
    pilot.app.visit_session.go(step)  # type: ignore[attr-defined]
    await settle(pilot)
    if replace:
        pilot.app.screen.query_one(selector).value = ""  # type: ignore[attr-defined]
    await type_text(pilot, selector, text)
    await pilot.press("ctrl+r")
    await settle(pilot)


def blocking_ids(review: ReviewStep) -> set[str]:
    return {c.id for c in review.checks if c.blocking}


# --- one test per finding ----------------------------------------------------------------


async def test_absent_infant_cannot_be_seen_and_is_signed_not_seen(family_store: Store) -> None:
    """Rules VI-1, VI-3: Maya not present cannot be marked seen; not seen needs a reason and
    leaves VI-3 unmet (answered only by an override naming VI-3/p1/not-seen)."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot)
        await present_step(pilot, (1, 2))  # Leo and Ana; Maya asleep in another room
        await safety_step(pilot)
        assert app.screen.query_one("#seen-yes").disabled, "a child not present cannot be seen"
        await click(pilot, "#seen-yes")
        await settle(pilot)
        assert app.visit_session.record.contact("p1").seen is None
        await infant_step(pilot, reason="asleep elsewhere")
        await child_step(pilot)
        review = await last_steps(pilot)
        assert "VI-3/p1/not-seen" in blocking_ids(review)
        await override(pilot, review, "VI-3/p1/not-seen", "infant asleep, father refused to wake")
        assert blocking_ids(review) == set()
        await sign(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    (visit,) = signed_visits(family_store)
    assert visit["present"] == ["p2", "p3"]
    assert visit["seen"] == ["p2"] and visit["observed"] == []
    assert visit["children"]["p1"]["seen"] is False
    assert visit["children"]["p1"]["not_seen_reason"] == "asleep elsewhere"
    assert visit["children"]["p1"]["observation"] is None
    assert [o["check"] for o in visit["overrides"]] == ["VI-3/p1/not-seen"]


async def test_override_answers_one_check_only(family_store: Store) -> None:
    """An override of VI-2/p2/no-interview does not answer VI-2/p2/not-private: once the
    interview is recorded as not private, signing blocks again, and the stale override
    goes; the record signed at the end carries only what answers its own unmet checks."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await to_leo(pilot)
        await click(pilot, "#seen-yes")  # Leo seen, no interview yet
        await pilot.press("ctrl+n")
        await settle(pilot)
        review = await last_steps(pilot)
        await override(pilot, review, "VI-2/p2/no-interview", "Leo was at a friend's door")
        assert blocking_ids(review) == set()
        # back to Leo: an interview, but his mother stayed in the room
        session = app.visit_session
        session.go("child:p2")
        await settle(pilot)
        await click(pilot, "#interviewed-yes")
        await settle(pilot)
        await click(pilot, "#seen_alone-no")
        await type_text(pilot, "#where", "kitchen")
        await click(pilot, "#could_be_overheard-yes")
        await pilot.press("ctrl+r")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewStep)
        assert "VI-2/p2/not-private" in blocking_ids(review)
        assert session.record.overrides == [], "the override of another check is dropped"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewStep), "not signed while VI-2 is unanswered"
        await override(pilot, review, "VI-2/p2/not-private", "mother would not leave")
        await sign(pilot)
    (visit,) = signed_visits(family_store)
    assert visit["private_interview"] == []
    assert [(o["check"], o["reason"]) for o in visit["overrides"]] == [
        ("VI-2/p2/not-private", "mother would not leave")
    ]


async def test_bad_and_future_dates_block_and_cannot_be_overridden(family_store: Store) -> None:
    """Rule VI-1: 2026-11-3 and a future date block; no override is offered for them."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        review = await to_review(pilot, date="2026-11-3")
        assert blocking_ids(review) == {"VI-1/-/date"}
        await no_override_offered(pilot, review)
        await redo_step(pilot, "kind", "#date", "2026-11-27", replace=True)
        assert blocking_ids(app.screen) == {"VI-1/-/date-future"}
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert signed_visits(family_store) == []
        await redo_step(pilot, "kind", "#date", "2026-11-25", replace=True)
        await sign(pilot)
    (visit,) = signed_visits(family_store)
    assert visit["date"] == "2026-11-25"


async def test_interview_not_alone_or_overheard_does_not_meet_vi2(family_store: Store) -> None:
    """Rule VI-2: "not alone, could be overheard" is no private interview."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        review = await to_review(pilot, alone="no", overheard="yes")
        assert blocking_ids(review) == {"VI-2/p2/not-private"}
        await override(pilot, review, "VI-2/p2/not-private", "no private room in the flat")
        await sign(pilot)
    (visit,) = signed_visits(family_store)
    assert visit["seen"] == ["p1", "p2"]
    assert visit["private_interview"] == [] and visit["observed"] == ["p1"]
    interview = visit["children"]["p2"]["private_interview"]
    assert (interview["alone"], interview["could_be_overheard"]) == (False, True)
    assert visit["overrides"][0]["reason"] == "no private room in the flat"


async def test_phone_contact_meets_neither_vi2_nor_vi3(family_store: Store) -> None:
    """Rules VI-2, VI-3: a phone contact is not face to face nor in the child's home."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        review = await to_review(pilot, kind="phone")
        assert blocking_ids(review) == {"VI-2/p2/kind", "VI-3/p1/kind"}
        await override(pilot, review, "VI-2/p2/kind", "snowed in; visit booked for Monday")
        assert blocking_ids(review) == {"VI-3/p1/kind"}
        await override(pilot, review, "VI-3/p1/kind", "snowed in; visit booked for Monday")
        await sign(pilot)
    (visit,) = signed_visits(family_store)
    assert visit["kind"] == "phone"
    assert visit["private_interview"] == [] and visit["observed"] == []
    assert sorted(o["check"] for o in visit["overrides"]) == ["VI-2/p2/kind", "VI-3/p1/kind"]


async def test_content_requirement_is_not_overridable(family_store: Store) -> None:
    """Rule SA-2: new threats need the alternative plan's interventions; no override."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        review = await to_review(pilot, threat="new partner violent")
        assert blocking_ids(review) == {"SA-2/-/interventions"}
        await no_override_offered(pilot, review)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert signed_visits(family_store) == []
        await redo_step(pilot, "safety", "#interventions", "partner stays away; aunt visits daily")
        await sign(pilot)
    (visit,) = signed_visits(family_store)
    assert visit["overrides"] == []
    plan = services.load_case(family_store, CASE).pending_safety_plans()[0]
    assert plan.interventions[0].text == "partner stays away; aunt visits daily"


async def test_vi4_announced_visit_blocks_until_overridden(family_store: Store) -> None:
    """Rule VI-4: unannounced visits are required on this case; an announced one blocks."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        review = await to_review(pilot, announced=True)
        assert blocking_ids(review) == {"VI-4/-/announced"}
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert signed_visits(family_store) == []
        await override(pilot, review, "VI-4/-/announced", "court-ordered family meeting")
        await sign(pilot)
    (visit,) = signed_visits(family_store)
    assert visit["announced"] is True
    assert visit["overrides"][0]["check"] == "VI-4/-/announced"
    assert visit["private_interview"] == ["p2"] and visit["observed"] == ["p1"]


async def test_seen_not_answered_is_not_said_to_be_not_seen(family_store: Store) -> None:
    """Rules VI-2, VI-3: with "seen" left unanswered the review says so; it does not say the
    child was not seen (nobody answered that)."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot)
        await present_step(pilot, (0, 1, 2))
        await safety_step(pilot)
        for _ in range(2):  # Maya's and Leo's steps, nothing answered
            await pilot.press("ctrl+n")
            await settle(pilot)
        review = await last_steps(pilot)
        messages = {c.id: c.message for c in review.checks}
        for check in ("VI-2/p2/not-seen", "VI-3/p1/not-seen"):
            assert "seen: not answered" in messages[check], messages[check]
            assert "not seen at this visit" not in messages[check]


async def test_a_disabled_seen_choice_does_not_draw_chosen(family_store: Store) -> None:
    """Rule VI-1: Maya not ticked present: clicking her disabled Seen or pressing Space on it
    neither records her seen nor draws ◉ (what the screen shows is what is recorded)."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot)
        await present_step(pilot, (1, 2))
        await safety_step(pilot)
        seen_yes = app.screen.query_one("#seen-yes", Choice)
        assert seen_yes.disabled
        await click(pilot, "#seen-yes")
        await settle(pilot)
        app.screen.query_one("#seen").focus()
        await pilot.press("space")  # the set's first button, highlighted before it was disabled
        await settle(pilot)
        assert app.visit_session.record.contact("p1").seen is None
        assert seen_yes.value is False
        assert CHOSEN not in str(seen_yes.render()), str(seen_yes.render())


async def test_tab_past_the_last_field_lands_on_a_shown_field(family_store: Store) -> None:
    """Tab from Leo's last field ("What the child said") moves to a field the worker can see;
    what is typed next lands in it, never in a hidden widget."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await to_leo(pilot)
        await click(pilot, "#seen-yes")
        await settle(pilot)
        await click(pilot, "#interviewed-yes")
        await settle(pilot)
        await type_text(pilot, "#said", "fine")
        for _ in range(12):  # round the whole step, twice over
            await pilot.press("tab")
            await settle(pilot)
            focused = app.screen.focused
            assert focused is not None
            hidden = [a for a in focused.ancestors_with_self if not a.display]
            assert not hidden, f"Tab moved to {focused!r}, hidden in {hidden[0]!r}"
            assert isinstance(focused, Input | TextArea | RadioSet), f"Tab moved to {focused!r}"


async def test_the_case_address_is_offered_never_filled_in(family_store: Store) -> None:
    """Step 2: the case address is a hint with a key, not the field's placeholder: a worker
    who types nothing signs no location, one who presses F3 signs the address."""
    app = make_app(store=family_store, today=TODAY)
    address = family_store_address(family_store)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot)
        field = app.screen.query_one("#location", Input)
        assert address not in field.placeholder
        assert field.value == ""
        hint = str(app.screen.query_one("#case-address").render())
        assert address in hint and "F3" in hint
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.visit_session.record.location == ""
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        field = app.screen.query_one("#location", Input)
        assert field.value == address
        assert app.visit_session.record.location == address


def family_store_address(store: Store) -> str:
    return services.load_case(store, CASE).address


async def test_not_seen_after_an_interview_carries_no_interview(family_store: Store) -> None:
    """Leo interviewed, then changed to "Not seen": the interview questions go out of sight
    and the record must not keep an interview for a child it says was not seen. Leaving
    the step used to read the hidden "Interviewed" answer back in, so the review showed
    "NOT SEEN" beside "private interview: recorded", and signing was blocked by a check
    (VI-1 unseen-contact, not overridable) the worker could not see how to answer."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await to_leo(pilot)
        await click(pilot, "#seen-yes")
        await settle(pilot)
        await click(pilot, "#interviewed-yes")
        await settle(pilot)
        await click(pilot, "#seen_alone-yes")
        await type_text(pilot, "#said", "mum is better now")
        await click(pilot, "#seen-no")  # he had gone out before the worker reached him
        await settle(pilot)
        assert app.visit_session.record.contact("p2").private_interview is None
        # seen after all, on the same step: the interview comes back in sight with the
        # record, never one without the other
        await click(pilot, "#seen-yes")
        await settle(pilot)
        assert app.screen.query_one("#interview").display
        assert app.visit_session.record.contact("p2").private_interview is not None
        await click(pilot, "#seen-no")
        await settle(pilot)
        await click(pilot, "#not_seen_reason-not-home")
        await pilot.press("ctrl+n")
        await settle(pilot)
        review = await last_steps(pilot)
        assert app.visit_session.record.contact("p2").private_interview is None
        assert "VI-1/p2/unseen-contact" not in blocking_ids(review)
        # back on the step later: the interview is asked again, not taken as given
        app.visit_session.go("child:p2")
        await settle(pilot)
        await click(pilot, "#seen-yes")
        await settle(pilot)
        assert app.screen.query_one("#interviewed", RadioSet).pressed_index == -1
        assert not app.screen.query_one("#interview").display
        await click(pilot, "#seen-no")
        await settle(pilot)
        await click(pilot, "#not_seen_reason-not-home")
        await pilot.press("ctrl+r")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewStep)
        await override(pilot, review, "VI-2/p2/not-seen", "he was out with his father")
        assert blocking_ids(review) == set()
        await sign(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    (visit,) = signed_visits(family_store)
    assert visit["children"]["p2"]["seen"] is False
    assert visit["children"]["p2"]["private_interview"] is None
    assert visit["private_interview"] == []


async def test_no_change_after_a_threat_was_typed_signs_no_threat(family_store: Store) -> None:
    """Rules SA-2, SA-3: "Yes, changed", a threat and a plan typed, then "No change": the
    assessment goes out of sight, and the record must say no change and nothing else. The
    typed threat used to stay: the review and the signed record said "safety changed: no"
    beside "new threats: …" and "PENDING SUPERVISOR APPROVAL", for a plan that was never
    made (no threat, no plan for a supervisor to approve)."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot)
        await present_step(pilot, (0, 1, 2))
        await click(pilot, "#safety_changed-yes")
        await settle(pilot)
        await type_text(pilot, "#new_threats", "uncle drinking")
        await type_text(pilot, "#interventions", "uncle leaves tonight")
        await click(pilot, "#safety_changed-no")  # a misreading: nothing had changed
        await settle(pilot)
        assert app.visit_session.record.safety.new_threats == []
        await click(pilot, "#safety_changed-yes")  # back and forth on the step: what is
        await settle(pilot)  # in sight is the record again
        assert app.visit_session.record.safety.new_threats == ["uncle drinking"]
        await click(pilot, "#safety_changed-no")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await infant_step(pilot)
        await child_step(pilot)
        review = await last_steps(pilot)
        shown = str(review.query_one("#summary", Static).render())
        assert "uncle" not in shown and "PENDING" not in shown, shown
        await sign(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    (visit,) = signed_visits(family_store)
    assert visit["safety"]["changed"] is False
    assert visit["safety"]["new_threats"] == []
    assert visit["safety"]["interventions"] == ""


async def test_completed_after_an_attempt_was_typed_signs_no_attempt(family_store: Store) -> None:
    """Rule VI-1: "No one home", the attempt's time and action typed, then "completed" (the
    family came back): the attempt's questions go out of sight and the record must not
    describe an attempt. They stayed: the signed visit said "completed" beside "attempt
    time" and "what was done"."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await click(pilot, "#kind-home")
        await click(pilot, "#outcome-no-one-home")
        await settle(pilot)
        await type_text(pilot, "#attempt_time", "09:40")
        await type_text(pilot, "#attempt_action", "card left at the door")
        await click(pilot, "#outcome-completed")
        await settle(pilot)
        await click(pilot, "#announced-no")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await present_step(pilot, (0, 1, 2))
        await safety_step(pilot)
        await infant_step(pilot)
        await child_step(pilot)
        review = await last_steps(pilot)
        shown = str(review.query_one("#summary", Static).render())
        assert "09:40" not in shown and "card left" not in shown, shown
        await sign(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    (visit,) = signed_visits(family_store)
    assert visit["outcome"] == "completed"
    assert visit["attempt_time"] == "" and visit["attempt_action"] == ""


async def test_the_case_visit_list_names_overrides_and_attempts(family_store: Store) -> None:
    """The case's list of visits is where a worker and a reader find a visit again: one
    signed past a gate said "✓ signed" like any other (the override was only in the
    record), and an attempt ("no one home") read as a visit where nobody was seen."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await kind_step(pilot)
        await present_step(pilot, (1, 2))  # Maya asleep in another room
        await safety_step(pilot)
        await infant_step(pilot, reason="asleep elsewhere")
        await child_step(pilot)
        review = await last_steps(pilot)
        await override(pilot, review, "VI-3/p1/not-seen", "infant asleep, father refused to wake")
        await sign(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
        await pilot.press("escape")
        await settle(pilot)
        visits = app.screen.query_one("#visits", OptionList)
        lines = [str(visits.get_option_at_index(i).prompt) for i in range(visits.option_count)]
        signed = [line for line in lines if "✓ signed" in line]
        assert len(signed) == 1 and "↷ 1 override" in signed[0], lines
    # an attempt (no one home): the list says so
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await start(pilot)
        await click(pilot, "#kind-home")
        await click(pilot, "#outcome-no-one-home")
        await settle(pilot)
        await click(pilot, "#announced-no")
        await type_text(pilot, "#attempt_time", "09:40")
        await type_text(pilot, "#attempt_action", "card left at the door")
        await pilot.press("ctrl+r")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewStep)
        assert not blocking_ids(review), blocking_ids(review)
        await sign(pilot)
        await pilot.press("escape")
        await settle(pilot)
        visits = app.screen.query_one("#visits", OptionList)
        lines = [str(visits.get_option_at_index(i).prompt) for i in range(visits.option_count)]
        assert any("attempt: no one home" in line for line in lines), lines


async def test_seen_after_a_not_seen_reason_signs_no_reason(family_store: Store) -> None:
    """Leo "Not seen", "at school" chosen, then "Seen" (he came home): the reason goes out
    of sight and must go from the record too. It stayed: the signed visit and its export
    said Leo was seen and, beside it, that he was not seen because he was at school."""
    app = make_app(store=family_store, today=TODAY)
    async with app.run_test(size=(100, 40)) as pilot:
        await to_leo(pilot)
        await click(pilot, "#seen-no")
        await settle(pilot)
        await click(pilot, "#not_seen_reason-at-school")
        await type_text(pilot, "#not_seen_detail", "exam week")
        await child_step(pilot)  # Seen after all, interviewed
        await last_steps(pilot)
        await sign(pilot)
        assert isinstance(app.screen, VisitRecordScreen)
    (visit,) = signed_visits(family_store)
    leo = visit["children"]["p2"]
    assert leo["seen"] is True and leo["private_interview"] is not None
    assert leo["not_seen_reason"] == "" and leo["not_seen_detail"] == "", leo
