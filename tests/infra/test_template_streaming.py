"""The run and chat functions stream behind the Lambda Web Adapter: their layer, wrapper and adapter settings, the
STREAM transfer mode on every route they serve, and the run time limit; every other function stays buffered."""

from __future__ import annotations

import os
import re

import pytest

from agentfeedback.core import lwa_server
from agentfeedback.core.settings import DEFAULT_RUN_TIME_LIMIT_SECONDS
from local.template import load_template
from tests.helpers import ROOT, load_handler

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]
STREAMING = {"RunFunction": "run", "ChatFunction": "chat"}
LAMBDA_MAX_TIMEOUT = 900  # seconds; also API Gateway's longest stream (15 minutes)
FUNCTIONS = {
    name: spec["Properties"] for name, spec in RESOURCES.items() if spec["Type"] == "AWS::Serverless::Function"
}


def api_events(function: str) -> dict[str, dict]:
    return {
        name: event["Properties"]
        for name, event in (FUNCTIONS[function].get("Events") or {}).items()
        if event["Type"] == "Api"
    }


@pytest.mark.parametrize("function", STREAMING)
def test_every_route_of_a_streaming_function_streams_for_up_to_15_minutes(function):
    """The adapter answers in Lambda's streaming format on every invocation, so a route of the function left on a
    buffered integration (Invoke, not InvokeWithResponseStream) would fail: each one streams."""
    events = api_events(function)
    assert events
    for name, event in events.items():
        # SAM turns this into responseTransferMode STREAM and the .../2021-11-15/.../response-streaming-invocations URI.
        assert event["ResponseTransferMode"] == "RESPONSE_STREAM", name
        assert event["TimeoutInMillis"] == LAMBDA_MAX_TIMEOUT * 1000, name


def test_only_the_run_and_chat_functions_stream():
    for function in FUNCTIONS:
        if function not in STREAMING:
            assert all("ResponseTransferMode" not in event for event in api_events(function).values()), function
            assert "AWS_LAMBDA_EXEC_WRAPPER" not in (FUNCTIONS[function].get("Environment") or {}).get(
                "Variables", {}
            ), function


@pytest.mark.parametrize("function", STREAMING)
def test_a_streaming_function_runs_the_layers_server_behind_the_web_adapter(function):
    properties = FUNCTIONS[function]
    assert {"Ref": "WebAdapterLayerArn"} in properties["Layers"]
    variables = properties["Environment"]["Variables"]
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert variables["AWS_LWA_READINESS_CHECK_PATH"] == lwa_server.READINESS_PATH
    assert 1024 <= int(variables["AWS_LWA_PORT"]) < 65536
    # The shared layer is built into /opt/python (BuildMethod python3.12): the wrapper is its file, executable.
    wrapper = variables["AWS_LAMBDA_EXEC_WRAPPER"]
    assert wrapper.startswith("/opt/python/")
    source = ROOT / RESOURCES["SharedLayer"]["Properties"]["ContentUri"] / wrapper.removeprefix("/opt/python/")
    assert source.is_file() and os.access(source, os.X_OK)
    assert "agentfeedback.core.lwa_server" in source.read_text()


@pytest.mark.parametrize(("function", "folder"), STREAMING.items())
def test_the_handler_names_a_function_its_module_defines(function, folder):
    """The server imports _HANDLER, as the Python runtime would; the local stack reads the same string."""
    module_name, _, attribute = FUNCTIONS[function]["Handler"].rpartition(".")
    assert module_name == "app"
    assert callable(getattr(load_handler(folder), attribute))


def test_the_web_adapter_layer_matches_the_functions_architecture_and_the_deploy_region():
    parameter = PARAMETERS["WebAdapterLayerArn"]
    assert re.fullmatch(parameter["AllowedPattern"], parameter["Default"])
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert ":layer:LambdaAdapterLayerArm64:" in parameter["Default"]
    samconfig = (ROOT / "samconfig.toml").read_text()
    regions = set(re.findall(r'^region = "([a-z0-9-]+)"', samconfig, re.MULTILINE))
    assert regions == {parameter["Default"].split(":")[3]}


@pytest.mark.parametrize("function", STREAMING)
def test_the_run_time_limit_reaches_the_function_and_fits_its_timeout(function):
    limit = PARAMETERS["RunTimeLimitSeconds"]
    assert limit["Default"] == DEFAULT_RUN_TIME_LIMIT_SECONDS == 120
    properties = FUNCTIONS[function]
    assert properties["Environment"]["Variables"]["RUN_TIME_LIMIT_SECONDS"] == {"Ref": "RunTimeLimitSeconds"}
    # The Timeout is a backstop: the longest run still leaves time to record it and finish the stream.
    assert limit["MaxValue"] + 60 <= properties["Timeout"] <= LAMBDA_MAX_TIMEOUT


@pytest.mark.parametrize("function", ["RunFunction", "ChatFunction"])
def test_a_streaming_function_may_call_bedrocks_converse_stream_when_bedrock_is_on(function):
    from tests.infra.test_template_review import properties, resolver

    def actions(**parameters: str) -> set[str]:
        found: set[str] = set()
        for statement in properties(function)["Policies"][0]["Statement"]:
            if "Fn::If" in statement:
                condition, when_true, when_false = statement["Fn::If"]
                statement = when_true if resolver(**parameters).condition(condition) else when_false
            if statement != {"Ref": "AWS::NoValue"}:
                listed = statement["Action"]
                found |= set(listed if isinstance(listed, list) else [listed])
        return found

    # ConverseStream is authorised by InvokeModelWithResponseStream (Bedrock API reference), Converse by InvokeModel.
    assert {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"} <= actions(BedrockEnabled="true")
    assert not {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"} & actions()
