"""No keystroke lost: a whole visit typed through tmux in one burst, with no delay between
keys, across Tab, Enter and step changes; the saved draft holds every word in its field."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from fieldkit import services
from fieldkit.services import visits
from fieldkit.store import Store
from tests.conftest import run_cli, sample_case, transfer_doc, write_json
from tests.e2e.test_field_visit import PASSPHRASE, Tmux

pytestmark = pytest.mark.xdist_group("e2e")


def test_a_visit_typed_in_one_burst_loses_no_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"FIELDKIT_HOME": str(home), "FIELDKIT_PASSPHRASE": PASSPHRASE, "TERM": "xterm-256color"}
    assert run_cli("init", "--user", "jsmith", env=env).returncode == 0
    case = sample_case("C-BURST")
    case["unannounced_visits"] = {"required": False, "reason": ""}
    doc = write_json(tmp_path / "c.json", transfer_doc(case))
    assert run_cli("case", "import", str(doc), env=env).returncode == 0
    day = date.today().isoformat()
    next_visit = (date.today() + timedelta(days=14)).isoformat()

    burst = [
        # 1 kind: the date field has the focus (its text is replaced)
        "End", "C-u", day, "C-n",
        # 2 present: others present, then the place
        "grandmother Rosa", "Tab", "End", "C-u", "front room", "C-n",
        # 3 safety: no text field; the question has the focus: "No change"
        "Right", "Enter", "C-n",
        # 4, 5 the children: not ticked present, so nothing can be recorded as seen
        "C-n", "C-n",
        # 6 progress: no plan on this case
        "C-n",
        # 7 notes, next steps, next visit; Enter in the date goes on
        "home calm", "Tab", "call school", "Tab", next_visit, "Enter",
    ]  # fmt: skip
    tmux = Tmux({**env, "PATH": os.environ.get("PATH", "")})
    try:
        tmux.start()
        tmux.wait_for("C-BURST")
        tmux.text("C-BURST")
        tmux.keys("Enter")
        tmux.wait_for("Start visit")
        tmux.tmux("send-keys", "-t", tmux.session, "v", *burst)  # no delay anywhere
        # The last step shows the next-visit date typed last, and every change shows
        # "saving…" until written: settled on both, the whole burst is in the draft.
        tmux.wait_for(next_visit)
        tmux.wait_for("✓ saved")
        tmux.tmux("send-keys", "-t", tmux.session, "C-q")
        tmux.gone()
    finally:
        tmux.kill_server()

    store = Store.open(services.profile_path(home), PASSPHRASE)
    try:
        (draft,) = visits.drafts(store, "C-BURST")
    finally:
        store.close()
    record = draft["record"]
    assert draft["step"] == "next"
    assert record["date"] == day
    assert record["others_present"] == "grandmother Rosa"
    assert record["location"] == "front room"
    assert record["safety"]["changed"] is False
    assert (record["notes"], record["next_steps"], record["next_visit"]) == (
        "home calm",
        "call school",
        next_visit,
    )
