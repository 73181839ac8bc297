"""Time to first and last event at the client against the provider's first and last delta, streamed and buffered.

A fake OpenAI-compatible server (tests/fake_openai.py, 127.0.0.1, a free port) streams 40 deltas over 2 s; the
local stack (`make local`'s, in this process: DynamoDB Local, moto's KMS, the gateway over real HTTP) uses it as
its OpenAI provider (OPENAI_BASE_URL, OPENAI_API_KEY). Each round sends, in a shuffled order, a run (POST
.../schemas/1/run) and a chat completion (POST /v1/chat/completions), each with `stream: true` and without.
For each request: first event = when the client has the first SSE event (buffered: the whole body), minus when
the provider wrote its first delta; last event = when the client has the last event, minus the provider's last
delta (both time.monotonic, one process). Targets (issue 15): first event <= 300 ms after the provider's first
delta, last event <= 300 ms after its last, streamed. Buffered rows show what a whole answer costs: its first
event waits for the last delta.

Until the services stream deltas (issue 15, part S), a streamed request is answered after the provider's last
delta too (the provider is asked for a whole completion): the table says which mode the provider saw.

Usage: python bench/streaming.py [--rounds 5] [--deltas 40] [--seconds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "shared")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from agentfeedback.core.settings import Settings  # noqa: E402
from agentfeedback.keys.store import ApiKeyStore  # noqa: E402
from local.stack import LocalStack  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

MODEL = "gpt-4o-mini"
TARGET_MS = 300
SCHEMA = {
    "input": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "output": {
        "type": "object",
        "properties": {"country": {"type": "string"}, "population": {"type": "integer"}, "summary": {"type": "string"}},
        "required": ["country", "population", "summary"],
    },
}


def request_once(base_url: str, api_key: str, route: str, stream: bool) -> tuple[float, float, int]:
    """(first event, last event) arrival times (time.monotonic) and how many events came."""
    headers = {"Authorization": f"Bearer {api_key}"}
    if route == "run":
        url = f"{base_url}/v1/_/agents/bench-city/schemas/1/run"
        body: dict = {"task_input": {"city": "Paris"}, "version": {"model": MODEL}, "stream": stream}
    else:
        url = f"{base_url}/v1/chat/completions"
        body = {"model": f"bench-chat/{MODEL}", "messages": [{"role": "user", "content": "Paris?"}], "stream": stream}
    with requests.post(url, headers=headers, json=body, stream=True, timeout=60) as response:
        if response.status_code != 200:
            raise SystemExit(f"{route} answered {response.status_code}: {response.text[:500]}")
        arrivals = []
        if not stream:
            response.content  # noqa: B018 - the whole body
            arrivals.append(time.monotonic())
        else:
            for line in response.iter_lines(chunk_size=None):
                if line.startswith(b"data: "):
                    arrivals.append(time.monotonic())
                    if b'"error"' in line[:20]:
                        raise SystemExit(f"{route} stream ended with {line.decode()[:300]}")
    return arrivals[0], arrivals[-1], len(arrivals)


def spread(values: list[float]) -> str:
    return f"{min(values):>7.0f} / {statistics.median(values):>7.0f} / {max(values):>7.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds; each sends every row once")
    parser.add_argument("--deltas", type=int, default=40, help="deltas the provider streams")
    parser.add_argument("--seconds", type=float, default=2.0, help="over how long")
    args = parser.parse_args(argv)
    provider = FakeOpenAI(deltas=args.deltas, interval=args.seconds / args.deltas).start()
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    rows = [(route, stream) for route in ("run", "chat") for stream in (True, False)]
    samples: dict[tuple[str, bool], list[tuple[float, float, int, bool]]] = {row: [] for row in rows}
    # OPENAI_BASE_URL comes from a template parameter: the stack takes it as an override.
    with LocalStack(port=0, environment_overrides={"OPENAI_BASE_URL": provider.base_url}) as stack:
        settings = Settings.from_env(stack.environment)
        api_key, _ = ApiKeyStore(stack.dynamodb_client(), settings.api_keys_table).create("acme", "bench")
        registered = requests.post(
            f"{stack.base_url}/v1/_/agents",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"id": "bench-city", "input_schema": SCHEMA["input"], "output_schema": SCHEMA["output"]},
            timeout=30,
        )
        assert registered.status_code == 200, registered.text
        request_once(stack.base_url, api_key, "chat", False)  # warm: the first run pays the KMS delegation
        shuffled = random.Random(15)
        for _ in range(args.rounds):
            order = list(rows)
            shuffled.shuffle(order)
            for route, stream in order:
                first, last, count = request_once(stack.base_url, api_key, route, stream)
                delivery = provider.deliveries[-1]
                assert delivery.first_delta is not None and delivery.last_delta is not None
                first_ms, last_ms = (first - delivery.first_delta) * 1000, (last - delivery.last_delta) * 1000
                samples[(route, stream)].append((first_ms, last_ms, count, delivery.streamed))
    provider.stop()

    print(f"Streaming: a fake OpenAI-compatible provider sends {args.deltas} deltas over {args.seconds:g} s;")
    print(f"the local stack over HTTP on 127.0.0.1; {args.rounds} rounds, rows shuffled in each.")
    print("first/last = client's first/last event minus the provider's first/last delta (ms), min / median / max\n")
    header = f"{'row':<14} {'provider':>9} {'events':>7} {'first event ms':>27} {'last event ms':>27} {'target':>14}"
    print(header)
    print("-" * len(header))
    for route, stream in rows:
        mine = samples[(route, stream)]
        firsts, lasts = [sample[0] for sample in mine], [sample[1] for sample in mine]
        mode = "streamed" if all(sample[3] for sample in mine) else "whole"
        verdict = ""
        if stream:
            met = statistics.median(firsts) <= TARGET_MS and statistics.median(lasts) <= TARGET_MS
            verdict = f"<= {TARGET_MS} ms {'met' if met else 'MISSED'}"
        name = f"{route} {'stream' if stream else 'buffered'}"
        events = statistics.median(sample[2] for sample in mine)
        print(f"{name:<14} {mode:>9} {events:>7.0f} {spread(firsts):>27} {spread(lasts):>27} {verdict:>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
