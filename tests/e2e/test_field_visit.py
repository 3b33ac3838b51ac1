"""The real `fieldkit` in tmux: a visit typed key by key, killed mid-visit, recovered, signed."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli, sample_case, transfer_doc, write_json
from tests.waiting import TimedOut, until

PASSPHRASE = "e2e passphrase"
DEADLINE = 90.0  # generous: a loaded machine draws slowly; a quiet one returns at once
POLL = 0.05  # how often the pane is read while waiting for a condition
pytestmark = pytest.mark.xdist_group("e2e")
FIELDKIT = Path(sys.executable).with_name("fieldkit")


class Tmux:
    """One private tmux server (its own socket) holding the app's terminal."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"fk-e2e-{uuid.uuid4().hex[:10]}"
        self.session = "fieldkit"
        self.env = env

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout

    def start(self) -> None:
        """Run `fieldkit` (exec'd, so the pane's pid is the app's) in a 100×30 terminal: the
        command pip installed, as a worker runs it (`fieldkit.launch:main`)."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        command = f"exec env {env} {shlex.quote(str(FIELDKIT))}"
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", self.session, command)

    def pid(self) -> int:
        return int(self.tmux("list-panes", "-t", self.session, "-F", "#{pane_pid}").split()[0])

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def _drawn(self) -> str:
        """The pane with its colours and attributes: a focus move shows here, not in text."""
        return self.tmux("capture-pane", "-p", "-e", "-t", self.session)

    def settled(
        self,
        needle: str = "",
        timeout: float = DEADLINE,
        shows: Callable[[str], bool] | None = None,
    ) -> str:
        """The screen once two captures in a row are the same and show `needle` (and pass
        `shows`): a busy machine takes as long as it takes, a quiet one no longer."""
        previous: list[str | None] = [None]

        def still() -> str | None:
            drawn = self._drawn()
            text = self.screen()
            same, previous[0] = drawn == previous[0], drawn
            return text if same and needle in text and (shows is None or shows(text)) else None

        try:
            return until(still, f"{needle!r} to settle on the screen", timeout, POLL)
        except TimedOut as late:
            raise AssertionError(f"{late}; it was:\n{self.screen()}") from None

    def keys(self, *keys: str) -> None:
        """Each key once the screen has settled after the one before (no fixed pause); the
        waits that matter name what must be on the screen (`wait_for`)."""
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            self.settled()

    def text(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)
        self.settled(text)

    def wait_for(self, needle: str, timeout: float = DEADLINE) -> str:
        return self.settled(needle, timeout)

    def gone(self, timeout: float = DEADLINE) -> None:
        """Until the app has exited (its tmux session closes with it)."""
        try:
            until(lambda: not self.tmux("list-sessions"), "the app to exit", timeout, POLL)
        except TimedOut as late:
            raise AssertionError(f"{late}; the screen was:\n{self.screen()}") from None

    def kill_server(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def test_visit_survives_kill_and_is_signed(tmp_path: Path) -> None:
    """Type a visit, kill -9 mid-visit, reopen: the draft is offered with what was typed."""
    home = tmp_path / "home"
    env = {"FIELDKIT_HOME": str(home), "FIELDKIT_PASSPHRASE": PASSPHRASE, "TERM": "xterm-256color"}
    assert run_cli("init", "--user", "jsmith", env=env).returncode == 0
    case = sample_case("C-E2E")
    case["people"] = [p for p in case["people"] if p["id"] in ("p2", "p3")]
    case["unannounced_visits"] = {"required": False, "reason": ""}
    for visit in case["history"]["visits"]:
        for key in ("seen", "private_interview", "observed"):
            visit[key] = [pid for pid in visit[key] if pid == "p2"]
    imported = run_cli(
        "case", "import", str(write_json(tmp_path / "c.json", transfer_doc(case))), env=env
    )
    assert imported.returncode == 0, imported.stderr
    next_visit = (date.today() + timedelta(days=14)).isoformat()

    tmux = Tmux({**env, "PATH": os.environ.get("PATH", "")})
    try:
        tmux.start()
        tmux.wait_for("C-E2E")
        tmux.text("C-E2E")
        tmux.keys("Enter")
        tmux.wait_for("Start visit")
        tmux.keys("v")
        tmux.wait_for("Kind of contact")
        # from the date (the first text field) round to the kind (the step's body takes no
        # focus of its own)
        tmux.keys("Tab")
        # Each answer is awaited as drawn (a pressed ◉) before the next key: a capture that
        # has not changed yet is not proof that the key was handled.
        tmux.keys("Enter")  # kind: home (nothing is chosen for the worker)
        tmux.settled("◉ home")
        tmux.keys("Tab", "Enter")  # outcome: completed
        tmux.settled("◉ completed")
        tmux.keys("Tab", "Enter")  # announced
        tmux.settled("◉ Announced")
        tmux.keys("C-n")
        tmux.wait_for("Who is present")
        tmux.keys("BTab", "space")  # back from "others present" to the list: Leo is present
        tmux.settled(shows=lambda s: any("Leo" in line and "☑" in line for line in s.splitlines()))
        tmux.keys("C-n")
        tmux.wait_for("Safety check")
        tmux.keys("Right", "Enter")  # "No change"
        tmux.settled("◉ No change")
        tmux.keys("C-n")
        tmux.wait_for("private interview")
        tmux.keys("Enter")  # seen
        tmux.wait_for("interviewed privately")  # the next question shows once answered
        tmux.keys("Tab", "Enter")  # interviewed privately
        tmux.wait_for("Seen alone")
        tmux.keys("Tab", "Enter")  # seen alone: Yes
        tmux.keys("Tab")
        tmux.text("kitchen table")
        tmux.keys("Tab", "Right", "Enter")  # could be overheard: No
        # Once the answer is drawn, "saved" covers it: every change shows "saving…" until
        # the autosave has written it.
        shown = tmux.settled("✓ saved", shows=lambda s: "◉ No" in s.split("overheard")[-1])
        assert "kitchen table" in shown, shown
        os.kill(tmux.pid(), 9)
        tmux.gone()
        tmux.kill_server()

        tmux = Tmux({**env, "PATH": os.environ.get("PATH", "")})
        tmux.start()
        tmux.wait_for("Unfinished visits")
        tmux.keys("Enter")
        # The offer names the step too: wait for the step itself (its answered questions).
        shown = tmux.settled("Seen alone", shows=lambda s: "Unfinished visits" not in s)
        assert "kitchen table" in shown, "the draft kept what was typed before the kill"
        tmux.keys("C-n")
        tmux.wait_for("Progress on the service plan")
        tmux.keys("C-n")
        tmux.wait_for("Next visit date")
        tmux.text("home calm")
        tmux.keys("Tab")
        tmux.text("call school")
        tmux.keys("Tab")
        tmux.text(next_visit)
        tmux.keys("C-n")
        tmux.wait_for("Ready to sign")
        tmux.keys("C-s")
        tmux.wait_for("y signs")
        tmux.keys("y")
        tmux.wait_for("SIGNED")
        tmux.tmux("send-keys", "-t", tmux.session, "C-q")
        tmux.gone()
    finally:
        tmux.kill_server()

    shown_case = run_cli("case", "show", "C-E2E", "--json", env=env)
    assert shown_case.returncode == 0, shown_case.stderr
    detail = json.loads(shown_case.stdout)
    signed = [v for v in detail["records"]["visit"] if v["id"].startswith("v-")]
    assert len(signed) == 1 and signed[0]["signed"] is True
    visit = signed[0]
    assert visit["private_interview"] == ["p2"] and visit["seen"] == ["p2"]
    interview = visit["children"]["p2"]["private_interview"]
    assert interview["where"] == "kitchen table"
    assert interview["alone"] is True and interview["could_be_overheard"] is False
    assert visit["notes"] == "home calm" and visit["next_visit"] == next_visit
    assert visit["safety"]["changed"] is False and visit["kind"] == "home"
