"""A fake API for the CLI tests, over real HTTP to the real review and run functions.

A tiny gateway on 127.0.0.1 plays API Gateway: it checks the Bearer key like the authorizer, builds the
REST proxy event from the function's events/ folder, and calls its lambda_handler (DynamoDB is moto). The
run function serves the agent routes (register, list, show, versions, environments), not runs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from feedbackctl.main import main

from local.template import api_routes, load_template
from tests.helpers import FakeContext, StreamPump, load_event, load_handler
from tests.helpers import vote as vote  # re-exported: the CLI tests write votes as the other review tests do

ROOT = Path(__file__).resolve().parents[3]
KEY = "afk_test_key_of_acme"
AGENT = "support-bot"
DAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


FUNCTIONS = {"ReviewFunction": "review", "RunFunction": "run"}


def _routes() -> list[tuple[str, re.Pattern[str], str, str, str]]:
    """(method, path pattern, resource, event file, function) of each route with a sample event."""
    files = {}
    for function in FUNCTIONS.values():
        for event_file in (ROOT / "events" / function).glob("*.json"):
            event = json.loads(event_file.read_text())
            files.setdefault((event["httpMethod"], event["resource"]), f"{function}/{event_file.name}")
    routes = []
    for route in api_routes(load_template()):
        event_file = files.get((route.method, route.path))
        if route.function_id in FUNCTIONS and event_file:
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path)
            function = FUNCTIONS[route.function_id]
            routes.append((route.method, re.compile(f"^{pattern}$"), route.path, event_file, function))
    return routes


class FakeGateway(BaseHTTPRequestHandler):
    server: GatewayServer

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        self.server.requests.append((self.command, split.path, query))
        self.server.targets.append(self.path)
        self.server.bodies.append(json.loads(body) if body else None)
        if self.server.fail_on == len(self.server.requests):
            error = {"status_code": 503, "code": "service_unavailable", "message": "Storage is busy; retry shortly."}
            return self._send(503, json.dumps({"error": error}))
        scheme, _, key = (self.headers.get("Authorization") or "").partition(" ")
        tenant = self.server.keys.get(key) if scheme == "Bearer" else None
        if tenant is None:
            error = {"status_code": 401, "code": "unauthorized", "message": "Missing or invalid API key."}
            return self._send(401, json.dumps({"error": error}))
        for method, pattern, resource, event_file, function in self.server.routes:
            found = pattern.match(split.path)
            if found and method == self.command:
                event = load_event(event_file, query=query or None, tenant=tenant)
                event["body"] = body  # what was sent, never the sample event's own body
                if not query:
                    event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
                event["path"], event["resource"] = split.path, resource
                event["pathParameters"] = {name: unquote(value) for name, value in found.groupdict().items()}
                if self.server.streams is not None:
                    self.server.streams.pump()  # summaries read aggregates: the stream records written so far
                response = load_handler(function).lambda_handler(event, FakeContext())
                return self._send(response["statusCode"], response["body"], response.get("headers"))
        return self._send(404, json.dumps({"error": {"status_code": 404, "code": "not_found", "message": "No route."}}))


class GatewayServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FakeGateway)
        self.routes = _routes()
        self.keys = {KEY: "acme", "afk_test_key_of_globex": "globex"}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.targets: list[str] = []  # each request's path and query string, as sent
        self.bodies: list[object] = []  # each request's JSON body, or None
        self.fail_on: int | None = None
        self.streams: StreamPump | None = None  # hands new stream records to the aggregator before each call

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err
