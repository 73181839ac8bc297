"""POST .../versions/{number}/improve: instructions drafted from a version's negative feedback, saved as a version."""

from __future__ import annotations

import json

import pytest

from agentfeedback import composition
from agentfeedback.providers.base import Completion, CompletionRequest
from agentfeedback.review import improver
from agentfeedback.review.improve import ImproveService
from tests.unit.review.compare_helpers import AGENT, TENANT, improve, record_run, save_version, vote

INSTRUCTIONS = "Answer customer questions about orders."


@pytest.fixture
def feedback(aws):
    """Version 1, bound to production, with runs and votes; returns (version, ids of the negative comments, newest
    first)."""
    version = save_version(INSTRUCTIONS)
    composition.agent_registry().deploy(TENANT, AGENT, "production", 1)
    negative_ids = []
    for index, comment in enumerate(["Too long, just give the date.", "It ignored my order number.", "Wrong country."]):
        run = record_run(version, {"question": f"Where is order {index}?"}, {"answer": f"Somewhere {index}."})
        negative_ids.insert(
            0, vote(version.id, "negative", run_id=run, user_id=f"alice-{index}@example.com", comment=comment)
        )
    vote(version.id, "negative", user_id="bo@example.com")  # no comment: nothing to learn from
    vote(version.id, "positive", user_id="cy@example.com", comment="Clear and quick, thanks.")
    return version, negative_ids


def test_improve_saves_an_unbound_version_with_the_diff_changelog_and_feedback_used(invoke, feedback):
    _, negative_ids = feedback
    status, _, body = improve(invoke, 1, {"model": "offline"})
    assert status == 200, body
    assert (body["agent_id"], body["base_version"], body["created"], body["model"]) == (AGENT, 1, True, "offline")
    assert body["version"]["number"] == 2 and body["version"]["properties"]["model"] == "offline"
    assert body["version"]["properties"]["instructions"] == body["instructions"]
    assert body["feedback_ids"] == negative_ids
    # The offline draft: the old instructions, then the comments newest first as points to avoid.
    assert body["instructions"] == (
        f"{INSTRUCTIONS}\n\n{improver.OFFLINE_SECTION}\n"
        '- "Wrong country."\n- "It ignored my order number."\n- "Too long, just give the date."'
    )
    assert body["changelog"] and "3 points from negative comments on version 1" in body["changelog"][0]
    assert body["diff"] == (
        "--- version 1\n+++ version 2\n@@ -1 +1,6 @@\n"
        f" {INSTRUCTIONS}\n+\n+{improver.OFFLINE_SECTION}\n"
        '+- "Wrong country."\n+- "It ignored my order number."\n+- "Too long, just give the date."\n'
    )
    assert body["input_tokens"] > 0 and body["cost_usd"] == 0
    # Saved, and bound to no environment: production still runs version 1.
    registry = composition.agent_registry()
    assert registry.version(TENANT, AGENT, 2).id == body["version"]["id"]
    assert registry.environments(TENANT, AGENT) == {"production": 1}


def test_the_offline_draft_is_deterministic_and_does_not_stack(invoke, feedback):
    first = improve(invoke, 1)[2]
    again = improve(invoke, 1)[2]
    assert (again["version"]["number"], again["created"], again["instructions"]) == (2, False, first["instructions"])
    # Improving the draft replaces its feedback section rather than adding a second one.
    vote(first["version"]["id"], "negative", user_id="dee", comment="Still too long.")
    third = improve(invoke, 2)[2]
    assert third["version"]["number"] == 3
    assert third["instructions"] == f'{INSTRUCTIONS}\n\n{improver.OFFLINE_SECTION}\n- "Still too long."'


class Recorder:
    """A model that records what it is asked and answers `answers` in turn (then the last one again)."""

    def __init__(self, *answers: str) -> None:
        self.requests: list[CompletionRequest] = []
        self._answers = list(answers)

    def __call__(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        text = self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]
        return Completion(text=text, input_tokens=1000, output_tokens=200, model=request.model)


@pytest.fixture
def model(monkeypatch):
    """Replace the model behind the improve route; returns a function that installs a Recorder."""

    def install(*answers: str) -> Recorder:
        recorder = Recorder(*answers)
        service = ImproveService(
            composition.review_store(), composition.run_store(), composition.agent_registry(), recorder
        )
        monkeypatch.setattr(composition, "improve_service", lambda: service)
        return recorder

    return install


DRAFT = json.dumps({"instructions": "Answer in one sentence; quote the order number.", "changelog": ["Shorter."]})


def test_the_model_sees_comments_and_runs_but_no_end_user_ids(invoke, feedback, model):
    recorder = model(DRAFT)
    status, _, body = improve(invoke, 1, {"model": "gpt-4o-mini", "include_positive": True})
    assert status == 200, body
    [request] = recorder.requests
    assert request.model == "gpt-4o-mini" and request.json_schema == improver.OUTPUT_SCHEMA
    system, user = request.messages
    assert (system.role, system.content) == ("system", improver.SYSTEM_PROMPT)
    document = json.loads(user.content)
    assert document["current_instructions"] == INSTRUCTIONS
    assert [item["outcome"] for item in document["feedback"]] == ["negative"] * 3 + ["positive"]
    assert document["feedback"][0]["comment"] == "Wrong country."
    assert json.loads(document["feedback"][0]["input"]) == {"question": "Where is order 2?"}
    assert json.loads(document["feedback"][0]["output"]) == {"answer": "Somewhere 2."}
    everything = json.dumps([message.content for message in request.messages])
    assert "example.com" not in everything and "alice" not in everything
    assert body["instructions"] == "Answer in one sentence; quote the order number."
    assert body["changelog"] == ["Shorter."] and len(body["feedback_ids"]) == 4
    assert body["cost_usd"] > 0  # gpt-4o-mini has a price; 1,000 in and 200 out


def test_the_default_model_is_the_versions_own(invoke, feedback, model):
    recorder = model(DRAFT)
    assert improve(invoke, 1)[0] == 200
    assert recorder.requests[0].model == "offline"


def test_max_feedback_takes_the_newest_items_only(invoke, feedback, model):
    _, negative_ids = feedback
    recorder = model(DRAFT)
    status, _, body = improve(invoke, 1, {"max_feedback": 2})
    assert status == 200 and body["feedback_ids"] == negative_ids[:2]
    assert len(json.loads(recorder.requests[0].messages[1].content)["feedback"]) == 2


def test_an_invalid_answer_is_asked_once_more_then_refused(invoke, feedback, model):
    recorder = model('{"instructions": ""}', DRAFT)
    status, _, body = improve(invoke, 1)
    assert status == 200 and len(recorder.requests) == 2, body
    assert "invalid" in recorder.requests[1].messages[-1].content
    model("not json at all")
    status, _, body = improve(invoke, 1)
    assert status == 502 and body["error"]["code"] == "invalid_model_output"
    assert composition.agent_registry().versions(TENANT, AGENT)[-1].number == 2  # nothing saved by the failure


def test_a_version_without_negative_comments_is_409_and_saves_nothing(invoke, aws):
    version = save_version(INSTRUCTIONS)
    vote(version.id, "negative", user_id="bo")
    vote(version.id, "positive", user_id="cy", comment="Great.")
    status, _, body = improve(invoke, 1)
    assert status == 409, body
    assert body["error"]["code"] == "no_negative_feedback"
    assert "no negative feedback with a comment" in body["error"]["message"]
    assert [saved.number for saved in composition.agent_registry().versions(TENANT, AGENT)] == [1]


def test_feedback_of_another_tenant_is_never_used(invoke, aws):
    version = save_version(INSTRUCTIONS)
    save_version(INSTRUCTIONS, tenant="globex")  # the same version id in another tenant
    vote(version.id, "negative", comment="Leaked?", tenant="globex")
    assert improve(invoke, 1)[0] == 409
    status, _, body = improve(invoke, 1, tenant="globex")
    assert status == 200 and "Leaked?" in body["instructions"]


@pytest.mark.parametrize(
    ("number", "body", "status", "mentions"),
    [
        (7, {}, 404, "no saved version 7"),
        (1, {"model": "no-such-model"}, 400, "offline"),
        (1, {"max_feedback": 0}, 422, "max_feedback"),
        (1, {"max_feedback": 51}, 422, "max_feedback"),
        (1, {"include_positive": "maybe"}, 422, "include_positive"),
        (1, {"temperature": 1}, 422, "temperature"),
        ("0", {}, 422, "number"),
        ("x", {}, 422, "number"),
    ],
)
def test_bad_requests_are_clear_4xx_and_save_nothing(invoke, feedback, number, body, status, mentions):
    got, _, answer = improve(invoke, number, body)
    assert got == status, answer
    assert mentions in answer["error"]["message"]
    assert [saved.number for saved in composition.agent_registry().versions(TENANT, AGENT)] == [1]
