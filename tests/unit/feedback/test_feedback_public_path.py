"""The public function's own path: what its cold start loads, and how its routes are documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers import ROOT, load_handler

# Runs in a fresh interpreter: imports the handler, answers a refused vote (no AWS call needed) and a preflight,
# then prints the statuses and the modules of pydantic or of Powertools' event handler that were loaded.
COLD_START = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app

class Context:
    function_name = "FeedbackFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:FeedbackFunction"
    aws_request_id = "7c1b2f8e-0d7e-4a51-9d0a-6d5c1a2b3c4d"

with open(sys.argv[3]) as stream:
    event = json.load(stream)
event["body"] = json.dumps({"feedback_token": "fb_x", "outcome": "meh"})
refused = app.lambda_handler(event, Context())
event["httpMethod"], event["body"] = "OPTIONS", None
preflight = app.lambda_handler(event, Context())
heavy = [name for name in sys.modules if name.startswith(("pydantic", "aws_lambda_powertools.event_handler"))]
print("RESULT " + json.dumps({"statuses": [refused["statusCode"], preflight["statusCode"]], "heavy": heavy}))
"""


def test_the_public_function_loads_neither_pydantic_nor_the_event_handler():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            COLD_START,
            str(ROOT / "functions" / "feedback"),
            str(ROOT / "layers" / "shared"),
            str(ROOT / "events" / "feedback" / "post_feedback.json"),
        ],
        env={**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "AgentFeedback"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result["statuses"] == [422, 204]
    assert result["heavy"] == []


def test_the_documented_routes_are_the_public_routes_with_their_models():
    document = json.loads(load_handler("feedback").app.get_openapi_json_schema())
    assert {path: sorted(operations) for path, operations in document["paths"].items()} == {
        "/v1/feedback": ["delete", "get", "post"]
    }
    operations = document["paths"]["/v1/feedback"]
    post, get, delete = operations["post"], operations["get"], operations["delete"]

    def schema_of(operation: dict) -> dict:
        return operation["responses"]["200"]["content"]["application/json"]["schema"]

    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/FeedbackRequest")
    # keep_comment with an unbound token: the comment kept is left out.
    assert sorted(ref["$ref"].rsplit("/", 1)[1] for ref in schema_of(post)["anyOf"]) == [
        "FeedbackResponse",
        "FeedbackSaved",
    ]
    # A bound token reads outcome and comment, an unbound one the outcome only.
    assert sorted(ref["$ref"].rsplit("/", 1)[1] for ref in schema_of(get)["anyOf"]) == ["FeedbackState", "OutcomeOnly"]
    assert schema_of(delete)["$ref"].endswith("/Retraction")
    for operation in (get, delete):
        parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
        assert parameters["feedback_token"]["required"] is True
        assert parameters["feedback_token"]["schema"]["maxLength"] == 2048
        assert parameters["user_id"]["required"] is False
    request = document["components"]["schemas"]["FeedbackRequest"]
    assert request["properties"]["outcome"]["enum"] == ["positive", "negative"]
    assert set(request["required"]) == {"feedback_token", "outcome"}
    assert request["properties"]["keep_comment"]["type"] == "boolean"
