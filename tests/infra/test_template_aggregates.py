"""template.yaml's aggregates: the two streams, the event source mappings, the aggregator's role, the failure queue."""

from __future__ import annotations

import json

import pytest

from local.template import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]


def properties(logical_id: str) -> dict:
    return RESOURCES[logical_id]["Properties"]


def grants(function: str) -> dict[str, list[str]]:
    """action -> the resources (as JSON) a function's inline policies allow it on."""
    found: dict[str, list[str]] = {}
    for policy in properties(function)["Policies"]:
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                found.setdefault(action, []).extend(json.dumps(resource) for resource in resources)
    return found


def test_the_feedback_and_runs_tables_stream_both_images():
    for table in ("FeedbackTable", "RunsTable"):
        assert properties(table)["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}, table


def test_aggregates_table_holds_counts_run_states_and_expiring_markers():
    table = properties("AggregatesTable")
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "GlobalSecondaryIndexes" not in table and "StreamSpecification" not in table
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["AGGREGATES_TABLE"] == {"Ref": "AggregatesTable"}


@pytest.mark.parametrize(
    ("mapping", "table"), [("FeedbackStreamMapping", "FeedbackTable"), ("RunsStreamMapping", "RunsTable")]
)
def test_each_stream_feeds_the_aggregator_with_partial_failures_bisect_and_an_on_failure_queue(mapping, table):
    assert RESOURCES[mapping]["Type"] == "AWS::Lambda::EventSourceMapping"
    spec = properties(mapping)
    assert spec["FunctionName"] == {"Ref": "AggregatorFunction"}
    assert spec["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert spec["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert spec["BisectBatchOnFunctionError"] is True
    assert 0 < spec["MaximumRetryAttempts"] <= 100  # finite: a poison record cannot block its shard for 24 hours
    assert spec["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["AggregatorFailureQueue", "Arn"]}}
    }
    assert spec["StartingPosition"] == "TRIM_HORIZON"
    assert spec["BatchSize"] <= 100  # the aggregator's transactions hold at most 100 writes


def test_aggregator_has_least_privilege():
    found = grants("AggregatorFunction")
    assert set(found) == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
    }
    streams = sorted(json.dumps({"Fn::Sub": f"${{{table}.Arn}}/stream/*"}) for table in ("FeedbackTable", "RunsTable"))
    for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
        assert sorted(found[f"dynamodb:{action}"]) == streams
    aggregates = [json.dumps({"Fn::GetAtt": ["AggregatesTable", "Arn"]})]
    assert found["dynamodb:BatchGetItem"] == found["dynamodb:PutItem"] == found["dynamodb:UpdateItem"] == aggregates
    assert found["sqs:SendMessage"] == [json.dumps({"Fn::GetAtt": ["AggregatorFailureQueue", "Arn"]})]
    assert '"*"' not in json.dumps(properties("AggregatorFunction")["Policies"])
    assert "Events" not in properties("AggregatorFunction")  # the mappings are resources of their own


def test_failed_batches_are_kept_encrypted_and_raise_the_alarm():
    queue = properties("AggregatorFailureQueue")
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 1209600
    alarm = properties("AggregatorFailureAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["AggregatorFailureQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert "aggregates/check" in alarm["AlarmDescription"] and "rebuild" in alarm["AlarmDescription"]


def test_the_aggregator_logs_to_its_own_group_and_the_errors_query():
    assert properties("AggregatorFunctionLogGroup")["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AggregatorFunction}"}
    assert {"Ref": "AggregatorFunctionLogGroup"} in properties("ErrorsQuery")["LogGroupNames"]
