"""The HTTP server behind the Lambda Web Adapter: the event rebuilt from LWA's request, whole and streamed answers over
a real socket on 127.0.0.1, failures, the invocation's context, and the exec wrapper that starts it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from agentfeedback.core import lwa_server
from agentfeedback.core.lwa_server import InvocationContext, LwaServer, event_from_request
from agentfeedback.core.streaming import StreamedResponse
from tests.helpers import ROOT, emf_metric, load_event, load_handler

API_EVENTS = sorted(
    path.relative_to(ROOT / "events").as_posix()
    for path in (ROOT / "events").glob("*/*.json")
    if "httpMethod" in json.loads(path.read_text())
)
DEADLINE_IN = 90_000  # ms


def lambda_context_header(deadline_ms: int | None = None) -> str:
    """What LWA sends in x-amzn-lambda-context (lambda_runtime::Context, serialised by serde)."""
    return json.dumps(
        {
            "request_id": "0f6c2a9e-1b7d-4c3e-9a55-8d2e6f1a7b90",
            "deadline": deadline_ms if deadline_ms is not None else int(time.time() * 1000) + DEADLINE_IN,
            "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:RunFunction",
            "xray_trace_id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "client_context": None,
            "identity": None,
            "env_config": {
                "function_name": "RunFunction",
                "memory": 512,
                "version": "$LATEST",
                "log_stream": "2026/11/26/[$LATEST]abc",
                "log_group": "/aws/lambda/RunFunction",
            },
        }
    )


def send_as_lwa(port: int, event: dict[str, Any], lambda_context: str | None = None) -> http.client.HTTPResponse:
    """The HTTP request LWA makes of an API Gateway event: its method, `path` (percent-encoded) and query string,
    its headers, its body, and the request context and Lambda context in their two headers."""
    target = quote(event["path"])
    if event.get("multiValueQueryStringParameters"):
        target += "?" + urlencode(event["multiValueQueryStringParameters"], doseq=True)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest(event["httpMethod"], target, skip_host=True, skip_accept_encoding=True)
    for name, values in (event.get("multiValueHeaders") or {}).items():
        for value in values:
            connection.putheader(name, value)
    connection.putheader("x-amzn-request-context", json.dumps(event["requestContext"]))
    connection.putheader("x-amzn-lambda-context", lambda_context or lambda_context_header())
    body = (event.get("body") or "").encode()
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    return connection.getresponse()


@pytest.fixture
def serve() -> Iterator[Callable[..., LwaServer]]:
    servers: list[LwaServer] = []

    def start(handler: Callable[[dict[str, Any], Any], Any], **options: Any) -> LwaServer:
        server = LwaServer(handler, 0, **options)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def recording(answer: Any = None) -> tuple[list[tuple[dict[str, Any], Any]], Callable[..., Any]]:
    calls: list[tuple[dict[str, Any], Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        calls.append((event, context))
        return answer if answer is not None else {"statusCode": 200, "body": "{}"}

    return calls, handler


@pytest.mark.parametrize("relative", API_EVENTS)
def test_the_event_rebuilt_from_lwas_request_is_the_api_gateway_event(serve, relative):
    original = load_event(relative)
    calls, handler = recording()
    server = serve(handler)
    assert send_as_lwa(server.port, original).status == 200
    ((event, _),) = calls
    # Content-Length is what any HTTP client adds (LWA's too); the rest is the event API Gateway sent.
    rebuilt_headers = {name: value for name, value in event["headers"].items() if name != "Content-Length"}
    assert rebuilt_headers == original["headers"]
    assert {k: v for k, v in event["multiValueHeaders"].items() if k != "Content-Length"} == original[
        "multiValueHeaders"
    ]
    for field in (
        "resource",
        "path",
        "httpMethod",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "requestContext",
        "body",
        "isBase64Encoded",
    ):
        assert event[field] == original[field], field


def test_the_tenant_reaches_the_handler_from_the_request_context_header(serve):
    calls, handler = recording()
    server = serve(handler)
    send_as_lwa(server.port, load_event("run/run_agent.json", tenant="globex")).read()
    assert calls[0][0]["requestContext"]["authorizer"]["tenant"] == "globex"


def test_repeated_query_names_and_headers_keep_every_value_and_the_last_as_single():
    event, _ = event_from_request(
        "GET",
        "/v1/acme/agents?limit=5&tag=a&tag=b&empty=",
        [("Accept", "text/plain"), ("X-Tag", "one"), ("X-Tag", "two")],
        b"",
    )
    assert event["queryStringParameters"] == {"limit": "5", "tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"], "empty": [""]}
    assert event["headers"]["X-Tag"] == "two" and event["multiValueHeaders"]["X-Tag"] == ["one", "two"]
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_path_parameters_follow_the_resource_including_a_greedy_one():
    context = json.dumps({"resourcePath": "/files/{bucket}/{key+}"})
    event, _ = event_from_request("GET", "/files/b%201/a/b/c.txt", [("x-amzn-request-context", context)], b"")
    assert event["path"] == "/files/b 1/a/b/c.txt"
    assert event["pathParameters"] == {"bucket": "b 1", "key": "a/b/c.txt"}
    assert event["headers"] is None  # the adapter's own header is not one of the request's


def test_a_body_that_is_not_utf8_is_passed_base64_encoded():
    event, _ = event_from_request("POST", "/x", [], b"\xff\x00\xfe")
    assert event["isBase64Encoded"] is True and event["body"] == "/wD+"


def test_the_lambda_context_answers_remaining_time_from_the_deadline_and_names_the_invocation():
    context = InvocationContext.from_header(lambda_context_header(int(time.time() * 1000) + 30_000))
    assert 29_000 <= context.get_remaining_time_in_millis() <= 30_000
    assert context.aws_request_id == "0f6c2a9e-1b7d-4c3e-9a55-8d2e6f1a7b90"
    assert context.function_name == "RunFunction" and context.memory_limit_in_mb == 512
    assert context.invoked_function_arn.endswith(":function:RunFunction")
    assert context.log_group_name == "/aws/lambda/RunFunction"
    past = InvocationContext.from_header(lambda_context_header(int(time.time() * 1000) - 5_000))
    assert past.get_remaining_time_in_millis() == 0


def test_without_a_lambda_context_header_the_runtime_environment_names_the_function():
    context = InvocationContext.from_header("not json", {"AWS_LAMBDA_FUNCTION_NAME": "ChatFunction"})
    assert context.function_name == "ChatFunction" and context.get_remaining_time_in_millis() == 0


def test_a_whole_response_keeps_status_headers_and_body(serve):
    answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Content-Type-Options": ["nosniff"]},
        "body": '{"id": "x"}',
        "isBase64Encoded": False,
    }
    _, handler = recording(answer)
    response = send_as_lwa(serve(handler).port, load_event("run/register_agent.json"))
    assert response.status == 201
    assert json.loads(response.read()) == {"id": "x"}
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Content-Type"] == "application/json"
    # No Server header naming the Python version.
    assert response.headers.get("Server") is None


def test_a_base64_body_is_sent_decoded(serve):
    _, handler = recording({"statusCode": 200, "body": "/wD+", "isBase64Encoded": True})
    response = send_as_lwa(serve(handler).port, load_event("run/show_agent.json"))
    assert response.read() == b"\xff\x00\xfe"


def test_streamed_chunks_arrive_one_by_one_before_the_next_is_made(serve):
    """The second chunk is made only once the client has read the first: a server that buffered would never
    deliver the first, and the stream would give up waiting."""
    client_has_first = threading.Event()
    made_after_first_was_read: list[bool] = []

    def body() -> Iterator[bytes]:
        yield b"data: 1\n\n"
        made_after_first_was_read.append(client_has_first.wait(timeout=5))
        yield b"data: 2\n\n"
        made_after_first_was_read.append(True)
        yield b"data: [DONE]\n\n"

    def handler(event: dict[str, Any], context: Any) -> StreamedResponse:
        return StreamedResponse(200, body(), {"Content-Type": "text/event-stream"})

    response = send_as_lwa(serve(handler).port, load_event("chat/chat_completion.json"))
    assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.read1() == b"data: 1\n\n"
    client_has_first.set()
    assert response.read() == b"data: 2\n\ndata: [DONE]\n\n"
    assert made_after_first_was_read == [True, True]


def test_an_exception_in_the_handler_is_a_500_in_the_error_shape_without_a_trace(serve):
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("secret detail /var/task/app.py line 12")

    response = send_as_lwa(serve(handler).port, load_event("run/run_agent.json"))
    body = response.read().decode()
    assert response.status == 500
    assert json.loads(body) == {
        "error": {
            "status_code": 500,
            "code": "internal_error",
            "message": "Something went wrong on our side; it has been logged.",
        }
    }
    assert "Traceback" not in body and "secret" not in body
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_exception_mid_stream_breaks_the_stream_instead_of_ending_it(serve):
    def body() -> Iterator[bytes]:
        yield b"data: 1\n\n"
        raise RuntimeError("provider went away")

    def handler(event: dict[str, Any], context: Any) -> StreamedResponse:
        return StreamedResponse(200, body(), {"Content-Type": "text/event-stream"})

    server = serve(handler)
    response = send_as_lwa(server.port, load_event("chat/chat_completion.json"))
    with pytest.raises(http.client.IncompleteRead) as broken:
        response.read()
    assert broken.value.partial == b"data: 1\n\n"
    # The server is still serving.
    assert send_as_lwa(server.port, load_event("run/show_agent.json")).status == 200


def test_a_client_gone_mid_stream_leaves_the_stream_to_finish(serve):
    """The run is recorded when its stream ends: a client that hangs up must not cut it short."""
    finished = threading.Event()
    client_gone = threading.Event()

    def body() -> Iterator[bytes]:
        yield b"data: 1\n\n"
        client_gone.wait(timeout=5)
        for _ in range(50):
            time.sleep(0.002)
            yield b"data: more\n\n" * 100
        finished.set()

    def handler(event: dict[str, Any], context: Any) -> StreamedResponse:
        return StreamedResponse(200, body(), {"Content-Type": "text/event-stream"})

    server = serve(handler)
    response = send_as_lwa(server.port, load_event("chat/chat_completion.json"))
    assert response.read1() == b"data: 1\n\n"
    response.close()
    client_gone.set()
    assert finished.wait(timeout=5)


def test_the_readiness_path_answers_without_calling_the_handler(serve):
    calls, handler = recording()
    server = serve(handler)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", lwa_server.READINESS_PATH)
    assert connection.getresponse().status == 200
    assert calls == []


def test_metrics_recorded_while_streaming_are_flushed_after_the_stream(serve, capfd, monkeypatch):
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "AgentFeedbackTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "agent-feedback")

    def body() -> Iterator[bytes]:
        yield b"data: 1\n\n"
        Metrics().add_metric(name="StreamedEvents", unit=MetricUnit.Count, value=2)
        yield b"data: 2\n\n"

    def handler(event: dict[str, Any], context: Any) -> StreamedResponse:
        return StreamedResponse(200, body(), {"Content-Type": "text/event-stream"})

    response = send_as_lwa(serve(handler).port, load_event("chat/chat_completion.json"))
    assert response.read() == b"data: 1\n\ndata: 2\n\n"
    # The flush follows the last chunk on the server's thread: wait for it.
    printed = ""
    deadline = time.monotonic() + 5
    while emf_metric(printed, "StreamedEvents") != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
        printed += capfd.readouterr().out
    assert emf_metric(printed, "StreamedEvents") == 2
    assert not Metrics().metric_set


def test_the_run_function_answers_through_the_server_as_when_invoked_directly(aws, serve, invoke):
    """The real run handler behind the server (moto in-process): registration answers the same either way."""
    body = {"id": "city-facts", "input_schema": {"type": "object"}, "output_schema": {"type": "object"}}
    event = load_event("run/register_agent.json", body=body)
    direct_status, _, direct_body = invoke("run", event)
    response = send_as_lwa(serve(load_handler("run").lambda_handler).port, event)
    assert (response.status, json.loads(response.read())) == (direct_status, direct_body) == (200, direct_body)
    assert response.headers["Content-Type"] == "application/json"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_exec_wrapper_starts_the_server_on_the_handler_the_function_names(tmp_path: Path):
    """What Lambda does with AWS_LAMBDA_EXEC_WRAPPER: run the wrapper with the runtime's variables set; the
    handler module comes from LAMBDA_TASK_ROOT, the server answers on AWS_LWA_PORT."""
    (tmp_path / "app.py").write_text(
        "import json\n"
        "def handle(event, context):\n"
        "    body = {'path': event['path'], 'tenant': event['requestContext']['authorizer']['tenant'],\n"
        "            'remaining': context.get_remaining_time_in_millis()}\n"
        "    return {'statusCode': 200, 'body': json.dumps(body)}\n"
    )
    port = _free_port()
    wrapper = ROOT / "layers/shared/agentfeedback/core/lwa_exec_wrapper.sh"
    assert os.access(wrapper, os.X_OK)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "LAMBDA_RUNTIME_DIR": str(tmp_path / "runtime"),
        "_HANDLER": "app.handle",
        "AWS_LWA_PORT": str(port),
    }
    process = subprocess.Popen([str(wrapper)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", lwa_server.READINESS_PATH)
                if connection.getresponse().status == 200:
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "the server never became ready"
                time.sleep(0.05)
        response = send_as_lwa(port, load_event("run/show_agent.json"))
        answer = json.loads(response.read())
        assert answer["path"] == "/v1/_/agents/city-facts" and answer["tenant"] == "acme"
        assert 80_000 < answer["remaining"] <= DEADLINE_IN
    finally:
        process.terminate()
        process.wait(timeout=10)
