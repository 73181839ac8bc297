"""core.storage.Table: plain values in and out, conditions as return values, storage failures as ServiceUnavailable."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from agentfeedback.core.errors import ServiceUnavailable
from agentfeedback.core.storage import Put, Query, Table, Update
from tests.fuzz.botocore_faults import Fault, connection_refused, recorded_backoff


@pytest.fixture
def agents(aws) -> Table:
    """AgentsTable of template.yaml (pk, sk), in moto."""
    return Table(aws.dynamodb, "AgentsTable")


def key(sk: str) -> dict[str, str]:
    return {"pk": "acme#support-bot", "sk": sk}


def test_an_item_goes_in_and_comes_back_as_plain_values(aws, agents):
    agents.put({**key("version#1"), "properties": '{"model":"offline"}', "number": 1, "ratio": 0.25, "draft": False})
    assert agents.get(key("version#1"), consistent=True) == {
        **key("version#1"),
        "properties": '{"model":"offline"}',
        "number": 1,
        "ratio": 0.25,
        "draft": False,
    }
    stored = aws.dynamodb.get_item(
        TableName="AgentsTable", Key={"pk": {"S": "acme#support-bot"}, "sk": {"S": "version#1"}}
    )
    assert stored["Item"]["number"] == {"N": "1"} and stored["Item"]["properties"] == {"S": '{"model":"offline"}'}


def test_a_missing_item_is_none_and_a_projection_reads_only_what_it_names(agents):
    assert agents.get(key("version#9")) is None
    agents.put({**key("env#dev"), "number": 3})
    assert agents.get(key("env#dev"), projection="#n", names={"#n": "number"}) == {"number": 3}


def test_a_put_whose_condition_fails_is_false_and_changes_nothing(agents):
    assert agents.put({**key("schema_hash#a"), "number": 1}, condition="attribute_not_exists(pk)") is True
    assert agents.put({**key("schema_hash#a"), "number": 2}, condition="attribute_not_exists(pk)") is False
    assert agents.get(key("schema_hash#a"))["number"] == 1


def test_an_update_returns_what_was_asked_or_none_when_its_condition_fails(agents):
    counted = agents.update(
        key("meta"), "ADD #c :one", names={"#c": "schema_counter"}, values={":one": 1}, returns="UPDATED_NEW"
    )
    assert counted is not None and counted["schema_counter"] == 1  # (moto adds the key, DynamoDB does not)
    assert agents.update(key("meta"), "ADD #c :one", names={"#c": "schema_counter"}, values={":one": 1}) == {}
    refused = agents.update(
        key("meta"), "ADD #c :one", condition="#c < :cap", names={"#c": "schema_counter"}, values={":one": 1, ":cap": 2}
    )
    assert refused is None
    assert agents.get(key("meta"))["schema_counter"] == 2


def test_a_delete_whose_condition_fails_is_false_and_keeps_the_item(agents):
    agents.put({**key("env#dev"), "number": 3})
    condition = {"condition": "#n = :n", "names": {"#n": "number"}}
    assert agents.delete(key("env#dev"), values={":n": 4}, **condition) is False
    assert agents.get(key("env#dev")) is not None
    assert agents.delete(key("env#dev"), values={":n": 3}, **condition) is True
    assert agents.get(key("env#dev")) is None


def test_put_all_writes_every_item_or_none(agents):
    first = [Put({**key("version_hash#h"), "number": 1}, "attribute_not_exists(pk)"), Put({**key("version#1")})]
    assert agents.put_all(first) is True
    again = [Put({**key("version_hash#h"), "number": 2}, "attribute_not_exists(pk)"), Put({**key("version#2")})]
    assert agents.put_all(again) is False
    assert agents.get(key("version#2")) is None and agents.get(key("version_hash#h"))["number"] == 1


def test_a_query_pages_in_sort_key_order_and_resumes_from_its_last_key(agents):
    for number in (1, 2, 3):
        agents.put({**key(f"version#{number}"), "number": number})
    agents.put({**key("env#dev"), "number": 1})
    values = {":pk": "acme#support-bot", ":prefix": "version#"}
    newest_first = Query("pk = :pk AND begins_with(sk, :prefix)", values=values, newest_first=True)
    first = agents.query(newest_first, limit=2)
    assert [item["number"] for item in first.items] == [3, 2]
    assert first.last_key == key("version#2")
    rest = agents.query(newest_first, limit=2, start=first.last_key)
    assert [item["number"] for item in rest.items] == [1]
    oldest_first = Query("pk = :pk AND begins_with(sk, :prefix)", values=values)
    assert [item["sk"] for item in agents.query_all(oldest_first)] == ["version#1", "version#2", "version#3"]


class PagedClient:
    """Answers each query with the next of its pages (wire format), recording the requests."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return self.pages[len(self.requests) - 1]


def test_query_all_follows_every_page_with_the_last_key_as_the_next_start():
    resume = {
        "pk": {"S": "r#u1"},
        "tenant_agent": {"S": "acme#bot"},
        "created_at": {"S": "2026-11-02T09:00:00.000000Z"},
    }
    client = PagedClient(
        [
            {"Items": [{"pk": {"S": "r#u1"}}], "LastEvaluatedKey": resume},
            {"Items": [{"pk": {"S": "r#u2"}}]},
        ]
    )
    table = Table(client, "FeedbackTable")  # type: ignore[arg-type]
    query = Query("#p = :p", index="by_agent_time", names={"#p": "tenant_agent"}, values={":p": "acme#bot"})
    items = table.query_all(query)
    assert [item["pk"] for item in items] == ["r#u1", "r#u2"]
    assert "ExclusiveStartKey" not in client.requests[0]
    assert client.requests[1]["ExclusiveStartKey"] == resume
    assert client.requests[1]["ExpressionAttributeValues"] == {":p": {"S": "acme#bot"}}
    assert client.requests[1]["IndexName"] == "by_agent_time"


@pytest.mark.parametrize(
    "fault",
    [{"code": "ProvisionedThroughputExceededException"}, {"code": "InternalServerError", "status": 500}],
    ids=["throttled", "server-error"],
)
def test_a_busy_table_is_service_unavailable_after_the_retries(aws, agents, fault):
    with recorded_backoff(), Fault(aws.dynamodb, "PutItem", **fault), pytest.raises(ServiceUnavailable) as raised:
        agents.put({**key("env#dev"), "number": 1})
    assert "nothing was changed" in raised.value.message and raised.value.headers["Retry-After"] == "1"
    assert isinstance(raised.value.__cause__, ClientError)


def test_an_unreachable_table_is_service_unavailable(aws, agents):
    fault = Fault(aws.dynamodb, "GetItem", exception=connection_refused)
    with recorded_backoff(), fault, pytest.raises(ServiceUnavailable, match="unreachable"):
        agents.get(key("env#dev"))
    assert fault.attempts > 1  # botocore retried before we gave up


class CancellingClient:
    """Cancels every transaction with these per-item reasons."""

    def __init__(self, *reasons: str) -> None:
        self.reasons = reasons

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        cancellation = {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": reason} for reason in self.reasons],
        }
        raise ClientError(cancellation, "TransactWriteItems")  # type: ignore[arg-type]


def test_a_transaction_cancelled_by_a_concurrent_one_is_service_unavailable():
    table = Table(CancellingClient("None", "TransactionConflict"), "AgentsTable")  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable, match="retry"):
        table.put_all([Put(key("a")), Put(key("b"))])


def test_a_transaction_cancelled_by_a_condition_is_false():
    table = Table(CancellingClient("ConditionalCheckFailed", "None"), "AgentsTable")  # type: ignore[arg-type]
    assert table.put_all([Put(key("a"), "attribute_not_exists(pk)"), Put(key("b"))]) is False


def test_any_other_aws_error_is_a_bug_and_propagates_unchanged(aws):
    missing = Table(aws.dynamodb, "NoSuchTable")
    with pytest.raises(ClientError) as raised:
        missing.get({"pk": "x"})
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_write_all_applies_puts_and_updates_together_or_names_the_conditions_that_failed(agents):
    agents.put({**key("env#dev"), "number": 1})
    writes = [
        Put({**key("version#1"), "number": 1}, "attribute_not_exists(pk)"),
        Update(key("meta"), "ADD #c :one", names={"#c": "counter"}, values={":one": 1}),
        Update(
            key("env#dev"),
            "SET #n = :two",
            condition="#n = :one",
            names={"#n": "number"},
            values={":one": 1, ":two": 2},
        ),
    ]
    assert agents.write_all(writes) == []
    assert agents.get(key("meta"))["counter"] == 1 and agents.get(key("env#dev"))["number"] == 2
    # Again: the put's and the update's conditions no longer hold, so nothing is written, and both are named.
    assert agents.write_all(writes) == [0, 2]
    assert agents.get(key("meta"))["counter"] == 1


def test_write_all_refuses_more_than_a_transaction_holds(agents):
    with pytest.raises(ValueError, match="100"):
        agents.write_all([Put(key(f"version#{index}")) for index in range(101)])


def test_write_all_cancelled_by_a_concurrent_transaction_is_service_unavailable():
    table = Table(CancellingClient("TransactionConflict", "None"), "AgentsTable")  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable):
        table.write_all([Put(key("a")), Put(key("b"))])


def test_get_many_reads_existing_items_in_batches_of_100(agents):
    for index in range(150):
        agents.put({**key(f"version#{index}"), "number": index})
    found = agents.get_many([key(f"version#{index}") for index in range(160)], consistent=True)
    assert sorted(item["number"] for item in found) == list(range(150))


class Unprocessing:
    """BatchGetItem that leaves every key unprocessed (throttled)."""

    calls = 0

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        return {"Responses": {}, "UnprocessedKeys": request["RequestItems"]}


def test_get_many_asks_again_for_unprocessed_keys_then_is_service_unavailable(monkeypatch):
    monkeypatch.setattr("agentfeedback.core.storage.time.sleep", lambda _: None)
    client = Unprocessing()
    with pytest.raises(ServiceUnavailable):
        Table(client, "AgentsTable").get_many([key("a")], attempts=5)  # type: ignore[arg-type]
    assert client.calls == 5
