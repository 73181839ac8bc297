"""local.streams against moto's streams, and the kept-table upgrade of local.tables (moto in-process)."""

from __future__ import annotations

import boto3

from local.streams import StreamReader
from local.tables import create_missing_tables
from local.template import table_definitions

STREAMS = "https://streams.dynamodb.us-east-1.amazonaws.com"  # moto's regional endpoint


def put(dynamodb, pk: str) -> None:
    dynamodb.put_item(TableName="AgentsTable", Item={"pk": {"S": pk}, "sk": {"S": "meta"}})


def test_a_reader_goes_on_after_its_checkpoint_when_it_starts_again(aws):
    # AgentsTable has no stream in the template: this test gives it one.
    aws.dynamodb.update_table(
        TableName="AgentsTable", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    arn = aws.dynamodb.describe_table(TableName="AgentsTable")["Table"]["LatestStreamArn"]
    client = boto3.client("dynamodbstreams", endpoint_url=STREAMS)
    reader = StreamReader(client, arn, "TRIM_HORIZON")
    for pk in ("a", "b", "c"):
        put(aws.dynamodb, pk)
    first = reader.next_batch(2)
    assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in first] == ["a", "b"]
    reader.commit(first)
    # As after an error, or a restart with the checkpoints kept: the next read starts after "b".
    again = StreamReader(client, arn, "TRIM_HORIZON", reader.checkpoints)
    put(aws.dynamodb, "d")
    rest = again.next_batch(10)
    assert [record["dynamodb"]["Keys"]["pk"]["S"] for record in rest] == ["c", "d"]
    again.commit(rest)
    assert again.next_batch(10) == []


def test_a_kept_table_without_its_stream_gets_it_with_a_warning(aws):
    definitions = table_definitions()
    feedback = {name: value for name, value in definitions["FeedbackTable"].items() if name != "StreamSpecification"}
    aws.dynamodb.create_table(TableName="KeptFeedback", **feedback)
    warnings = create_missing_tables(
        aws.dynamodb, {"FeedbackTable": definitions["FeedbackTable"]}, {"FeedbackTable": "KeptFeedback"}
    )
    assert len(warnings) == 1 and "rebuild" in warnings[0] and "KeptFeedback" in warnings[0]
    stream = aws.dynamodb.describe_table(TableName="KeptFeedback")["Table"]["StreamSpecification"]
    assert stream == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert (
        create_missing_tables(
            aws.dynamodb, {"FeedbackTable": definitions["FeedbackTable"]}, {"FeedbackTable": "KeptFeedback"}
        )
        == []
    )
