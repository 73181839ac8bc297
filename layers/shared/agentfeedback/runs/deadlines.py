"""How much of a request's time a model call may take: what is left of the deadline, less the time to finish."""

from __future__ import annotations

import dataclasses
import time

from agentfeedback.providers.base import CompletionRequest

# Kept free for storing the run and signing its token after the last model call.
FINISHING_SECONDS = 2.0


def budgeted(request: CompletionRequest, deadline: float | None) -> CompletionRequest | None:
    """The request with what is left of the deadline (time.monotonic seconds) less FINISHING_SECONDS as its
    timeout (or its own timeout, when shorter); None when less than a second would be left. No deadline: as is."""
    if deadline is None:
        return request
    budget = deadline - time.monotonic() - FINISHING_SECONDS
    if budget < 1:
        return None
    return dataclasses.replace(request, timeout_seconds=min(budget, request.timeout_seconds or budget))
