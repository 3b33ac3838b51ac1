"""Case facts: a person's contact details, a threat named or reworded (SA-1), the safety
plan's intervention for a threat (SA-1). Threat wording and interventions are
safety-critical: a concurrent change elsewhere waits for a person to choose."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.screens.case.form import CaseFormScreen, FormError
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework

NEW_THREAT = "(new threat)"


class FactsScreen(CaseFormScreen):
    """Fill what changed; blank fields stay as they are."""

    CSS_PATH = "facts.tcss"
    AUTO_FOCUS = "#facts-person"
    TITLE_WORDS = "Case facts"

    def __init__(
        self, case_id: str, people: list[tuple[str, str]], threats: list[tuple[str, str]]
    ) -> None:
        super().__init__(case_id)
        self.person_options = people
        self.threat_options = threats

    def fields(self) -> ComposeResult:
        yield Label("Person")
        yield Select([(Text(name), pid) for pid, name in self.person_options], id="facts-person")
        yield Label("New phone")
        yield Input(id="facts-phone")
        yield Label("New address")
        yield Input(id="facts-address")
        yield Label("Threat (SA-1)")
        yield Select(
            [(NEW_THREAT, NEW_THREAT)]
            + [(Text(text[:60]), tid) for tid, text in self.threat_options],
            id="facts-threat",
        )
        yield Label("Threat, in words (new or reworded)")
        yield Input(id="facts-threat-text")
        yield Label("Safety-plan intervention for this threat, and who carries it out")
        yield Input(id="facts-intervention")
        yield Input(placeholder="who", id="facts-who")

    def submission(self) -> Callable[[Store, PolicyProfile], str]:
        person = self.query_one("#facts-person", Select).value
        details = {
            key: self.query_one(f"#facts-{key}", Input).value.strip()
            for key in ("phone", "address")
        }
        details = {k: v for k, v in details.items() if v}
        threat = self.query_one("#facts-threat", Select).value
        threat_text = self.query_one("#facts-threat-text", Input).value
        intervention = self.query_one("#facts-intervention", Input).value
        who = self.query_one("#facts-who", Input).value
        if details and not isinstance(person, str):
            raise FormError("choose the person whose details changed")
        if not details and not threat_text.strip() and not intervention.strip():
            raise FormError("nothing to record: fill what changed")
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            done = []
            if details and isinstance(person, str):
                casework.update_person(store, case_id, person, details)
                done.append("contact details")
            threat_id = threat if isinstance(threat, str) and threat != NEW_THREAT else None
            if threat_text.strip():
                threat_id = casework.set_threat(
                    store, case_id, threat_text, threat_id, True, self.fk.today
                )
                done.append("threat")
            if intervention.strip():
                if threat_id is None:
                    raise FormError("choose or name the threat the intervention controls")
                casework.set_intervention(store, case_id, threat_id, intervention, who)
                done.append("intervention")
            return f"Case {case_id}: {', '.join(done)} recorded."

        return job
