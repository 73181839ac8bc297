"""An upstream that breaks HTTP itself (no status line, a body shorter than its Content-Length, a chunked body
cut inside a chunk) is a ProviderError (502) on the whole and the streamed path alike, never an unmapped
http.client exception (a 500)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from agentfeedback.core.errors import ProviderError
from agentfeedback.core.http_api import status_of
from agentfeedback.providers.base import ChatMessage, CompletionRequest
from agentfeedback.providers.openai_compatible import OpenAICompatibleProvider

# Each a raw answer: what the upstream writes before it closes the connection.
BROKEN_ANSWERS = {
    "no-status-line": b"HELLO\r\n\r\n",
    "short-body": b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"id": ',
    "chunk-cut": (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'400\r\ndata: {"choices": []}\n\n'
    ),
}


@pytest.fixture
def upstream(request: pytest.FixtureRequest) -> Iterator[str]:
    """A server on 127.0.0.1 that answers each connection with request.param's bytes, then closes it."""
    answer = BROKEN_ANSWERS[request.param]
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(2)
    listener.close()


def ask() -> CompletionRequest:
    return CompletionRequest(model="gpt-4o-mini", messages=[ChatMessage(role="user", content="Hi")])


@pytest.mark.parametrize("upstream", sorted(BROKEN_ANSWERS), indirect=True)
def test_broken_http_is_a_provider_error_when_whole(upstream: str) -> None:
    with pytest.raises(ProviderError) as caught:
        OpenAICompatibleProvider(upstream, api_key="sk-test", timeout_seconds=5).complete(ask(), "gpt-4o-mini")
    assert status_of(caught.value) == 502


@pytest.mark.parametrize("upstream", sorted(BROKEN_ANSWERS), indirect=True)
def test_broken_http_is_a_provider_error_when_streamed(upstream: str) -> None:
    with pytest.raises(ProviderError) as caught:
        list(OpenAICompatibleProvider(upstream, api_key="sk-test", timeout_seconds=5).stream(ask(), "gpt-4o-mini"))
    assert status_of(caught.value) == 502
