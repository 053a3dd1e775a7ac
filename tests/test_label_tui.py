"""`artclf label` driven through a real terminal: tmux runs it, send-keys types, capture-pane reads.

Skips when tmux is not installed (apt-get install -y tmux). Waits poll the screen or the labels
file with a generous deadline; nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install -y tmux); "
                                "the terminal test of `artclf label` needs it")


class Tmux:
    def __init__(self) -> None:
        self.socket = f"artclf-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def start(self, name: str, command: str, cwd: Path) -> None:
        self("new-session", "-d", "-s", name, "-x", "110", "-y", "36", "-c", str(cwd), command)

    def screen(self, name: str, escapes: bool = False) -> str:
        return self("capture-pane", "-p", *(["-e"] if escapes else []), "-t", name)

    def keys(self, name: str, *keys: str) -> None:
        for key in keys:
            self("send-keys", "-t", name, key)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def wait_for(predicate, what: str, deadline: float = 180.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def current_id(tmux: Tmux, name: str) -> str | None:
    first = tmux.screen(name).splitlines()[:1]
    return first[0].split()[0] if first and "to label" in first[0] else None


def test_label_session_in_a_terminal_quit_and_resume(trained, tmp_path):
    tmux = Tmux()
    labels = tmp_path / "labels.jsonl"
    command = (f"{sys.executable} -c 'from train.cli import main; main()' label {trained['seeds']} --labels {labels} "
               f"--models-dir {trained['models']} --config {trained['config']} --refit-every 2 --annotator eve; "
               "echo EXIT=$?; sleep 600")
    try:
        tmux.start("one", command, tmp_path)
        first = wait_for(lambda: current_id(tmux, "one"), "the first article on screen")
        screen = tmux.screen("one")
        assert "[1] diplomacy" in screen and "[g] positive" in screen and "model:" in screen
        # Evidence n-grams are drawn bold and underlined (SGR 1 and 4) in the article text.
        assert "\x1b[" in tmux.screen("one", escapes=True)

        tmux.keys("one", "2", "b")  # energy, then the tone key saves
        wait_for(lambda: len(records(labels)) == 1, "the first label in labels.jsonl")
        assert records(labels)[0] | {"labeled_at": ""} == {
            "id": first, "topics": ["energy"], "tone": "negative", "source": "gold", "annotator": "eve",
            "labeled_at": "", "origin": f"artclf-label:{trained['seeds']}"}

        second = wait_for(lambda: (c := current_id(tmux, "one")) != first and c, "the next article")
        tmux.keys("one", "s")  # skip it
        third = wait_for(lambda: (c := current_id(tmux, "one")) not in (first, second) and c, "the article after the skip")
        tmux.keys("one", "1", "3", "g")  # diplomacy + territory, positive: the second label starts a refit
        wait_for(lambda: len(records(labels)) == 2, "the second label")
        assert records(labels)[1]["id"] == third and records(labels)[1]["topics"] == ["diplomacy", "territory"]
        wait_for(lambda: "refit #1" in tmux.screen("one"), "the background refit to finish")

        tmux.keys("one", "z")  # undo the last label
        wait_for(lambda: len(records(labels)) == 1, "the undo to remove the label")
        wait_for(lambda: current_id(tmux, "one") == third, "the undone article back on screen")
        tmux.keys("one", "q")
        wait_for(lambda: "EXIT=0" in tmux.screen("one"), "the session to quit")
        assert "1 label(s) saved" in tmux.screen("one")
        state = json.loads((tmp_path / "labels.jsonl.session.json").read_text())
        assert state["skipped"] == [second]
        history = records(tmp_path / "labels.history.jsonl")
        assert history[0]["id"] == third and history[0]["removed_because"] == "undo in artclf label"

        # Resume: labeled and skipped articles stay out of the queue.
        tmux.start("two", command, tmp_path)
        resumed = wait_for(lambda: current_id(tmux, "two"), "the resumed session")
        assert resumed not in (first, second)
        tmux.keys("two", "n")
        wait_for(lambda: len(records(labels)) == 2, "a label after resuming")
        assert [r["id"] for r in records(labels)] == [first, resumed]
        tmux.keys("two", "q")
        wait_for(lambda: "EXIT=0" in tmux.screen("two"), "the resumed session to quit")
    finally:
        tmux.close()


def test_label_bad_inputs_print_one_error(trained, tmp_path):
    from helpers import assert_one_error, invoke

    assert_one_error(invoke("label", tmp_path / "missing", "--labels", tmp_path / "l.jsonl",
                            "--models-dir", trained["models"]), "missing", "not found")
    labels = tmp_path / "labels.jsonl"
    labels.write_text("")
    labels.chmod(0o444)
    try:
        assert_one_error(invoke("label", trained["seeds"], "--labels", labels, "--models-dir", trained["models"]), "read-only")
    finally:
        labels.chmod(0o644)
    assert_one_error(invoke("label", trained["seeds"], "--labels", tmp_path / "l.jsonl", "--model", "v9",
                            "--models-dir", trained["models"]), "v9")
