"""A provider's stream read within its two timeouts: the wait for each next event, and the whole answer.

A socket timeout bounds one read, not the answer: a model that sends a token every few seconds would keep a
blocking read loop going past the function's own limit. So a daemon thread reads the stream and hands each
event over a queue, and the caller waits on that queue for at most what is left (the read timeout, or less
when the deadline comes first), then raises ProviderTimeout, as complete() does. The reader stops at its next
event, or when the socket's own read timeout ends its read, and closes the stream then.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

from agentfeedback.core.errors import ProviderTimeout

T = TypeVar("T")


def timed_events(
    events: Generator[T, None, None], provider: str, read_timeout: float, total_timeout: float | None
) -> Iterator[T]:
    """`events`, each waited for at most `read_timeout` seconds, all of them within `total_timeout` seconds of now.

    The reading starts on the first next(). Errors raised by `events` are raised to the caller as they are;
    a wait that runs out raises ProviderTimeout(provider, the timeout that ran out). `events` is closed (its
    `finally` runs) in the reading thread once it ends, fails, or the caller stops.
    """
    deadline = None if total_timeout is None else time.monotonic() + total_timeout
    return _relay(events, provider, read_timeout, total_timeout, deadline)


def _relay(
    events: Generator[T, None, None],
    provider: str,
    read_timeout: float,
    total_timeout: float | None,
    deadline: float | None,
) -> Iterator[T]:
    # (True, event), then (False, None) at the end or (False, exception) on a failure.
    handoff: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    stopped = threading.Event()

    def read() -> None:
        try:
            for event in events:
                handoff.put((True, event))
                if stopped.is_set():
                    break
            handoff.put((False, None))
        except BaseException as exc:  # raised again in the caller's thread
            handoff.put((False, exc))
        finally:
            events.close()

    threading.Thread(target=read, name=f"{provider} stream", daemon=True).start()
    try:
        while True:
            wait, limit = read_timeout, read_timeout
            if deadline is not None and total_timeout is not None and deadline - time.monotonic() < wait:
                wait, limit = deadline - time.monotonic(), total_timeout
            try:
                is_event, value = handoff.get(timeout=max(wait, 0))
            except queue.Empty:
                raise ProviderTimeout(provider, limit) from None
            if is_event:
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        stopped.set()
