"""The local gateway streams: which integrations stream (template.yaml), and chunks written as they come over a
real socket, a client that leaves closing the function's iterator."""

from __future__ import annotations

import copy
import http.client
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local.api_gateway import HttpResponse
from local.http_server import GatewayServer
from local.template import load_template, streaming_functions


def test_without_a_declaration_the_run_and_chat_functions_stream():
    template = copy.deepcopy(load_template())
    for resource in template["Resources"].values():
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            (event.get("Properties") or {}).pop("ResponseTransferMode", None)
    for resource in template["Resources"].values():
        for operations in ((resource.get("Properties") or {}).get("DefinitionBody") or {}).get("paths", {}).values():
            for operation in operations.values():
                operation.get("x-amazon-apigateway-integration", {}).pop("responseTransferMode", None)
    assert streaming_functions(template) == {"RunFunction", "ChatFunction"}


def test_a_declared_transfer_mode_decides():
    template = copy.deepcopy(load_template())
    resources = template["Resources"]
    for event in resources["RunFunction"]["Properties"]["Events"].values():
        event["Properties"]["ResponseTransferMode"] = "BUFFERED"
    chat_event = next(iter(resources["ChatFunction"]["Properties"]["Events"].values()))
    chat_event["Properties"]["ResponseTransferMode"] = "RESPONSE_STREAM"  # SAM's spelling
    assert streaming_functions(template) == {"ChatFunction"}


def test_a_stream_declared_in_the_definition_body_names_its_function():
    template = copy.deepcopy(load_template())
    # Only the definition body declares a stream here: the functions' own Api events stream nothing.
    for resource in template["Resources"].values():
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            (event.get("Properties") or {}).pop("ResponseTransferMode", None)
    paths = template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]
    paths["/v1/chat/completions"] = {
        "post": {
            "x-amazon-apigateway-integration": {
                "type": "aws_proxy",
                "httpMethod": "POST",
                "responseTransferMode": "STREAM",
                "uri": {
                    "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/"
                    "${ChatFunction.Arn}/response-streaming-invocations"
                },
            }
        }
    }
    assert streaming_functions(template) == {"ChatFunction"}


class SteppedGateway:
    """Answers every request with a stream whose next chunk is produced only when the test allows it."""

    def __init__(self, count: int = 3) -> None:
        self.count = count
        self.allowed = threading.Semaphore(0)
        self.closed = threading.Event()
        self.cut_short = False
        self.produced: list[int] = []

    def chunks(self) -> Iterator[bytes]:
        try:
            for number in range(self.count):
                if number:
                    assert self.allowed.acquire(timeout=30)
                self.produced.append(number)
                yield f"data: {number}\n\n".encode()
        except GeneratorExit:
            self.cut_short = True
            raise
        finally:
            self.closed.set()

    def handle(self, request: Any) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", "text/event-stream")], b"", self.chunks())

    def too_large(self) -> HttpResponse:
        raise AssertionError("not expected")


def test_each_chunk_reaches_the_client_before_the_next_is_produced():
    gateway = SteppedGateway()
    server = GatewayServer(gateway)  # type: ignore[arg-type]
    server.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("POST", "/v1/chat/completions", body=b"{}")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Transfer-Encoding") == "chunked"
        assert response.getheader("Content-Length") is None
        received = []
        for _ in range(3):
            received.append(response.read1())
            # What the client holds was produced before the next chunk was allowed.
            assert gateway.produced == list(range(len(received)))
            gateway.allowed.release()
        assert b"".join(received) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
        assert response.read() == b""
        assert gateway.closed.wait(30)
    finally:
        server.stop()


def test_a_client_that_leaves_mid_stream_closes_the_functions_iterator():
    gateway = SteppedGateway(count=10_000)
    server = GatewayServer(gateway)  # type: ignore[arg-type]
    server.start()
    try:
        client = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        received = b""
        while b"data: 0" not in received:  # the status line and headers may come in a segment of their own
            received += client.recv(4096) or pytest.fail(f"connection closed after {received!r}")
        client.shutdown(socket.SHUT_RDWR)
        client.close()
        # The server notices on a later write (the first after a peer leaves may still succeed), then closes.
        for _ in range(gateway.count):
            gateway.allowed.release()
        assert gateway.closed.wait(30)
        assert gateway.cut_short and len(gateway.produced) < gateway.count
    finally:
        server.stop()
