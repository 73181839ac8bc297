"""A response whose body is written as it is produced: the contract between a streaming function and its server.

A function that can stream (run, chat) exposes `handle(event, context) -> dict | StreamedResponse`: a proxy
response dict when the answer is whole, a StreamedResponse when its body is an iterator of byte chunks, each
to be written and flushed as it comes. Two servers read this contract: the Lambda Web Adapter's HTTP app in
AWS (API Gateway REST with `ResponseTransferMode: STREAM`) and the local gateway; `buffered()` joins the
chunks into one proxy response for callers that cannot stream (a direct Lambda invoke).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StreamedResponse:
    """status_code and headers are sent before the first chunk; body yields the chunks (bytes, never empty)."""

    status_code: int
    body: Iterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


def buffered(response: dict[str, Any] | StreamedResponse) -> dict[str, Any]:
    """The response as one API Gateway proxy response (a streamed body joined; it must be UTF-8 text), its headers
    in `multiValueHeaders` as the functions' whole responses have them."""
    if isinstance(response, dict):
        return response
    return {
        "statusCode": response.status_code,
        "multiValueHeaders": {name: [value] for name, value in response.headers.items()},
        "body": b"".join(response.body).decode(),
        "isBase64Encoded": False,
    }
