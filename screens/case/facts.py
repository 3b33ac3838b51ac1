"""Case facts: a person's contact details, a threat named or reworded (SA-1), the safety
plan's intervention for a threat (SA-1). Threat wording and interventions are
safety-critical: a concurrent change elsewhere waits for a person to choose."""

from __future__ import annotations

from collections.abc import Callable

from fieldkit.screens.case.form import CaseFormScreen, FormError
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input, Label, Select

from fieldkit.i18n import N_, _
from fieldkit.practice import PolicyProfile
from fieldkit.services import Store, casework

NEW_THREAT = "(new threat)"
"""The select's value for a threat not yet on the case (its label is translated)."""


class FactsScreen(CaseFormScreen):
    """Fill what changed; blank fields stay as they are."""

    CSS_PATH = "facts.tcss"
    AUTO_FOCUS = "#facts-person"
    TITLE_WORDS = N_("Case facts")

    def __init__(
        self, case_id: str, people: list[tuple[str, str]], threats: list[tuple[str, str]]
    ) -> None:
        super().__init__(case_id)
        self.person_options = people
        self.threat_options = threats

    def fields(self) -> ComposeResult:
        yield Label(_("Person"))
        yield Select([(Text(name), pid) for pid, name in self.person_options], id="facts-person")
        yield Label(_("New phone"))
        yield Input(id="facts-phone")
        yield Label(_("New address"))
        yield Input(id="facts-address")
        yield Label(_("Threat (SA-1)"))
        yield Select(
            [(_("(new threat)"), NEW_THREAT)]
            + [(Text(text[:60]), tid) for tid, text in self.threat_options],
            id="facts-threat",
        )
        yield Label(_("Threat, in words (new or reworded)"))
        yield Input(id="facts-threat-text")
        yield Label(_("Safety-plan intervention for this threat, and who carries it out"))
        yield Input(id="facts-intervention")
        yield Input(placeholder=_("who"), id="facts-who")

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
            raise FormError(_("choose the person whose details changed"))
        if not details and not threat_text.strip() and not intervention.strip():
            raise FormError(_("nothing to record: fill what changed"))
        case_id = self.case_id

        def job(store: Store, policy: PolicyProfile) -> str:
            done = []
            if details and isinstance(person, str):
                casework.update_person(store, case_id, person, details)
                done.append(_("contact details"))
            threat_id = threat if isinstance(threat, str) and threat != NEW_THREAT else None
            if threat_text.strip():
                threat_id = casework.set_threat(
                    store, case_id, threat_text, threat_id, True, self.fk.today
                )
                done.append(_("threat"))
            if intervention.strip():
                if threat_id is None:
                    raise FormError(_("choose or name the threat the intervention controls"))
                casework.set_intervention(store, case_id, threat_id, intervention, who)
                done.append(_("intervention"))
            return _("Case {case}: {what} recorded.").format(case=case_id, what=", ".join(done))

        return job
