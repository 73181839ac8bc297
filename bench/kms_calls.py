"""KMS calls per 1,000 runs, chat completions and feedback posts, before and after key delegation, side by side.

Each phase is one warm container: the functions' module caches (clients, signer, verifier) are cleared
before it, and then its handler is called N times in-process against moto (DynamoDB and KMS). Every KMS
API call any boto3 client makes is counted by operation (a "before-call.kms" handler added to botocore's
built-in handlers, so every session and client created afterwards has it).

- before: the run and chat containers sign each token with KMS (tests/legacy_tokens.py, the signer this
  project had before delegation): one Sign per run or completion, plus one GetPublicKey per container.
- now: each container makes a P-256 key in memory and has KMS sign its delegation once an hour
  (agentfeedback/tokens/delegation.py): one GetPublicKey and one Sign per container and hour, whatever the
  number of runs. The N runs of a phase take seconds, well inside one delegation.
- feedback: one GetPublicKey per container and no Sign, for the tokens of either design (the posts use the
  tokens the runs of that design returned).
Usage: python bench/kms_calls.py [calls]
"""

from __future__ import annotations

import contextlib
import functools
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
from tests.legacy_tokens import KmsTokenSigner  # noqa: E402

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
    rows: list[tuple[str, str, int, Counter[str], float]] = []
    delegated_signer = composition.token_signer
    with mock_aws():
        in_process_aws.create_tables_and_key()
        register = load_event("run/register_agent.json")
        composition.reset()
        _invoke("run", register)

        def phase(label: str, design: str, invoke: Any) -> list[dict[str, Any]]:
            composition.reset()  # a fresh container: new clients, signer and verifier
            KMS_CALLS.clear()
            started = time.perf_counter()
            responses = [invoke(index) for index in range(calls)]
            rows.append((label, design, calls, Counter(KMS_CALLS), time.perf_counter() - started))
            return responses

        def kms_signer() -> KmsTokenSigner:
            config = composition.settings()
            return KmsTokenSigner(composition.kms(), config.token_key_id, config.token_lifetime_days)

        designs = {"before": kms_signer, "now": delegated_signer}
        run_event = load_event("run/run_agent.json")
        chat_event = load_event("chat/chat_completion.json")
        tokens: dict[str, list[str]] = {}
        for design, signer in designs.items():

            def container(invoke: Any, signer: Any = signer) -> Any:
                # The run recorder asks the composition root for its signer once per container.
                composition.token_signer = functools.cache(signer)  # type: ignore[assignment]
                return invoke

            runs = phase("run (POST .../run)", design, container(lambda index: _invoke("run", run_event)))
            tokens[design] = [json.loads(response["body"])["feedback_token"] for response in runs]
            assert all(tokens[design]), "a run came back without a feedback token"
            phase("chat (POST /v1/chat/completions)", design, container(lambda index: _invoke("chat", chat_event)))
        composition.token_signer = delegated_signer  # type: ignore[assignment]
        for design in reversed(designs):

            def post(index: int, design: str = design) -> dict[str, Any]:
                body = {"feedback_token": tokens[design][index], "outcome": "positive", "user_id": f"user-{index % 7}"}
                return _invoke("feedback", load_event("feedback/post_feedback.json", body=body))

            phase("feedback (POST /v1/feedback)", design, post)

    operations = sorted({operation for *_, counted, _ in rows for operation in counted} | {"Sign", "GetPublicKey"})
    header = f"{'phase (one container)':<34} {'design':<8} {'calls':>6} " + " ".join(f"{op:>13}" for op in operations)
    header += f" {'KMS per 1,000':>14} {'seconds':>8}"
    print(f"KMS API calls, counted by a botocore before-call hook (moto in-process), {calls} invocations per phase")
    print(header)
    print("-" * len(header))
    phases = list(dict.fromkeys(label for label, *_ in rows))  # in the order they ran: run, chat, feedback
    for label, design, count, counted, seconds in sorted(rows, key=lambda row: (phases.index(row[0]), row[1])):
        cells = " ".join(f"{counted.get(op, 0):>13}" for op in operations)
        per_thousand = sum(counted.values()) * 1000 / count
        print(f"{label:<34} {design:<8} {count:>6} {cells} {per_thousand:>14.0f} {seconds:>8.1f}")
    print(
        "\nbefore: one KMS Sign per run or completion (KMS's default ECC Sign quota is 1,000/s per account and"
        "\nRegion, shared). now: one Sign per container and hour (a key delegation), none per run; feedback posts"
        "\nverify locally, with the public key fetched once per container, for the tokens of either design."
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
