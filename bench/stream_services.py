"""How soon the streaming services pass on what a provider streams, in-process (no HTTP of ours, no SSE framing).

A fake OpenAI-compatible server on 127.0.0.1 (tests/fake_openai_server.py) streams an answer in 40 content deltas,
50 ms apart (about 2 s); the consumer of each path notes when each event reaches it, one warm container, against
moto (DynamoDB, KMS) in this process:

- provider: ModelRouter.stream, its TextDeltas.
- chat: ChatCompletions.stream, its content chunks; its last event is the choice chunk with the feedback token
  (the run stored and its token minted first).
- run: AgentRunner.stream of an agent whose output is {"summary": <the 40 pieces>}, its PartialRuns (at most one
  per runs.runner.PARTIAL_EVENT_INTERVAL_SECONDS); its last event is the RunResponse.

first = when the first event with content arrived - when the server flushed its first content delta;
last = when the last event arrived - when the server flushed its last delta (the stream's closing events go in
the same write). Milliseconds, min / median / max over the rounds. The HTTP and SSE framing of the functions and
the local gateway (the issue's end-to-end figure) is not in this measure.
Usage: python bench/stream_services.py [rounds]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import in_process_aws

in_process_aws.prepare(log_level="ERROR")
# Each recorded run adds its agent dimension; the functions flush metrics per invocation, this loop never does.
warnings.filterwarnings("ignore", message="Dimension 'agent' has already been added")

from moto import mock_aws  # noqa: E402

from agentfeedback import composition  # noqa: E402
from agentfeedback.chat.models import ChatCompletionRequest  # noqa: E402
from agentfeedback.providers.base import CompletionRequest, TextDelta  # noqa: E402
from agentfeedback.runs.models import PartialRun, RunRequest, RunResponse  # noqa: E402
from tests.fake_openai_server import FakeOpenAIServer, StreamedReply, completion_chunk  # noqa: E402

DELTAS = 40
GAP_SECONDS = 0.05
OUTPUT_SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
MESSAGES = [{"role": "user", "content": "Summarise the ticket."}]


def pieces() -> list[str]:
    """40 deltas that make {"summary": "w1 w2 ..."}: valid JSON for the run, plain text for the chat."""
    words = [f"w{number} " for number in range(1, DELTAS - 1)]
    return ['{"summary": "', *words, '"}']


def frames() -> list[Any]:
    """OpenAI's stream of the pieces; the last delta, the finish, the usage and [DONE] in one write."""
    closing = [
        completion_chunk(pieces()[-1]),
        completion_chunk(finish_reason="stop"),
        completion_chunk(usage={"prompt_tokens": 20, "completion_tokens": DELTAS}),
    ]
    tail = b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in closing) + b"data: [DONE]\n\n"
    return [completion_chunk(role="assistant", content=""), *(completion_chunk(p) for p in pieces()[:-1]), tail]


def timed(events: Iterable[Any], has_content: Callable[[Any], bool]) -> tuple[list[float], int]:
    """Arrival times of the events that carry content (and of the last event); how many events there were."""
    arrivals: list[float] = []
    count = 0
    last = 0.0
    for event in events:
        count += 1
        last = time.monotonic()
        if has_content(event):
            arrivals.append(last)
    return [*arrivals, last], count


def provider_path() -> tuple[list[float], int]:
    request = CompletionRequest("gpt-4o-mini", [], timeout_seconds=30)
    return timed(composition.model_router().stream(request), lambda event: isinstance(event, TextDelta))


def chat_path() -> tuple[list[float], int]:
    request = ChatCompletionRequest.model_validate({"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True})
    chunks = composition.chat_completions().stream("acme", request, deadline=time.monotonic() + 60)
    return timed(chunks, lambda chunk: bool(chunk.choices) and bool(getattr(chunk.choices[0].delta, "content", "")))


def run_path() -> tuple[list[float], int]:
    body = RunRequest.model_validate({"task_input": {}, "version": {"model": "gpt-4o-mini"}, "stream": True})
    events = composition.agent_runner().stream("acme", "summariser", 1, body, deadline=time.monotonic() + 60)
    return timed(events, lambda event: isinstance(event, PartialRun | RunResponse))


def measure(server: FakeOpenAIServer, path: Callable[[], tuple[list[float], int]]) -> tuple[float, float, int]:
    reply = StreamedReply(frames(), gap_seconds=GAP_SECONDS)
    server.reply(reply)
    arrivals, count = path()
    if not reply.finished.wait(5):
        raise RuntimeError("the fake server did not finish its stream")
    first_delta, last_delta = reply.sent_at[1], reply.sent_at[-1]
    return (arrivals[0] - first_delta) * 1000, (arrivals[-1] - last_delta) * 1000, count


def main(rounds: int) -> None:
    paths = {"provider": provider_path, "chat": chat_path, "run": run_path}
    figures: dict[str, list[tuple[float, float, int]]] = {name: [] for name in paths}
    with FakeOpenAIServer() as server, mock_aws():
        os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench")
        in_process_aws.create_tables_and_key()
        composition.reset()
        composition.agent_registry().register("acme", "summariser", {"type": "object"}, OUTPUT_SCHEMA)
        for path in paths.values():  # warm the container: clients, token delegation, imports
            measure(server, path)
        for _ in range(rounds):
            for name, path in paths.items():
                figures[name].append(measure(server, path))

    def spread(values: list[float]) -> str:
        return f"{min(values):7.1f} {statistics.median(values):7.1f} {max(values):7.1f}"

    print(f"{DELTAS} deltas, {GAP_SECONDS * 1000:.0f} ms apart; {rounds} rounds; ms after the provider's delta")
    print(f"{'path':<10} {'first: min  median     max':>26}   {'last: min  median     max':>26}   events")
    for name, rows in figures.items():
        firsts, lasts, counts = zip(*rows, strict=True)
        print(f"{name:<10} {spread(list(firsts)):>26}   {spread(list(lasts)):>26}   {statistics.median(counts):.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
