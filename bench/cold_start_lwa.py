"""What the Lambda Web Adapter's server (agentfeedback.core.lwa_server) adds to a cold start.

For each function, two fresh processes per round, from process start to the first answer:
- direct: the interpreter imports the handler and calls it with an event (what the Python runtime does);
- lwa: the layer's exec wrapper starts the server (import of the handler included), which this script polls on its
  readiness path every 5 ms, as the adapter does (every 10 ms), then sends the same event as the adapter's HTTP
  request; "ready" and "first answer" are both measured from process start.
Rows: a bare handler (returns {} at once: the floor, so its lwa/direct ratio is the server's own cost), and the
run and chat functions answering an event that needs no AWS call (a caller asking for another tenant's agent: 403;
a chat completion without an authorizer context: 401). Rounds interleave every row in a shuffled order; ratios are
taken within a round, then summarised (min/median/max). Sources and bytecode are the working tree's (.pyc cached
after the first round), on this machine's interpreter: compare rows with each other, not with Lambda's figures
(bench/cold_start.py measures the built package).

Usage: python bench/cold_start_lwa.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

from agentfeedback.core.lwa_server import READINESS_PATH  # noqa: E402
from tests.unit.core.test_lwa_server import lambda_context_header, send_as_lwa  # noqa: E402

WRAPPER = ROOT / "layers/shared/agentfeedback/core/lwa_exec_wrapper.sh"
BARE = "def handle(event, context):\n    return {'statusCode': 200, 'body': '{}'}\n"
DIRECT = """
import json, sys, time
from agentfeedback.core.lwa_server import InvocationContext
import app
response = app.{name}(json.loads(sys.argv[1]), InvocationContext.from_header(sys.argv[2]))
print(response["statusCode"], flush=True)
"""


def _event(relative: str, **changes: object) -> dict:
    event = json.loads((ROOT / "events" / relative).read_text())
    event.update(changes)
    return event


ROWS = {
    # (code folder or None for the bare handler, handler, event)
    "bare handler": (None, "app.handle", _event("run/show_agent.json")),
    "run": (
        ROOT / "functions/run",
        "app.lambda_handler",
        _event("run/show_agent.json", path="/v1/globex/agents/city-facts"),
    ),
    "chat": (
        ROOT / "functions/chat",
        "app.lambda_handler",
        {**_event("chat/chat_completion.json"), "requestContext": {"resourcePath": "/v1/chat/completions"}},
    ),
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(task_root: Path, handler: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "layers" / "shared"),
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(task_root),
        "_HANDLER": handler,
        "AWS_LWA_PORT": str(port),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "agent-feedback",
        "POWERTOOLS_METRICS_NAMESPACE": "AgentFeedbackBench",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Read when the services are built; the benchmarked answers refuse the caller before any AWS call.
        **{name: "unused" for name in ("FEEDBACK_TABLE", "RUNS_TABLE", "AGENTS_TABLE", "API_KEYS_TABLE")},
        "TOKEN_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/unused",
    }


def direct(task_root: Path, handler: str, event: dict) -> tuple[float, int]:
    env = _environment(task_root, handler, 0)
    env["PYTHONPATH"] = f"{task_root}:{env['PYTHONPATH']}"
    code = DIRECT.format(name=handler.rpartition(".")[2])
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-c", code, json.dumps(event), lambda_context_header()],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - started, int(finished.stdout.split()[-1])


def through_server(task_root: Path, handler: str, event: dict) -> tuple[float, float, int]:
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(WRAPPER)],
        env=_environment(task_root, handler, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", READINESS_PATH)
                if connection.getresponse().status == 200:
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited with {process.returncode}") from None
                time.sleep(0.005)
        ready = time.perf_counter() - started
        response = send_as_lwa(port, event)
        response.read()
        return ready, time.perf_counter() - started, response.status
    finally:
        process.terminate()
        process.wait(timeout=10)


def summary(values: list[float], scale: float = 1000.0, unit: str = "ms") -> str:
    return "/".join(f"{value * scale:.0f}" for value in (min(values), statistics.median(values), max(values))) + unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    arguments = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {row: {"direct": [], "ready": [], "lwa": []} for row in ROWS}
    with tempfile.TemporaryDirectory() as scratch:
        bare_root = Path(scratch)
        (bare_root / "app.py").write_text(BARE)
        for round_number in range(arguments.repeat + 1):  # round 0 warms the .pyc caches and is not counted
            order = list(ROWS)
            random.shuffle(order)
            for row in order:
                folder, handler, event = ROWS[row]
                task_root = folder or bare_root
                plain, status = direct(task_root, handler, event)
                ready, first, served_status = through_server(task_root, handler, event)
                if status != served_status:
                    raise RuntimeError(f"{row}: {status} direct, {served_status} through the server")
                if round_number:
                    results[row]["direct"].append(plain)
                    results[row]["ready"].append(ready)
                    results[row]["lwa"].append(first)
    version = sys.version.split()[0]
    print(
        f"Cold start, process start -> first answer, min/median/max over {arguments.repeat} rounds (Python {version})"
    )
    print(f"{'function':<14}{'direct':>18}{'lwa: ready':>18}{'lwa: answer':>18}{'lwa / direct':>20}")
    for row, times in results.items():
        ratios = [lwa / plain for lwa, plain in zip(times["lwa"], times["direct"], strict=True)]
        ratio = "/".join(f"{value:.2f}" for value in (min(ratios), statistics.median(ratios), max(ratios))) + "x"
        print(
            f"{row:<14}{summary(times['direct']):>18}{summary(times['ready']):>18}{summary(times['lwa']):>18}{ratio:>20}"
        )


if __name__ == "__main__":
    main()
