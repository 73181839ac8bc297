"""Time the run and chat handlers minus the model call: median of many warm calls, in-process.

AWS is moto in-process (DynamoDB and KMS), so the figures include moto's own cost of answering
PutItem and Sign; in AWS those are network calls of a few milliseconds each instead.
Usage: python bench/handler_overhead.py [calls]
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import sys
import time

import in_process_aws

in_process_aws.prepare(log_level="ERROR")

from moto import mock_aws  # noqa: E402

from tests.helpers import FakeContext, load_event, load_handler  # noqa: E402


def main(calls: int) -> None:
    with mock_aws():
        in_process_aws.create_tables_and_key()

        from agentfeedback.providers import router

        model_seconds: list[float] = []
        real_complete = router.ModelRouter.complete

        def timed_complete(self, request):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return real_complete(self, request)
            finally:
                model_seconds.append(time.perf_counter() - started)

        router.ModelRouter.complete = timed_complete  # type: ignore[method-assign]
        schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        out = {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}
        register = load_event(
            "run/register_agent.json", body={"id": "city-facts", "input_schema": schema, "output_schema": out}
        )
        with contextlib.redirect_stdout(io.StringIO()):
            load_handler("run").lambda_handler(register, FakeContext())
        cases = {
            "run": ("run", load_event("run/run_agent.json")),
            "chat": ("chat", load_event("chat/chat_completion.json")),
        }
        print(f"{'handler':<8} {'calls':>6} {'median total ms':>16} {'median model ms':>16} {'median overhead ms':>19}")
        for label, (function, event) in cases.items():
            handler = load_handler(function).lambda_handler
            with contextlib.redirect_stdout(io.StringIO()):
                assert json.loads(handler(event, FakeContext())["body"])  # warm-up, and a sanity check
            totals, model_seconds[:] = [], []
            for _ in range(calls):
                with contextlib.redirect_stdout(io.StringIO()):  # the EMF metric lines
                    started = time.perf_counter()
                    response = handler(event, FakeContext())
                    totals.append(time.perf_counter() - started)
                assert response["statusCode"] == 200, response["body"]
            overheads = [total - model for total, model in zip(totals, model_seconds, strict=True)]
            print(
                f"{label:<8} {calls:>6} {statistics.median(totals) * 1000:>16.2f} "
                f"{statistics.median(model_seconds) * 1000:>16.2f} {statistics.median(overheads) * 1000:>19.2f}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
