"""A fake OpenAI-compatible API on 127.0.0.1 for tests: it records each request and answers as told, whole
(`Reply`) or as server-sent events written one by one (`StreamedReply`)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_completion(
    content: str | None = "Hello!",
    *,
    prompt_tokens: int = 12,
    completion_tokens: int = 3,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"},
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=chat_completion)  # dict/list -> JSON; str/bytes sent as they are
    delay_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain"
        return json.dumps(self.body).encode(), "application/json"


def completion_chunk(
    content: str | None = None,
    *,
    role: str | None = None,
    finish_reason: str | None = None,
    usage: dict[str, int] | None = None,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    """One `chat.completion.chunk` as OpenAI streams it; with `usage` alone, the closing usage chunk."""
    chunk: dict[str, Any] = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [],
    }
    if usage is not None:
        chunk["usage"] = {**usage, "total_tokens": sum(usage.values())}
        return chunk
    delta: dict[str, Any] = {"role": role} if role else {}
    if content is not None:
        delta["content"] = content
    chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    return chunk


def streamed_completion(pieces: list[str], prompt_tokens: int = 12, completion_tokens: int = 3) -> list[Any]:
    """OpenAI's stream of an answer: the role, a chunk per piece, the finish, the usage chunk, `[DONE]`."""
    return [
        completion_chunk(role="assistant", content=""),
        *(completion_chunk(piece) for piece in pieces),
        completion_chunk(finish_reason="stop"),
        completion_chunk(usage={"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}),
        "[DONE]",
    ]


@dataclass
class StreamedReply:
    """An answer as server-sent events (HTTP/1.1, chunked): each one written and flushed on its own.

    events: dicts are sent as `data: <JSON>`, strings as `data: <string>`, bytes as they are. gap_seconds: the
    pause before each event after the first. hold_after: send that many events, then wait for `release` (set by
    the test) before the rest, so a test knows the upstream has not finished. cut_after: drop the connection
    after that many events, without ending the body.
    """

    events: list[Any]
    gap_seconds: float = 0.0
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    cut_after: int | None = None
    finished: threading.Event = field(default_factory=threading.Event)  # set once every event was written
    sent_at: list[float] = field(default_factory=list)  # time.monotonic() as each event was flushed

    def frame(self, event: Any) -> bytes:
        if isinstance(event, bytes):
            return event
        data = event if isinstance(event, str) else json.dumps(event)
        return f"data: {data}\n\n".encode()


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeOpenAIServer:
    """`with FakeOpenAIServer() as server:` serves on a free port until the block ends."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self._replies: deque[Reply | StreamedReply] = deque()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the next poll, and every test stops a server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, *replies: Reply | StreamedReply) -> None:
        """Answer the next requests with these, in order; after them, a plain successful completion."""
        self._replies.extend(replies)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # releases a reply still sleeping out its delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                fake.requests.append(
                    ReceivedRequest(
                        method="POST",
                        path=self.path,
                        headers={name.lower(): value for name, value in self.headers.items()},
                        body=body,
                    )
                )
                reply = fake._replies.popleft() if fake._replies else Reply()
                if isinstance(reply, StreamedReply):
                    self.stream(reply)
                    return
                if reply.delay_seconds and fake._stopping.wait(reply.delay_seconds):
                    return
                payload, content_type = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a timeout test)

            def stream(self, reply: StreamedReply) -> None:
                self.protocol_version = "HTTP/1.1"
                self.close_connection = True
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for index, event in enumerate(reply.events):
                        if index == reply.cut_after:
                            return
                        if index == reply.hold_after and not _wait(reply.release, fake._stopping):
                            return
                        if index and reply.gap_seconds and fake._stopping.wait(reply.gap_seconds):
                            return
                        frame = reply.frame(event)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                        self.wfile.flush()
                        reply.sent_at.append(time.monotonic())
                    self.wfile.write(b"0\r\n\r\n")
                    reply.finished.set()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _wait(release: threading.Event, stopping: threading.Event) -> bool:
    """Wait until the test releases the rest of a stream (True), or the server stops (False)."""
    while not release.wait(0.05):
        if stopping.is_set():
            return False
    return True
