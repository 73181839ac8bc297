"""Warm per-request time of the feedback handler, beside the least a feedback post must do.

Both sides get the same API Gateway event (events/feedback/post_feedback.json with a real ES256 token)
and the same DynamoDB stand-in: a no-op client that answers what DynamoDB would (update_item: the item as
written, revision 1, for ReturnValues=ALL_NEW; other writes simply succeed), so neither pays for a network
call. Every post is thus a first vote: with the per-run user cap on, that is its most expensive path.
The token's public key is fetched once (moto's KMS, in-process) before timing starts, as in a warm
container.

- handler: functions/feedback/app.py's lambda_handler, i.e. the public request path (feedback.http: the
  route, the body's checks, CORS, the JSON answer), the logger's Lambda context, the EMF metrics and the
  "feedback saved" log line (written to stdout, which is /dev/null here).
- minimal: json.loads of the body, TokenVerifier.verify (ES256, key and delegation cached), the handler's
  own FeedbackStore.save (builds the write's arguments and calls the same no-op client) and json.dumps.
The ratio handler / minimal is the figure: what the handler's own work costs per request.

Tokens, before and after key delegation (tokens/delegation.py), with realistic claims (a UUIDv7 run id, a
32-character version id):
- verify: TokenVerifier.verify of a token signed by a delegated key, its delegation already verified (cached);
- verify, before delegation: the old verifier (tests/legacy_tokens.py's verify_before_delegation, the same KMS
  key cached) on a token as minted before delegation: today's verification, the target's reference (the
  ratio of the two medians, and per round);
- verify, KMS-signed token, now: today's verifier on such a token (tokens minted before the change);
- delegation, first sight: what a verifier pays once per delegation (decode, ECDSA verify of KMS's signature);
- mint: TokenSigner.mint once its delegation exists (before delegation, each mint was a KMS round trip);
and the length of each kind of token.
Usage: python bench/warm_feedback.py [calls]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from typing import Any

import in_process_aws

in_process_aws.prepare(log_level="INFO")  # the template's default: the handler writes its "feedback saved" line

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.helpers import FakeContext, load_event, load_handler  # noqa: E402


class NoOpDynamoDB:
    """update_item answers with the item it was asked to write, as DynamoDB's ReturnValues=ALL_NEW would;
    transact_write_items (a first vote under the per-run user cap) succeeds; get_item finds nothing."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.calls["TransactWriteItems"] += 1
        return {}

    def get_item(self, **request: Any) -> dict[str, Any]:
        self.calls["GetItem"] += 1
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.calls["UpdateItem"] += 1
        if request.get("ReturnValues") != "ALL_NEW":
            return {}
        names = request.get("ExpressionAttributeNames", {})
        values = request.get("ExpressionAttributeValues", {})
        item = {names[f"#{name[1:]}"]: value for name, value in values.items() if f"#{name[1:]}" in names}
        if ":updated_at" in values:
            item.setdefault("created_at", values[":updated_at"])
        # A first vote: the public id is the new one, and no outcome is being replaced.
        if ":new_id" in values:
            item.setdefault("feedback_id", values[":new_id"])
        if ":no_outcome" in values:
            item.setdefault("previous_outcome", values[":no_outcome"])
        item["revision"] = {"N": "1"}
        item.update(request["Key"])
        return {"Attributes": item}


def _quiet_stdout() -> int:
    """Point file descriptor 1 at /dev/null (the handler's loggers hold sys.stdout); return the saved one."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return saved


def _restore_stdout(saved: int) -> None:
    sys.stdout.flush()
    os.dup2(saved, 1)
    os.close(saved)


def main(calls: int) -> None:
    with mock_aws():
        key_arn = boto3.client("kms").create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
        os.environ["TOKEN_KEY_ID"] = key_arn
        from agentfeedback import composition

        composition.reset()
        from agentfeedback.feedback.store import FeedbackStore
        from agentfeedback.tokens import TokenClaims
        from agentfeedback.tokens.claims import required_claims
        from agentfeedback.tokens.delegation import Delegation
        from agentfeedback.tokens.kms_keys import fetch_public_key, key_fingerprint
        from tests.forged_tokens import parts
        from tests.legacy_tokens import KmsTokenSigner, verify_before_delegation

        claims = TokenClaims(
            tenant="acme",
            agent_id="support-bot",
            run_id=str(uuid.UUID(int=0x019A_0000_0000_7000_8000_0000_0000_0000)),
            version_id="0123456789abcdef0123456789abcdef",
        )
        signer = composition.token_signer()  # the run function's, on moto's KMS
        token = signer.mint(claims)
        legacy_token = KmsTokenSigner(boto3.client("kms"), key_arn, 30).mint(claims)
        delegation_text = parts(token)[0]["dlg"]
        kms_public_key = fetch_public_key(boto3.client("kms"), key_arn)
        event = load_event(
            "feedback/post_feedback.json",
            body={"feedback_token": token, "outcome": "positive", "comment": "Spot on, thanks!", "user_id": "user-42"},
        )
        # The handler's own store, as its settings build it, on the no-op client.
        no_op = NoOpDynamoDB()
        composition.dynamodb = lambda: no_op  # type: ignore[assignment]
        config = composition.settings()
        store = FeedbackStore(no_op, config.feedback_table, config.max_users_per_run)  # type: ignore[arg-type]
        verifier = composition.token_verifier()
        handler = load_handler("feedback").lambda_handler

        def full() -> dict[str, Any]:
            return handler(event, FakeContext())  # type: ignore[no-any-return]

        def minimal() -> dict[str, Any]:
            body = json.loads(event["body"])
            claims = verifier.verify(body["feedback_token"])
            entry = store.save(claims, body.get("user_id") or None, body["outcome"], body.get("comment") or None)
            answer = {"id": entry.id, "outcome": entry.outcome, "comment": entry.comment, "user_id": entry.user_id}
            return {"statusCode": 200, "body": json.dumps(answer)}

        def verify_only() -> Any:
            return verifier.verify(json.loads(event["body"])["feedback_token"])

        def verify_legacy() -> Any:
            return verifier.verify(json.loads(legacy_event_body)["feedback_token"])

        old_keys = {key_fingerprint(kms_public_key): kms_public_key}
        old_required = required_claims(require_expiry=True)

        def verify_before() -> Any:
            return verify_before_delegation(json.loads(legacy_event_body)["feedback_token"], old_keys, old_required)

        def delegation_first_sight() -> Any:
            return Delegation.decode(delegation_text).verified_key(kms_public_key, config.stack_name)

        def mint() -> str:
            return signer.mint(claims)

        legacy_event_body = json.dumps({"feedback_token": legacy_token, "outcome": "positive"})
        assert verify_legacy() == verify_only() == verify_before() == claims
        cases = {
            "handler": full,
            "minimal": minimal,
            "verify": verify_only,
            "verify_before": verify_before,
            "verify_legacy": verify_legacy,
            "delegation": delegation_first_sight,
            "mint": mint,
        }
        saved = _quiet_stdout()
        try:
            for case in cases.values():  # warm-up: imports, the public key, the first-call paths
                for _ in range(20):
                    case()
            assert full()["statusCode"] == 200
            assert json.loads(full()["body"])["outcome"] == "positive"
            timings: dict[str, list[float]] = {name: [] for name in cases}
            per_round: dict[str, list[float]] = {name: [] for name in cases}  # each round's median
            rounds = 10
            no_op.calls.clear()
            for _ in range(rounds):  # interleaved rounds, so that a noisy moment hits every case alike
                for name, case in cases.items():
                    this_round = []
                    for _ in range(max(1, calls // rounds)):
                        started = time.perf_counter()
                        case()
                        this_round.append(time.perf_counter() - started)
                    timings[name] += this_round
                    per_round[name].append(statistics.median(this_round))
        finally:
            _restore_stdout(saved)

    total = len(timings["handler"])
    per_post = ", ".join(f"{count / (2 * total):g} {name}" for name, count in sorted(no_op.calls.items()))
    median = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    p90 = {name: statistics.quantiles(values, n=10)[-1] * 1000 for name, values in timings.items()}
    labels = {
        "handler": "feedback lambda_handler (request checks, CORS, logs, metrics)",
        "minimal": "minimal: parse + ES256 verify + build the write (+ no-op call)",
        "verify": "of which verify alone (KMS key and delegation cached)",
        "verify_before": "verify before delegation: old verifier, KMS-signed token",
        "verify_legacy": "verify now, a KMS-signed token (minted before the change)",
        "delegation": "delegation, first sight (once per delegation and container)",
        "mint": "mint, delegated key (warm: no KMS call)",
    }
    print(f"Warm feedback post, {total} calls per case, Python {sys.version.split()[0]}")
    print(f"DynamoDB calls per post, both pipelines (no-op client): {per_post}")
    print(f"{'case':<66} {'median ms':>10} {'p90 ms':>8}")
    print("-" * 86)
    for name, label in labels.items():
        print(f"{label:<66} {median[name]:>10.3f} {p90[name]:>8.3f}")
    print("-" * 86)
    print(f"{'ratio handler / minimal (medians)':<66} {median['handler'] / median['minimal']:>10.1f}")
    print(f"{'framework cost per request, ms (handler - minimal)':<66} {median['handler'] - median['minimal']:>10.3f}")
    ratios = sorted(now / before for now, before in zip(per_round["verify"], per_round["verify_before"], strict=True))
    spread = f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f}"
    print(f"{'ratio verify now / before delegation (medians)':<66} {median['verify'] / median['verify_before']:>10.2f}")
    print(f"{'  the same per round, min / median / max':<66} {spread:>19}")
    print(
        f"\nToken length, characters: {len(token)} signed by a delegated key (its delegation: {len(delegation_text)}),"
    )
    print(f"{len(legacy_token)} signed by KMS itself; claims: {claims}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
