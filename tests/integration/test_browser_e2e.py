"""FeedbackButtons end to end: the demo page in headless Chromium against the local stack.

Runs clients/web/e2e/feedback.e2e.mjs (playwright-core driving Debian's /usr/bin/chromium) on the demo
server of examples/demo, then checks through the public GET API and DynamoDB Local that exactly one
entry holds the votes' history, ending with the vote taken back. The scenario also fails a vote slowly while
the user types in the comment dialog, clicks before the saved state has loaded and after loading failed, presses
the busy Ask button, takes the vote back by clicking the pressed thumb, and runs axe-core (WCAG 2.x A/AA) on the
page in its states. The demo server makes the run for the page's user, so the token is bound to them.
Screenshots land in test-artifacts/e2e/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
WEB = ROOT / "clients" / "web"
DEMO = ROOT / "examples" / "demo"
E2E_SCRIPT = WEB / "e2e" / "feedback.e2e.mjs"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
VITE = ROOT / "node_modules" / ".bin" / "vite"
USER_ID = "demo-user"
QUESTION = "What is the capital of France?"
FINAL_COMMENT = "On second thought, the answer is made up."


def _newest_mtime(paths: list[Path]) -> float:
    return max(
        (p.stat().st_mtime for path in paths for p in ([path] if path.is_file() else path.rglob("*"))), default=0
    )


def _run(command: list[str], what: str, timeout: float = 180) -> None:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({' '.join(command)}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def demo_page_built() -> None:
    """The browser prerequisites, then the package's dist (if stale) and the demo page, built with vite."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make e2e-deps` (installs Debian's chromium package).")
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "playwright-core").is_dir() or not VITE.is_file():
        pytest.fail("Node, playwright-core or vite is missing: run `make install` (npm ci at the repository root).")
    package_sources = [WEB / "src", WEB / "package.json", WEB / "vite.config.ts"]
    built = WEB / "dist" / "index.js"
    if not built.is_file() or built.stat().st_mtime < _newest_mtime(package_sources):
        _run([str(VITE), "build", "--logLevel", "warn", str(WEB)], "Building clients/web/dist")
    _run([str(VITE), "build", "--config", str(DEMO / "vite.config.mjs")], "Building the demo page")


@pytest.fixture
def demo_url(stack: Any, api_key: str, demo_page_built: None) -> Iterator[str]:
    """The demo server on a free port, as a subprocess (stopped afterwards)."""
    command = [sys.executable, str(DEMO / "server.py"), "--api-url", stack.base_url, "--port", "0", "--quiet"]
    environment = {**os.environ, "DEMO_API_KEY": api_key}  # not on the command line
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("Demo: "):
            process.kill()
            pytest.fail(f"The demo server did not start: {line}\n{process.communicate(timeout=10)[1]}")
        yield line.removeprefix("Demo: ")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_feedback_buttons_in_chromium(stack, api_key, demo_url, feedback_items):
    # The page asks the demo server for its run; so do we, to know the token (one run per question).
    run = requests.get(f"{demo_url}api/run", params={"question": QUESTION, "user": USER_ID}, timeout=30)
    assert run.status_code == 200, run.text
    demo_run = run.json()
    assert demo_run["feedback_token"].startswith("fb_") and demo_run["api_url"] == stack.base_url
    assert api_key not in run.text  # the API key never reaches the browser

    done = subprocess.run(
        [
            "node",
            str(E2E_SCRIPT),
            demo_url,
            stack.base_url,
            "--user",
            USER_ID,
            "--question",
            QUESTION,
            "--artifacts",
            str(ARTIFACTS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    assert done.returncode == 0 and report.get("ok"), (
        f"browser scenario failed (screenshots in {ARTIFACTS}):\n{report.get('error') or done.stdout}\n{done.stderr}"
    )
    assert report["run_id"] == demo_run["run_id"]
    assert report["steps"][-1] == "final reload"
    assert "Your feedback was not saved" in report["network_failure_message"]
    assert "down for maintenance" in report["server_error_message"]
    assert (ARTIFACTS / "demo-after-feedback.png").stat().st_size > 0

    # A vote that failed slowly while the user typed: nothing typed was lost, the error was in the dialog.
    slow = report["slow_failure"]
    assert slow["caret_at_end"] is True
    assert slow["dialog_open"] is True and slow["focus_in_text_box"] is True
    assert slow["draft"] == "The answer was right, but it took"
    assert slow["aria_invalid"] == "true"
    assert "down for maintenance" in slow["error_in_dialog"]
    assert "down for maintenance" in slow["announced"]  # from a role=alert element
    assert slow["after_space"] == slow["reopened_draft"] == "The answer was right, but it took "
    assert slow["focus_after_escape"] == ["Edit comment", None]  # no thumb: Space there votes or retracts

    # Clicks before the saved state was known never erased the comment.
    early = report["early_click"]
    assert early["busy_when_clicked"] == "true" and early["posts_while_loading"] == 0
    assert early["post_body"]["comment"] == FINAL_COMMENT and early["saved"]["comment"] == FINAL_COMMENT
    assert report["load_failed"]["posts"] == 0
    assert "Your feedback was not saved" in report["load_failed"]["message"]

    # The busy Ask button kept the focus and started no second run.
    assert report["ask"] == {
        "focused_while_running": "Running…",
        "requests_while_running": 1,
        "focused_after_run": "Ask",
    }

    # The vote taken back: unpressed before the server answered, confirmed, announced politely, no alert.
    assert report["retraction"] == {
        "pressed_before_answer": False,
        "status": 200,
        "announced": "Your vote was removed.",
        "live": "polite",
        "comment_button": 0,
    }

    # axe-core: no WCAG A/AA violation (nor content outside landmarks) in any state of the page.
    assert report["axe"] == {"initial": [], "dialog open": [], "error shown": [], "load failed": [], "retracted": []}

    # The public GET API, with the bound token and no user_id: no vote, no comment.
    saved = requests.get(
        f"{stack.base_url}/v1/feedback", params={"feedback_token": demo_run["feedback_token"]}, timeout=10
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"outcome": None, "comment": None}

    # DynamoDB Local: exactly one entry for this run and user, whatever the clicks and failed saves; it holds no
    # vote and no comment now, only its history.
    [item] = feedback_items(demo_run["run_id"])
    assert item["user_id"]["S"] == USER_ID and not {"outcome", "comment", "tenant_agent"} & set(item)

    # The review API shows that history: every confirmed change in order, the failed saves in none of it.
    history = requests.get(
        f"{stack.base_url}/v1/_/agents/feedback-demo/runs/{demo_run['run_id']}/feedback",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert history.status_code == 200, history.text
    [entry] = history.json()["items"]
    assert [(event["outcome"], event["comment_changed"]) for event in entry["history"]] == [
        ("positive", False),  # thumbs up
        ("positive", True),  # its comment
        ("negative", False),  # thumbs down, the comment kept
        ("negative", True),  # the comment edited
        ("positive", False),  # clicked while loading: the saved comment kept
        ("negative", False),  # back to thumbs down
        (None, True),  # taken back, with its comment
    ]
