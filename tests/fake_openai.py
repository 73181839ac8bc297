"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (a free port): the provider of the streaming
tests and of bench/streaming.py.

POST /chat/completions answers a JSON object text (valid for a run's output schema of strings and integers)
cut into `deltas` pieces, one every `interval` seconds: with `stream: true` as OpenAI's server-sent events
(`chat.completion.chunk`s, a usage chunk when asked, then `data: [DONE]`), each written as it is due; without,
one `chat.completion` once the last piece is due. It keeps, per request, when it wrote (whole: made) its first
and last delta (time.monotonic), so a client in the same process can compare its own arrival times.
`fail_after` ends a stream with a broken connection after that many deltas (a provider failing mid-stream).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OUTPUT = {"country": "France", "population": 2_102_650, "summary": "Paris is the capital of France. " * 3}


@dataclass
class Delivery:
    """One request's deltas: when the first and last were written (time.monotonic), how many, streamed or not."""

    streamed: bool
    first_delta: float | None = None
    last_delta: float | None = None
    last_delta_wall: float | None = None  # time.time(): for a client in another process
    sent: int = 0


@dataclass
class FakeOpenAI:
    deltas: int = 40
    interval: float = 0.05
    fail_after: int | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def pieces(self) -> list[str]:
        """The answer's text in exactly `deltas` pieces (the first ones a character longer when it does not divide)."""
        text = json.dumps(OUTPUT)
        size, longer = divmod(len(text), self.deltas)
        bounds = [index * size + min(index, longer) for index in range(self.deltas + 1)]
        return [text[start:end] for start, end in itertools.pairwise(bounds)]

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                delivery = Delivery(streamed=bool(request.get("stream")))
                fake.deliveries.append(delivery)
                if delivery.streamed:
                    self._stream(request, delivery)
                else:
                    self._whole(request, delivery)

            def _whole(self, request: dict[str, Any], delivery: Delivery) -> None:
                pieces = fake.pieces()
                # The model generates it all before answering: its first delta is made one interval in, held back.
                delivery.first_delta = time.monotonic() + fake.interval
                time.sleep(fake.interval * len(pieces))
                delivery.last_delta, delivery.last_delta_wall = time.monotonic(), time.time()
                delivery.sent = len(pieces)
                body = json.dumps(completion(request, "".join(pieces))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, request: dict[str, Any], delivery: Delivery) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                base = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": request["model"],
                }
                first = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
                self._event(first)
                for number, piece in enumerate(fake.pieces()):
                    if fake.fail_after is not None and number == fake.fail_after:
                        self.close_connection = True
                        self.wfile.write(b"5\r\ndata:")  # a chunk cut off: the connection breaks mid-event
                        return
                    time.sleep(fake.interval)
                    self._event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
                    delivery.last_delta, delivery.last_delta_wall = time.monotonic(), time.time()
                    delivery.first_delta = delivery.first_delta or delivery.last_delta
                    delivery.sent += 1
                self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (request.get("stream_options") or {}).get("include_usage"):
                    self._event({**base, "choices": [], "usage": usage()})
                self._write(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")

            def _event(self, data: dict[str, Any]) -> None:
                self._write(b"data: " + json.dumps(data).encode() + b"\n\n")

            def _write(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def usage() -> dict[str, int]:
    return {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60}


def completion(request: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", ""),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage(),
    }
