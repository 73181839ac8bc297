"""What starting a local service needs: a free port, a bounded wait, and an error that says what to do."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


class StartupError(RuntimeError):
    """A local service could not start; the message says why and what to do about it."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_until(ready: Callable[[], bool], timeout_seconds: float, what: str, interval_seconds: float = 0.1) -> None:
    """Poll `ready` until it returns True; `ready` may raise StartupError to give up early."""
    deadline = time.monotonic() + timeout_seconds
    while not ready():
        if time.monotonic() > deadline:
            raise StartupError(f"{what} did not become ready within {timeout_seconds:.0f} s")
        time.sleep(interval_seconds)
