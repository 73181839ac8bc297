"""Demo of FeedbackButtons: a page that shows an agent's answer with thumbs up / down.

    python examples/demo/server.py --api-url http://127.0.0.1:3000 [--api-key KEY] [--port 8000]

The API key comes from --api-key, else $DEMO_API_KEY, else .local/dev_api_key (which `make local` writes).

Serves the bundled page from examples/demo/dist (build it first: `make demo` does) and one backend route,
`GET /api/run?question=...&user=...`, which runs the demo agent with the `offline` model using the API key,
for that end user (metadata.user_id: the run's token is then bound to them), and returns
`{run_id, output, feedback_token, api_url}`. The API key stays here: the browser only ever gets the run's
feedback token, and posts votes straight to the public feedback endpoint of the API. (A real backend knows
its signed-in user; the demo takes the page's `?user=` as that.)

Standard library only. Binds 127.0.0.1. One run is kept per question and user, so a reload shows the same run.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DIST_DIR = Path(__file__).resolve().parent / "dist"
DEV_API_KEY_FILE = Path(__file__).resolve().parents[2] / ".local" / "dev_api_key"
AGENT_ID = "feedback-demo"
INPUT_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}},
    "required": ["question"],
}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["answer", "confidence"],
}
MAX_QUESTION_LENGTH = 500
MAX_USER_LENGTH = 256


class ApiError(Exception):
    """The API refused or could not be reached; the message is fit to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AgentRunner:
    """Registers the demo agent once, then runs it server-side with the API key."""

    def __init__(self, api_url: str, api_key: str, timeout: float = 30.0) -> None:
        if urllib.parse.urlsplit(api_url).scheme not in ("http", "https"):
            raise ValueError(f"--api-url must be an http(s) URL, not {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._lock = threading.Lock()
        self._schema_id: int | str | None = None
        self._runs: dict[tuple[str, str], dict[str, Any]] = {}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.api_url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self._api_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise ApiError(HTTPStatus.BAD_GATEWAY, f"The API answered {error.code}: {_error_message(error)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ApiError(HTTPStatus.BAD_GATEWAY, f"The API at {self.api_url} is unreachable: {error}") from None

    def run(self, question: str, user: str = "") -> dict[str, Any]:
        with self._lock:  # one registration, and one run per question and user even under concurrent requests
            if (question, user) in self._runs:
                return self._runs[question, user]
            if self._schema_id is None:
                agent = self._post(
                    "/v1/_/agents", {"id": AGENT_ID, "input_schema": INPUT_SCHEMA, "output_schema": OUTPUT_SCHEMA}
                )
                self._schema_id = agent["schema_id"]
            run = self._post(
                f"/v1/_/agents/{AGENT_ID}/schemas/{self._schema_id}/run",
                {
                    "task_input": {"question": question},
                    "version": {"model": "offline"},
                    **({"metadata": {"user_id": user}} if user else {}),
                },
            )
            result = {
                "run_id": run["id"],
                "output": run["task_output"],
                "feedback_token": run["feedback_token"],
                "api_url": self.api_url,
            }
            self._runs[question, user] = result
            return result


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return error.reason or "no details"


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "FeedbackDemo"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/api/run":
            self._run(urllib.parse.parse_qs(url.query))
        else:
            self._static(url.path)

    def _run(self, query: dict[str, list[str]]) -> None:
        question = (query.get("question") or [""])[0].strip()
        user = (query.get("user") or [""])[0].strip()
        if not question or len(question) > MAX_QUESTION_LENGTH or len(user) > MAX_USER_LENGTH:
            message = f"Ask a question of 1 to {MAX_QUESTION_LENGTH} characters (user: at most {MAX_USER_LENGTH})."
            self._json(HTTPStatus.BAD_REQUEST, {"error": {"message": message}})
            return
        try:
            self._json(HTTPStatus.OK, self.server.runner.run(question, user))
        except ApiError as error:
            self._json(error.status, {"error": {"message": str(error)}})

    def _static(self, path: str) -> None:
        relative = urllib.parse.unquote(path).lstrip("/") or "index.html"
        file = (DIST_DIR / relative).resolve()
        if not file.is_relative_to(DIST_DIR) or not file.is_file():
            if "." in relative.rsplit("/", 1)[-1]:
                self._json(HTTPStatus.NOT_FOUND, {"error": {"message": f"No file {path}"}})
                return
            file = DIST_DIR / "index.html"  # any other page path is the app
        if not file.is_file():
            message = "The demo page is not built: run `make demo` (or build it with vite, see the README)."
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": {"message": message}})
            return
        body = file.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", mimetypes.guess_type(file.name)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, runner: AgentRunner, verbose: bool = True) -> None:
        self.runner = runner
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), DemoHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


def _saved_key() -> str:
    return DEV_API_KEY_FILE.read_text().strip() if DEV_API_KEY_FILE.is_file() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True, help="base URL of the API, e.g. http://127.0.0.1:3000")
    parser.add_argument("--api-key", help="API key (default: $DEMO_API_KEY, else .local/dev_api_key from make local)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    args = parser.parse_args(argv)
    api_key = args.api_key or os.environ.get("DEMO_API_KEY") or _saved_key()
    if not api_key:
        print("No API key: pass --api-key, set DEMO_API_KEY, or start `make local` first.", file=sys.stderr)
        return 1
    if not (DIST_DIR / "index.html").is_file():
        print("examples/demo/dist is missing: run `make demo`, which builds the page first.", file=sys.stderr)
        return 1
    try:
        runner = AgentRunner(args.api_url, api_key)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    server = DemoServer(args.port, runner, verbose=not args.quiet)
    print(f"Demo: {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
