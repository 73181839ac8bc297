"""The dashboard's User feedback widget end to end: real runs and votes over HTTP on the local stack, the widget
function invoked with CloudWatch's custom-widget event, and its HTML rendered in headless Chromium.

tests/integration/render_widget.mjs (playwright-core driving Debian's /usr/bin/chromium) opens a page that holds
the widget's HTML the way a dashboard does (<cwdb-action> elements hidden; the console's button styles), takes
a screenshot and reports what a viewer gets. Screenshots land in test-artifacts/widget/ (git-ignored):
feedback-widget.png (the page) and feedback-widget-run.png (a run's popup).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import widget_event

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCRIPT = Path(__file__).with_name("render_widget.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "widget"
TIMEOUT = 30
SCHEMAS = {
    "input_schema": {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]},
    "output_schema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
}
SCRIPT_COMMENT = "<script>window.pwned = 1; alert('script')</script>The answer ignored my question."
IMAGE_COMMENT = '"><img src="http://127.0.0.1:9/x.png" onerror="window.pwned = 1; alert(\'img\')">Wrong city.'
ACTION_COMMENT = (
    '</td></tr></table><a class="btn btn-primary">Delete everything</a>'
    '<cwdb-action action="call" endpoint="arn:aws:lambda:us-east-1:111111111111:function:evil">{}</cwdb-action>'
)
LONG_COMMENT = "The second paragraph contradicts the first. " * 12
# Roughly what the CloudWatch console gives a custom widget: its frame, its button classes, and no <cwdb-action>
# shown (the console turns each into a behaviour of the element before it).
SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "Amazon Ember", "Helvetica Neue", Arial, sans-serif; margin: 0; background: #f2f3f3; }}
body {{ color: #16191f; }}
main {{ padding: 16px; }}
.cw-widget {{ background: #fff; border: 1px solid #d5dbdb; border-radius: 2px; padding: 8px 12px; }}
.cw-widget > h1 {{ font-size: 16px; margin: 0 0 8px; }}
cwdb-action {{ display: none; }}
.btn {{ display: inline-block; padding: 3px 14px; margin: 4px 0; border: 1px solid #545b64; border-radius: 2px;
  color: #545b64; font-weight: bold; text-decoration: none; cursor: pointer; }}
.btn-primary {{ background: #0972d3; border-color: #0972d3; color: #fff; }}
input, select {{ font: inherit; padding: 2px 4px; }}
h2 {{ font-size: 15px; }} h3 {{ font-size: 14px; }}
</style></head>
<body><main><section class="cw-widget" aria-labelledby="widget-title"><h1 id="widget-title">{title}</h1>
{widget}
</section></main></body></html>
"""


def _post(stack: Any, path: str, body: dict[str, Any], api_key: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = requests.post(f"{stack.base_url}{path}", json=body, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def _render(html_text: str, title: str, name: str) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = ARTIFACTS / f"{name}.html"
    page.write_text(SHELL.format(title=html.escape(title), widget=html_text))
    screenshot = ARTIFACTS / f"{name}.png"
    done = subprocess.run(
        ["node", str(SCRIPT), str(page), str(screenshot)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    assert done.returncode == 0 and report.get("ok"), f"{report.get('error') or done.stdout}\n{done.stderr}"
    assert screenshot.stat().st_size > 0
    return report


@pytest.fixture(scope="module")
def browser_ready() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make e2e-deps` (installs Debian's chromium package).")
    if shutil.which("node") is None or not (ROOT / "node_modules" / "playwright-core").is_dir():
        pytest.fail("Node or playwright-core is missing: run `make install` (npm ci at the repository root).")


def test_user_feedback_widget_in_chromium(stack, api_key, feedback_items, browser_ready):
    agent = f"widget-{uuid.uuid4().hex[:8]}"
    _post(stack, "/v1/_/agents", {"id": agent, **SCHEMAS}, api_key)
    version = {"model": "offline", "instructions": "Answer travel questions in one sentence."}
    runs = [
        _post(
            stack, f"/v1/_/agents/{agent}/schemas/1/run", {"task_input": {"question": q}, "version": version}, api_key
        )
        for q in ("Capital of Australia?", "Best month for Oslo?", "Is Lyon far from Paris?")
    ]
    first, second, third = ({"run": run["id"], "token": run["feedback_token"]} for run in runs)

    def vote(run: dict[str, str], outcome: str, user_id: str | None = None, comment: str | None = None) -> None:
        body = {"feedback_token": run["token"], "outcome": outcome, "user_id": user_id, "comment": comment}
        _post(stack, "/v1/feedback", {key: value for key, value in body.items() if value is not None})

    vote(first, "negative", "ana", SCRIPT_COMMENT)
    vote(first, "negative", "bo", IMAGE_COMMENT)
    vote(second, "positive")
    vote(second, "negative", "cy", ACTION_COMMENT)
    vote(third, "negative", "erase-me", "Please forget what I said about my neighbour.")
    vote(third, "negative", "dee", LONG_COMMENT)
    vote(third, "negative", "eve", SCRIPT_COMMENT)
    vote(first, "positive", "ana", "Changed my mind: <b>it was right</b>.")  # one entry, current outcome
    assert _post(stack, "/v1/_/feedback/erasures", {"user_id": "erase-me"}, api_key)["erased"] == 1
    stack.wait_for_streams()  # the totals read the aggregates the streams keep

    markup = stack.invoke("FeedbackWidgetFunction", widget_event(agent))
    assert isinstance(markup, str)
    # Its totals: the six current votes (the erased one gone), over the whole UTC day of the last hour.
    assert ", every version, both outcomes: 6 current votes, 2 positive, 4 negative; satisfaction 33.3%" in markup
    report = _render(markup, "User feedback", "feedback-widget")

    # Current votes, newest first (by first vote): ana's change shows once, the erased user not at all.
    negative, positive = "▼ Negative", "▲ Positive"
    assert [row[0] for row in report["rows"]] == [negative, negative, negative, positive, negative, positive]
    comments = [row[2] for row in report["rows"]]
    assert comments[1].startswith(LONG_COMMENT[:100].strip()) and comments[1].endswith("… whole comment")
    assert comments[:1] + comments[2:] == [
        SCRIPT_COMMENT,
        ACTION_COMMENT,
        "no comment",
        IMAGE_COMMENT,
        "Changed my mind: <b>it was right</b>.",
    ]
    runs_shown = [row[4] for row in report["rows"]]
    assert runs_shown == [third["run"]] * 2 + [second["run"]] * 2 + [first["run"]] * 2
    assert "Please forget" not in markup and "erase-me" not in markup
    assert report["headers"] == ["Outcome", "Date", "Comment", "Version", "Run"]

    # Hostile text stayed text: nothing ran, loaded or was added, and the only actions are the widget's own.
    assert report["pwned"] is None and report["dialogs"] == [] and report["page_errors"] == []
    assert report["injected"] == [] and report["with_handlers"] == [] and report["requests"] == []
    assert report["buttons"] == ["Apply"] and report["actions_visible"] == 0
    assert report["actions"] == 1 + 2 * 6 + 1  # Apply, a version and a run link per row, the long comment's popup
    assert report["form_values"] == {"tenant": "acme", "agent": agent, "outcome": "", "version": "", "with_comment": ""}
    assert report["axe"] == []
    # What the widget showed is what DynamoDB Local holds: the erased user's entry is gone from the table.
    assert sorted(item["user_id"]["S"] for item in feedback_items(third["run"])) == ["dee", "eve"]

    # A run's link: its detail in a popup, with all its current feedback.
    popup = stack.invoke("FeedbackWidgetFunction", widget_event(agent, run=first["run"]))
    run_report = _render(popup, "Run detail", "feedback-widget-run")
    assert run_report["rows"][-2:] == [
        ["▼ Negative", run_report["rows"][-2][1], "bo", IMAGE_COMMENT],
        ["▲ Positive", run_report["rows"][-1][1], "ana", "Changed my mind: <b>it was right</b>."],
    ]
    assert run_report["pwned"] is None and run_report["injected"] == [] and run_report["axe"] == []
    assert "Capital of Australia?" in popup and "Answer travel questions in one sentence." in popup
