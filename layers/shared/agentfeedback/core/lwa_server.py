"""The HTTP server that the AWS Lambda Web Adapter (LWA) forwards each invocation to, so a function can stream.

In AWS, the run and chat functions answer through API Gateway's `ResponseTransferMode: STREAM` and Lambda's
InvokeWithResponseStream. A Python function on the managed runtime cannot stream by itself; the Lambda Web Adapter
extension (`AWS_LWA_INVOKE_MODE=response_stream`) can: it receives each invocation and replays it as an HTTP request
to a server in the function's own process tree, whose response it streams back. This module is that server:

- `lwa_exec_wrapper.sh` (the function's `AWS_LAMBDA_EXEC_WRAPPER`) starts it in place of the Python runtime;
  it imports the function's handler (`_HANDLER`, e.g. `app.handle`) before it listens, so the import is part of
  the init phase and the first readiness answer means "ready".
- Each request becomes the API Gateway (REST, Lambda proxy) event the handler would have received
  (`event_from_request`): LWA sends the method, the path, the query string, the headers and the body, and the rest
  in two headers: `x-amzn-request-context` (the event's `requestContext`, with the authorizer's context, i.e. the
  tenant) and `x-amzn-lambda-context` (request id, deadline in ms since the epoch, function configuration), from
  which `InvocationContext` answers what a LambdaContext does (`get_remaining_time_in_millis` included).
- The handler answers `dict | StreamedResponse` (core.streaming): a dict is written whole, a StreamedResponse chunk
  by chunk (HTTP/1.1 chunked transfer coding, each chunk sent as it comes, TCP_NODELAY).
- An exception in the handler is a 500 in the one error shape (no trace in the response; logged); one in a stream
  already under way ends the connection without the last chunk, so the client sees a broken stream, not a complete
  one. A client gone mid-stream: the rest of the stream is still produced (and discarded), so the run is recorded.
- Powertools metrics recorded while a stream was written are flushed after it (the handler's decorator flushed
  what it had when it returned).

Standard library only (http.server), for cold start: `bench/cold_start_lwa.py` measures process start to ready and
to the first answer. Sources: the LWA README and its `src/lib.rs` (headers, readiness check, `AWS_LWA_PORT`); the
Lambda Rust runtime's `Context` (the lambda context's field names) and `aws_lambda_events` (the request context's).
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from agentfeedback.core.errors import InternalError
from agentfeedback.core.http_api import proxy_error
from agentfeedback.core.streaming import StreamedResponse

REQUEST_CONTEXT_HEADER = "x-amzn-request-context"
LAMBDA_CONTEXT_HEADER = "x-amzn-lambda-context"
# Headers LWA adds to the invocation; the handler never saw them when API Gateway invoked it directly.
_ADAPTER_HEADERS = frozenset({REQUEST_CONTEXT_HEADER, LAMBDA_CONTEXT_HEADER})
# template.yaml sets AWS_LWA_READINESS_CHECK_PATH to this; API Gateway routes no request here (no such resource).
READINESS_PATH = "/_lwa/ready"
LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8080  # LWA's own default for AWS_LWA_PORT
_PATH_PARAMETER = re.compile(r"\{([^}/]+?)(\+?)\}")

Handler = Callable[[dict[str, Any], Any], "dict[str, Any] | StreamedResponse"]
logger = logging.getLogger(__name__)


class InvocationContext:
    """What a Lambda context object answers, read from LWA's `x-amzn-lambda-context` header (JSON: request_id,
    deadline in ms since the Unix epoch, invoked_function_arn, xray_trace_id, env_config{function_name, memory,
    version, log_group, log_stream}); what it lacks comes from the runtime's environment variables."""

    def __init__(self, fields: Mapping[str, Any], env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        config = fields.get("env_config") or {}
        self.aws_request_id = str(fields.get("request_id") or "")
        self.invoked_function_arn = str(fields.get("invoked_function_arn") or "")
        self.function_name = str(config.get("function_name") or env.get("AWS_LAMBDA_FUNCTION_NAME", ""))
        self.function_version = str(config.get("version") or env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"))
        self.memory_limit_in_mb = int(config.get("memory") or env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
        self.log_group_name = str(config.get("log_group") or env.get("AWS_LAMBDA_LOG_GROUP_NAME", ""))
        self.log_stream_name = str(config.get("log_stream") or env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""))
        self.xray_trace_id = fields.get("xray_trace_id")
        self.identity = fields.get("identity")
        self.client_context = fields.get("client_context")
        self._deadline_ms = int(fields.get("deadline") or 0)

    @classmethod
    def from_header(cls, value: str | None, env: Mapping[str, str] | None = None) -> InvocationContext:
        """The context of one invocation; an absent or unreadable header gives one without deadline."""
        try:
            fields = json.loads(value) if value else {}
        except ValueError:
            fields = {}
        return cls(fields if isinstance(fields, dict) else {}, env)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation's deadline (0 once passed); without a deadline, 0."""
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _query_parameters(query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views of a query string: the last value of each name, and all of them (None when empty)."""
    multi = parse_qs(query, keep_blank_values=True)
    if not multi:
        return None, None
    return {name: values[-1] for name, values in multi.items()}, multi


def _path_parameters(resource: str | None, path: str) -> dict[str, str] | None:
    """The values of the resource's `{name}` (and greedy `{name+}`) segments in the path; None when it has none."""
    if not resource or "{" not in resource:
        return None
    pattern = ""
    position = 0
    for match in _PATH_PARAMETER.finditer(resource):
        pattern += re.escape(resource[position : match.start()])
        pattern += "(.+)" if match.group(2) else "([^/]+)"
        position = match.end()
    pattern += re.escape(resource[position:])
    found = re.fullmatch(pattern, path)
    if found is None:
        return None
    names = [match.group(1) for match in _PATH_PARAMETER.finditer(resource)]
    return dict(zip(names, found.groups(), strict=True))


def event_from_request(
    method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
) -> tuple[dict[str, Any], InvocationContext]:
    """The API Gateway REST proxy event (and the invocation's context) that LWA turned into this HTTP request.

    target is the request line's path and query (LWA sends the event's `path`, percent-encoded); headers are the
    request's, in order (a repeated name keeps every value in multiValueHeaders, the last in headers); a body that
    is not UTF-8 is passed base64-encoded (isBase64Encoded), as API Gateway does with binary media types.
    """
    request_context_header = None
    lambda_context_header = None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered == REQUEST_CONTEXT_HEADER:
            request_context_header = value
        elif lowered == LAMBDA_CONTEXT_HEADER:
            lambda_context_header = value
        if lowered in _ADAPTER_HEADERS:
            continue
        single[name] = value
        multi.setdefault(name, []).append(value)
    try:
        request_context = json.loads(request_context_header) if request_context_header else {}
    except ValueError:
        request_context = {}
    if not isinstance(request_context, dict):
        request_context = {}
    split = urlsplit(target)
    path = unquote(split.path) or "/"
    query, multi_query = _query_parameters(split.query)
    resource = request_context.get("resourcePath")
    try:
        text: str | None = body.decode() if body else None
        base64_encoded = False
    except UnicodeDecodeError:
        text, base64_encoded = base64.b64encode(body).decode(), True
    event = {
        "resource": resource or path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": _path_parameters(resource, path),
        # LWA does not forward stage variables; no function here reads them.
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": base64_encoded,
    }
    return event, InvocationContext.from_header(lambda_context_header)


def _response_headers(response: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A proxy response's headers and multiValueHeaders as one list (multiValueHeaders win for a name in both)."""
    multi = response.get("multiValueHeaders") or {}
    in_multi = {name.lower() for name in multi}
    pairs = [
        (name, str(value)) for name, value in (response.get("headers") or {}).items() if name.lower() not in in_multi
    ]
    pairs += [(name, str(value)) for name, values in multi.items() for value in values]
    return pairs


def _proxy_body(response: Mapping[str, Any]) -> bytes:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode() if isinstance(body, str) else bytes(body)


def flush_metrics() -> None:
    """Publish the Powertools metrics recorded since the last flush (those a stream recorded after its handler
    returned); nothing when there are none."""
    from aws_lambda_powertools import Metrics

    metrics = Metrics()
    if metrics.metric_set:
        metrics.flush_metrics()


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive with LWA's connection pool, chunked streams
    disable_nagle_algorithm = True  # a small chunk leaves at once instead of waiting for the previous one's ACK
    server: LwaServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the function logs its requests itself (the default writes every request line to stderr)."""

    def _invoke(self) -> None:
        if self.path == READINESS_PATH:
            self._write_whole(200, [("Content-Type", "application/json")], b'{"ready":true}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        event, context = event_from_request(self.command, self.path, self.headers.items(), body)
        with self.server.invocation_lock:
            if context.xray_trace_id:
                # What the Python runtime sets per invocation; Powertools' Logger reads it.
                os.environ["_X_AMZN_TRACE_ID"] = str(context.xray_trace_id)
            try:
                response = self.server.handler(event, context)
            except Exception:
                logger.exception("the handler raised")
                response = proxy_error(InternalError("Something went wrong on our side; it has been logged."))
            if isinstance(response, StreamedResponse):
                self._write_stream(response)
            else:
                self._write_whole(int(response["statusCode"]), _response_headers(response), _proxy_body(response))
            self.server.after_invocation()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _invoke

    def _write_whole(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        # send_response_only: no Server header naming the Python version, no Date (API Gateway sets its own).
        self.send_response_only(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _write_stream(self, response: StreamedResponse) -> None:
        self.send_response_only(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        connected = True
        try:
            self.end_headers()
        except OSError:
            connected = False
        chunks: Iterator[bytes] = iter(response.body)
        try:
            for chunk in chunks:
                if not chunk or not connected:
                    continue  # an empty chunk would end the chunked body; a gone client gets nothing more
                try:
                    self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                except OSError:
                    connected = False  # the rest is still produced, so the run completes and is recorded
            if connected:
                self.wfile.write(b"0\r\n\r\n")
        except Exception:
            logger.exception("the stream failed after it began")
        finally:
            # Whether or not it ended well, this connection carries no further response.
            self.close_connection = True


class LwaServer(ThreadingHTTPServer):
    """Serves one handler on 127.0.0.1:port. Lambda sends one invocation at a time; the lock keeps it so if LWA
    ever opens a second connection (Powertools keeps per-invocation state in module-level objects)."""

    daemon_threads = True

    def __init__(self, handler: Handler, port: int = 0, after_invocation: Callable[[], None] = flush_metrics) -> None:
        self.handler = handler
        self.after_invocation = after_invocation
        self.invocation_lock = threading.Lock()
        super().__init__((LOOPBACK, port), _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection the client closed is routine (LWA's pool, a client gone); anything else is logged."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            logger.exception("the connection failed")

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def load_handler(spec: str) -> Handler:
    """The function `module.name` names (a Lambda handler string such as `app.handle`), imported now."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise RuntimeError(f"handler {spec!r} must be module.function")
    function: Handler = getattr(importlib.import_module(module_name), function_name)
    return function


def main(env: Mapping[str, str] | None = None) -> None:
    """Import the function's handler (`_HANDLER`), then serve it on AWS_LWA_PORT (else PORT, else 8080)."""
    env = os.environ if env is None else env
    handler = load_handler(env["_HANDLER"])
    port = int(env.get("AWS_LWA_PORT") or env.get("PORT") or DEFAULT_PORT)
    server = LwaServer(handler, port)
    server.serve_forever()


if __name__ == "__main__":
    main()
