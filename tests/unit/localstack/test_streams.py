"""local.streams: the template's event source mappings, and Lambda's delivery rules for stream batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from local.lambda_runtime import FunctionError
from local.streams import BatchDelivery, EventSourceMapping, event_source_mappings, lambda_record
from local.template import TemplateError, load_template

ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/FeedbackTable/stream/2026-11-01T00:00:00.000"


def records(count: int) -> list[dict]:
    return [
        {
            "eventID": f"e{index}",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "ddblocal",
            "dynamodb": {
                "ApproximateCreationDateTime": datetime(2026, 11, 2, 10, tzinfo=UTC),
                "Keys": {"pk": {"S": f"r#{index}"}},
                "SequenceNumber": f"{index:021d}",
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "_shard_id": "shardId-1",
        }
        for index in range(count)
    ]


class Function:
    """A function that records what it was given and answers as `answer(sequence numbers)` says."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[list[str]] = []

    def __call__(self, function_id, event):
        assert function_id == "AggregatorFunction"
        sequences = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
        self.calls.append(sequences)
        return self.answer(sequences)


def delivery(function, **options) -> BatchDelivery:
    mapping = EventSourceMapping(
        logical_id="FeedbackStreamMapping",
        function_id="AggregatorFunction",
        table_id="FeedbackTable",
        report_item_failures=True,
        bisect_on_error=True,
        max_retries=3,
        on_failure="AggregatorFailureQueue",
    )
    mapping = EventSourceMapping(**{**mapping.__dict__, **options})
    return BatchDelivery(mapping, function, ARN, sleep=lambda _: None)


def test_the_templates_mappings_are_read_with_lambdas_settings():
    mappings = {mapping.logical_id: mapping for mapping in event_source_mappings(load_template())}
    assert set(mappings) == {"FeedbackStreamMapping", "RunsStreamMapping"}
    feedback = mappings["FeedbackStreamMapping"]
    assert (feedback.function_id, feedback.table_id) == ("AggregatorFunction", "FeedbackTable")
    assert feedback.report_item_failures and feedback.bisect_on_error
    assert (feedback.batch_size, feedback.max_retries, feedback.on_failure) == (100, 10, "AggregatorFailureQueue")
    assert mappings["RunsStreamMapping"].table_id == "RunsTable"


def test_a_mapping_the_local_stack_cannot_follow_is_refused_by_name():
    template = {
        "Resources": {
            "Odd": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {"FunctionName": "literal-name", "EventSourceArn": {"Fn::GetAtt": ["T", "StreamArn"]}},
            }
        }
    }
    with pytest.raises(TemplateError, match="Odd"):
        event_source_mappings(template)


def test_records_reach_the_function_in_lambdas_event_shape():
    function = Function(lambda sequences: {"batchItemFailures": []})
    seen = []
    target = delivery(lambda function_id, event: seen.append(event) or function(function_id, event))
    target.deliver(records(2))
    [event] = seen
    record = event["Records"][0]
    assert record["eventSourceARN"] == ARN and record["awsRegion"] == "us-east-1" and "_shard_id" not in record
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(datetime(2026, 11, 2, 10, tzinfo=UTC).timestamp())
    assert lambda_record(records(1)[0], ARN, "eu-west-1")["awsRegion"] == "eu-west-1"


def test_a_partial_failure_is_retried_from_the_record_it_names():
    failing = {"000000000000000000002"}

    def answer(sequences):
        named = [sequence for sequence in sequences if sequence in failing]
        failing.clear()  # fails once
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in named]}

    function = Function(answer)
    target = delivery(function)
    target.deliver(records(4))
    assert function.calls == [[f"{index:021d}" for index in range(4)], [f"{index:021d}" for index in (2, 3)]]
    assert target.failures == []


def test_an_identifier_that_names_no_record_retries_the_whole_batch():
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "nope"}]}, {"batchItemFailures": []}])
    function = Function(lambda sequences: next(answers))
    delivery(function).deliver(records(3))
    assert function.calls[0] == function.calls[1]


def test_a_function_error_halves_the_batch_until_the_failing_record_is_alone_then_gives_it_up():
    poison = f"{5:021d}"

    def answer(sequences):
        if poison in sequences:
            raise FunctionError("boom")
        return {"batchItemFailures": []}

    function = Function(answer)
    target = delivery(function)
    target.deliver(records(8))
    delivered = {sequence for call in function.calls for sequence in call if poison not in call}
    assert delivered == {f"{index:021d}" for index in range(8)} - {poison}  # every other record got through
    assert function.calls.count([poison]) == 1 + 3  # alone: the first try and MaximumRetryAttempts retries
    [failure] = target.failures
    assert failure["destination"] == "AggregatorFailureQueue"
    assert failure["DDBStreamBatchInfo"] == {
        "shardId": "shardId-1",
        "startSequenceNumber": poison,
        "endSequenceNumber": poison,
        "batchSize": 1,
        "streamArn": ARN,
    }


def test_without_bisect_a_failing_batch_is_retried_whole_then_given_up():
    function = Function(lambda sequences: (_ for _ in ()).throw(FunctionError("down")))
    target = delivery(function, bisect_on_error=False, max_retries=2)
    target.deliver(records(3))
    assert len(function.calls) == 3 and all(len(call) == 3 for call in function.calls)
    assert target.failures[0]["DDBStreamBatchInfo"]["batchSize"] == 3
