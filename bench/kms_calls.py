"""KMS calls per 1,000 runs, chat completions and feedback posts, counted with a botocore event hook.

Each phase is one warm container: the functions' module caches (clients, signer, verifier) are cleared
before it, and then its handler is called N times in-process against moto (DynamoDB and KMS). Every KMS
API call any boto3 client makes is counted by operation (a "before-call.kms" handler added to botocore's
built-in handlers, so every session and client created afterwards has it). Expected: one Sign per run or
completion plus one GetPublicKey per container (the token's key id), and for feedback one GetPublicKey
per container and no Sign at all; the posts use the tokens the runs returned.
Usage: python bench/kms_calls.py [calls]
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
import warnings
from collections import Counter
from typing import Any

import in_process_aws

in_process_aws.prepare(log_level="ERROR")

import botocore.handlers  # noqa: E402
from moto import mock_aws  # noqa: E402

from agentfeedback import composition  # noqa: E402
from tests.helpers import FakeContext, load_event, load_handler  # noqa: E402

KMS_CALLS: Counter[str] = Counter()
warnings.filterwarnings("ignore", message="No application metrics to publish")


def _count_kms_call(model: Any, **kwargs: Any) -> None:
    KMS_CALLS[model.name] += 1


def _invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
        response: dict[str, Any] = load_handler(function).lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200, response["body"]
    return response


def main(calls: int) -> None:
    # Every botocore session made from now on (moto resets boto3's default one) registers the counter.
    botocore.handlers.BUILTIN_HANDLERS.append(("before-call.kms", _count_kms_call))
    rows: list[tuple[str, int, Counter[str], float]] = []
    with mock_aws():
        in_process_aws.create_tables_and_key()
        register = load_event("run/register_agent.json")
        composition.reset()
        _invoke("run", register)

        def phase(label: str, invoke: Any) -> list[dict[str, Any]]:
            composition.reset()  # a fresh container: new clients, signer and verifier
            KMS_CALLS.clear()
            started = time.perf_counter()
            responses = [invoke(index) for index in range(calls)]
            rows.append((label, calls, Counter(KMS_CALLS), time.perf_counter() - started))
            return responses

        run_event = load_event("run/run_agent.json")
        runs = phase("run (POST .../run)", lambda index: _invoke("run", run_event))
        tokens = [json.loads(response["body"])["feedback_token"] for response in runs]
        assert all(tokens), "a run came back without a feedback token"
        chat_event = load_event("chat/chat_completion.json")
        phase("chat (POST /v1/chat/completions)", lambda index: _invoke("chat", chat_event))
        phase(
            "feedback (POST /v1/feedback)",
            lambda index: _invoke(
                "feedback",
                load_event(
                    "feedback/post_feedback.json",
                    body={"feedback_token": tokens[index], "outcome": "positive", "user_id": f"user-{index % 7}"},
                ),
            ),
        )

    operations = sorted({operation for _, _, counted, _ in rows for operation in counted} | {"Sign", "GetPublicKey"})
    header = f"{'phase (one container)':<34} {'calls':>6} " + " ".join(f"{op:>13}" for op in operations)
    header += f" {'KMS per 1,000':>14} {'seconds':>8}"
    print(f"KMS API calls, counted by a botocore before-call hook (moto in-process), {calls} invocations per phase")
    print(header)
    print("-" * len(header))
    for label, count, counted, seconds in rows:
        cells = " ".join(f"{counted.get(op, 0):>13}" for op in operations)
        per_thousand = sum(counted.values()) * 1000 / count
        print(f"{label:<34} {count:>6} {cells} {per_thousand:>14.0f} {seconds:>8.1f}")
    print(
        "\nKMS's default ECDSA Sign quota is 1,000 requests/s per account: one Sign per run or completion,"
        "\nnone per feedback post (verification is local, with the public key fetched once per container)."
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
