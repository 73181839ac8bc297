"""template.yaml's review function, dashboard, alarm, SNS topic and saved queries, checked as CloudWatch reads them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from local.template import Resolver, api_routes, load_template, table_definitions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
ENVIRONMENT = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
NAMESPACE = ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]
# What the functions emit (tests/unit/test_review_metrics.py parses each of them).
EMITTED = {
    "Feedback": [{"service", "agent", "outcome"}, {"service", "outcome"}],
    "FirstVotes": [{"service", "agent", "outcome"}, {"service", "outcome"}],
    "ChangedVotes": [{"service", "agent", "outcome"}, {"service", "outcome"}],
    "Retractions": [{"service", "agent"}],
    "Runs": [{"service", "agent"}],
    "RunCostUsd": [{"service", "agent"}],
    "RunDuration": [{"service", "agent"}],
    "TokenFailures": [{"service", "agent"}],
}
LOG_GROUP = "/aws/lambda/agent-feedback-FeedbackFunction-abc"
WIDGET_ARN = "arn:aws:lambda:us-east-1:123456789012:function:agent-feedback-FeedbackWidgetFunction-abc"


def resolver(**parameters: str) -> Resolver:
    return Resolver(
        TEMPLATE,
        refs={
            "FeedbackFunctionLogGroup": LOG_GROUP,
            "FeedbackWidgetViewerPolicy": "arn:aws:iam::123456789012:policy/widget-viewer",
            "AlarmTopic": "arn:aws:sns:us-east-1:123456789012:alarms",
            "FeedbackDashboard": "agent-feedback-local-feedback",
        },
        attributes={
            "SatisfactionAlarm.Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:satisfaction",
            "FeedbackWidgetFunction.Arn": WIDGET_ARN,
        },
        parameter_overrides=parameters,
    )


def properties(logical_id: str) -> dict:
    return RESOURCES[logical_id]["Properties"]


# --- dashboard ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> dict:
    body = resolver().resolve(properties("FeedbackDashboard")["DashboardBody"])
    return json.loads(body)


def widget(dashboard: dict, title_start: str) -> dict:
    [found] = [w for w in dashboard["widgets"] if w["properties"].get("title", "").startswith(title_start)]
    return found


def metric_rows(widget_: dict) -> tuple[dict[str, dict], dict[str, list]]:
    """(expressions by id, metric rows by id) of a metric widget."""
    expressions, metrics = {}, {}
    for row in widget_["properties"]["metrics"]:
        options = row[-1] if isinstance(row[-1], dict) else {}
        if "expression" in options:
            expressions[options["id"]] = options
        else:
            metrics[options.get("id", row[1])] = row
    return expressions, metrics


def test_dashboard_body_is_json_with_a_sane_grid(dashboard):
    assert dashboard["widgets"]
    cells = set()
    for w in dashboard["widgets"]:
        assert w["type"] in {"metric", "log", "text", "alarm", "custom"}
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not area & cells, f"widget {w['properties'].get('title')} overlaps another"
        cells |= area


def test_satisfaction_widget_divides_positive_by_all_votes_and_shows_the_count(dashboard):
    expressions, metrics = metric_rows(widget(dashboard, "Satisfaction, all agents"))
    assert expressions["satisfaction"]["expression"] == "FILL(positive, 0) / votes"
    assert expressions["votes"]["expression"] == "FILL(positive, 0) + FILL(negative, 0)"
    assert expressions["votes"]["yAxis"] == "right"
    for outcome in ("positive", "negative"):
        namespace, name, *dimensions, options = metrics[outcome]
        assert (namespace, name) == (NAMESPACE, "Feedback")
        assert dict(zip(dimensions[::2], dimensions[1::2], strict=True)) == {"service": SERVICE, "outcome": outcome}
        assert options["visible"] is False
    props = widget(dashboard, "Satisfaction, all agents")["properties"]
    assert props["yAxis"]["left"] == {"min": 0, "max": 1, "label": "Satisfaction", "showUnits": False}
    assert props["annotations"]["horizontal"][0]["value"] == 0.7  # the alarm threshold's default


def test_volume_runs_cost_widgets_search_the_metrics_the_functions_emit(dashboard):
    searches = []
    for title in ("Feedback volume", "First-time vs changed", "Runs by agent", "Run cost", "Run duration", "Token"):
        expressions, _ = metric_rows(widget(dashboard, title))
        searches += [e["expression"] for e in expressions.values() if "SEARCH" in e["expression"]]
    found = set()
    for expression in searches:
        schema, name = re.search(r"SEARCH\('\{(.+?)\} MetricName=\"(\w+)\"", expression).groups()
        namespace, *dimensions = schema.split(",")
        assert namespace == NAMESPACE
        assert set(dimensions) in EMITTED[name], f"{name} is not emitted with dimensions {dimensions}"
        found.add(name)
    assert found == {
        "Feedback",
        "FirstVotes",
        "ChangedVotes",
        "Retractions",
        "Runs",
        "RunCostUsd",
        "RunDuration",
        "TokenFailures",
    }
    cost, _ = metric_rows(widget(dashboard, "Run cost"))
    assert cost["totalcost"]["expression"] == "SUM(cost)"


def test_user_feedback_widget_is_the_widget_function_with_its_parameters(dashboard):
    found = widget(dashboard, "User feedback")
    assert found["type"] == "custom"
    props = found["properties"]
    assert props["endpoint"] == WIDGET_ARN
    # The template's parameters choose the first tenant and agent; the widget's form changes them.
    assert props["params"] == {"tenant": "", "agent": "", "limit": 20}
    assert (
        resolver(FeedbackPageTenant="acme", FeedbackPageAgent="support-bot")
        .resolve(properties("FeedbackDashboard")["DashboardBody"])
        .count('"tenant": "acme", "agent": "support-bot"')
        == 1
    )
    assert props["updateOn"] == {"refresh": True, "resize": False, "timeRange": True}
    assert found["width"] == 24 and found["height"] >= 10


def test_no_dashboard_widget_reads_end_user_text_from_the_logs(dashboard):
    """Comments come from the table (erasable), never from a Logs Insights widget over the feedback logs."""
    for w in dashboard["widgets"]:
        if w["type"] == "log":
            assert "comment" not in w["properties"]["query"]
            assert "user" not in w["properties"]["query"]
    assert not [w for w in dashboard["widgets"] if w["properties"].get("title") == "Latest comments"]


def test_alarm_widget_shows_the_satisfaction_alarm(dashboard):
    assert widget(dashboard, "Satisfaction alarm")["properties"]["alarms"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:satisfaction"
    ]


def test_log_message_the_queries_filter_on_is_the_one_the_feedback_function_logs():
    source = (ROOT / "layers/shared/agentfeedback/feedback/service.py").read_text()
    assert 'logger.info("feedback saved"' in source
    review = (ROOT / "layers/shared/agentfeedback/review/service.py").read_text()
    assert '"end-user feedback erased"' in review


# --- alarm --------------------------------------------------------------------------------------------


def alarm(**parameters: str) -> dict:
    return resolver(**parameters).resolve(properties("SatisfactionAlarm"))


def satisfaction_value(expression: str, positive: float, negative: float) -> float:
    """Evaluate the alarm's expression for one period, the way CloudWatch metric math defines it."""
    match = re.fullmatch(r"IF\(votes >= (\d+), FILL\(positive, 0\) / votes, ([\d.]+)\)", expression)
    assert match, expression
    minimum, fallback = int(match.group(1)), float(match.group(2))
    votes = positive + negative
    return positive / votes if votes >= minimum else fallback


def test_alarm_evaluates_only_periods_with_enough_votes():
    props = alarm(SatisfactionAlarmMinVotes="20", SatisfactionAlarmThreshold="0.7")
    [returned] = [metric for metric in props["Metrics"] if metric["ReturnData"]]
    assert props["ComparisonOperator"] == "LessThanThreshold"
    threshold = float(props["Threshold"])
    expression = returned["Expression"]

    def breaches(positive: int, negative: int) -> bool:
        return satisfaction_value(expression, positive, negative) < threshold

    assert not breaches(0, 3)  # three angry votes: not enough to page anyone
    assert not breaches(0, 19)
    assert breaches(0, 20) and breaches(13, 7)  # 0.65 over 20 votes
    assert not breaches(14, 6)  # exactly 0.7 is not below 0.7
    assert not breaches(1000, 1)
    # The fallback can never breach, whatever threshold the parameter allows (at most 1).
    assert float(TEMPLATE["Parameters"]["SatisfactionAlarmThreshold"]["MaxValue"]) <= 1
    assert satisfaction_value(expression, 0, 1) == 1


def test_alarm_votes_are_positive_plus_negative_feedback_of_the_emitted_metric():
    props = alarm()
    by_id = {metric["Id"]: metric for metric in props["Metrics"]}
    assert by_id["votes"]["Expression"] == "FILL(positive, 0) + FILL(negative, 0)"
    assert by_id["satisfaction"]["Expression"] == "IF(votes >= 20, FILL(positive, 0) / votes, 1)"
    for outcome in ("positive", "negative"):
        stat = by_id[outcome]["MetricStat"]
        assert (stat["Stat"], stat["Period"]) == ("Sum", "3600")
        metric = stat["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == (NAMESPACE, "Feedback")
        assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {"service": SERVICE, "outcome": outcome}
    assert props["TreatMissingData"] == "notBreaching"
    assert props["AlarmActions"] == props["OKActions"] == ["arn:aws:sns:us-east-1:123456789012:alarms"]


def test_alarm_can_watch_one_agent():
    props = alarm(SatisfactionAlarmAgent="support-bot")
    dimensions = {d["Name"]: d["Value"] for d in props["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]}
    assert dimensions == {"service": SERVICE, "agent": "support-bot", "outcome": "positive"}
    assert set(dimensions) in EMITTED["Feedback"]


def test_alarm_parameters_are_bounded():
    parameters = TEMPLATE["Parameters"]
    assert parameters["SatisfactionAlarmMinVotes"]["MinValue"] >= 1
    assert parameters["SatisfactionAlarmThreshold"]["MinValue"] == 0
    assert (
        parameters["SatisfactionAlarmPeriodSeconds"]["Default"]
        in parameters["SatisfactionAlarmPeriodSeconds"]["AllowedValues"]
    )


# --- SNS ----------------------------------------------------------------------------------------------


def test_email_subscription_exists_only_when_an_address_is_given():
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Type"] == "AWS::SNS::Subscription"
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert RESOURCES["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""
    assert resolver().condition("HasAlarmEmail") is False
    assert resolver(AlarmEmail="ops@example.com").condition("HasAlarmEmail") is True
    pattern = re.compile(TEMPLATE["Parameters"]["AlarmEmail"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("ops@example.com") and not pattern.fullmatch("not an email")


# --- review function ----------------------------------------------------------------------------------

REVIEW_ROUTES = {
    ("GET", "/v1/{tenant}/agents/{agent_id}/feedback"),
    ("GET", "/v1/{tenant}/agents/{agent_id}/feedback/summary"),
    ("GET", "/v1/{tenant}/agents/{agent_id}/runs/{run_id}"),
    ("GET", "/v1/{tenant}/agents/{agent_id}/runs/{run_id}/feedback"),
    ("GET", "/v1/{tenant}/agents/{agent_id}/runs/{run_id}/feedback/{feedback_id}"),
    ("DELETE", "/v1/{tenant}/feedback/users/{user_id}"),
    ("POST", "/v1/{tenant}/feedback/erasures"),
    ("GET", "/v1/{tenant}/agents/{agent_id}/versions/compare"),
    ("POST", "/v1/{tenant}/agents/{agent_id}/versions/{number}/improve"),
    ("GET", "/v1/{tenant}/agents/{agent_id}/feedback/aggregates/check"),
    ("POST", "/v1/{tenant}/agents/{agent_id}/feedback/aggregates/rebuild"),
}


def test_review_routes_all_need_an_api_key():
    routes = [route for route in api_routes(TEMPLATE) if route.function_id == "ReviewFunction"]
    assert {(route.method, route.path) for route in routes} == REVIEW_ROUTES
    assert {route.authorizer for route in routes} == {"ApiKeyAuthorizer"}
    others = {(route.method, route.path) for route in api_routes(TEMPLATE) if route.function_id != "ReviewFunction"}
    assert not others & REVIEW_ROUTES


def test_review_events_in_events_folder_match_the_routes():
    for event_file in sorted((ROOT / "events/review").glob("*.json")):
        event = json.loads(event_file.read_text())
        assert (event["httpMethod"], event["resource"]) in REVIEW_ROUTES, event_file.name
        assert event["requestContext"]["authorizer"]["tenant"]


def review_statements(**parameters: str) -> list[dict]:
    """The review function's policy statements as deployed with these parameters (each !If chosen)."""
    chosen = []
    for statement in properties("ReviewFunction")["Policies"][0]["Statement"]:
        if "Fn::If" in statement:
            condition, when_true, when_false = statement["Fn::If"]
            statement = when_true if resolver(**parameters).condition(condition) else when_false
        if statement != {"Ref": "AWS::NoValue"}:
            chosen.append(statement)
    return chosen


def test_review_function_has_least_privilege():
    statements = review_statements()
    grants = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            grants.setdefault(action, []).extend(json.dumps(resource) for resource in resources)
    assert set(grants) == {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
    }
    assert "*" not in json.dumps(statements)
    aggregates = json.dumps({"Fn::GetAtt": ["AggregatesTable", "Arn"]})
    assert sorted(grants["dynamodb:Query"]) == sorted(
        [
            aggregates,
            *(
                json.dumps({"Fn::Sub": f"${{{table}.Arn}}/index/{index}"})
                for table, index in [
                    ("FeedbackTable", "by_agent_time"),
                    ("FeedbackTable", "by_run"),
                    ("FeedbackTable", "by_user"),
                    ("RunsTable", "by_agent_time"),
                    ("RunsTable", "by_user"),
                ]
            ),
        ]
    )
    runs, feedback, agents = (
        json.dumps({"Fn::GetAtt": [table, "Arn"]}) for table in ("RunsTable", "FeedbackTable", "AgentsTable")
    )
    assert sorted(grants["dynamodb:GetItem"]) == sorted([runs, agents])
    # One run's entries with their histories, by the keys by_run lists (a recount reads them too); a rebuild
    # reads run states of the aggregates.
    assert sorted(grants["dynamodb:BatchGetItem"]) == sorted([feedback, aggregates])
    # DeleteItem erases an end user's entries; a rebuild deletes a day's slot that recounts to nothing.
    assert sorted(grants["dynamodb:DeleteItem"]) == sorted([feedback, aggregates])
    # UpdateItem gives an erased user's place back to the run's user counter, erases their runs' contents, numbers
    # a drafted version, and (rebuild) overwrites run states; PutItem saves that version (improve) and
    # overwrites a day's counts (rebuild).
    assert sorted(grants["dynamodb:UpdateItem"]) == sorted([feedback, runs, agents, aggregates])
    assert sorted(grants["dynamodb:PutItem"]) == sorted([agents, aggregates])


def test_review_function_reaches_a_model_provider_only_when_one_is_configured():
    def actions(**parameters: str) -> set[str]:
        found = set()
        for statement in review_statements(**parameters):
            listed = statement["Action"]
            found |= set(listed if isinstance(listed, list) else [listed])
        return found

    assert not {"secretsmanager:GetSecretValue", "bedrock:InvokeModel"} & actions()
    assert "bedrock:InvokeModel" in actions(BedrockEnabled="true")
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:openai"
    assert "secretsmanager:GetSecretValue" in actions(OpenAIApiKeySecretArn=secret)
    variables = properties("ReviewFunction")["Environment"]["Variables"]
    assert set(variables) == {"OPENAI_BASE_URL", "OPENAI_API_KEY_SECRET_ARN", "BEDROCK_ENABLED"}


def test_every_index_the_review_code_queries_is_declared_and_none_scans():
    # The review store, and the recount behind the aggregates check and rebuild (served by the review function).
    source = "\n".join(
        (ROOT / "layers/shared/agentfeedback" / path).read_text()
        for path in ("review/store.py", "aggregates/recount.py")
    )
    assert ".scan(" not in source
    # Every query goes through a core.storage.Table: self._<table>_table.query(Query(<key condition>, index="...")).
    used = set(re.findall(r'self\._(\w+)_table\.query(?:_all)?\(\s*Query\(\s*[^()]*?index="(\w+)"', source))
    tables = table_definitions(TEMPLATE)
    declared = {
        (logical_id.removesuffix("Table").lower(), index["IndexName"])
        for logical_id, definition in tables.items()
        for index in definition.get("GlobalSecondaryIndexes", [])
    }
    assert used == {
        ("feedback", "by_agent_time"),
        ("feedback", "by_run"),
        ("feedback", "by_user"),
        ("runs", "by_agent_time"),
    }
    assert used <= declared
    # The runs store finds an end user's runs (for erasure) through RunsTable.by_user.
    runs_source = (ROOT / "layers/shared/agentfeedback/runs/store.py").read_text()
    assert ".scan(" not in runs_source
    runs_used = set(re.findall(r'self\._table\.query(?:_all)?\(\s*Query\(\s*[^()]*?index="(\w+)"', runs_source))
    assert runs_used == {"by_user"} and ("runs", "by_user") in declared


def test_each_feedback_index_projects_only_what_its_queries_read():
    """A changed vote must not write an index whose projected attributes do not change (write units)."""
    indexes = {
        index["IndexName"]: index["Projection"]
        for index in table_definitions(TEMPLATE)["FeedbackTable"]["GlobalSecondaryIndexes"]
    }
    # by_run and by_user list keys: a change of vote keeps them, so it writes neither.
    assert indexes["by_run"] == indexes["by_user"] == {"ProjectionType": "KEYS_ONLY"}
    # by_agent_time: what the list and the summary read; never the history, which grows with every change.
    assert indexes["by_agent_time"]["ProjectionType"] == "INCLUDE"
    projected = set(indexes["by_agent_time"]["NonKeyAttributes"])
    assert "history" not in projected
    from agentfeedback.feedback.store import FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE

    entry_fields = {"feedback_id", "tenant", "agent_id", "run_id", "version_id", "user_id", "outcome", "comment"}
    assert entry_fields | {"updated_at", "revision", FLIPS_TO_NEGATIVE, FLIPS_TO_POSITIVE} == projected


def test_review_function_has_a_log_group_and_saved_queries_use_existing_groups():
    assert properties("ReviewFunctionLogGroup")["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${ReviewFunction}"}
    queries = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::Logs::QueryDefinition"}
    assert {"CommentedVotesQuery", "FeedbackByAgentQuery", "ChangedVotesQuery", "ErrorsQuery"} <= set(queries)
    for query in queries.values():
        for group in query["LogGroupNames"]:
            assert RESOURCES[group["Ref"]]["Type"] == "AWS::Logs::LogGroup"
        assert query["QueryString"].strip()
    # Logs Insights reads a JSON true as 1: the log line's has_comment flag, not the comment.
    assert "has_comment = 1" in queries["CommentedVotesQuery"]["QueryString"]
    every_group = {group["Ref"] for group in queries["ErrorsQuery"]["LogGroupNames"]}
    assert every_group == {k for k, v in RESOURCES.items() if v["Type"] == "AWS::Logs::LogGroup"}


def test_saved_queries_ask_for_no_end_user_text_or_id():
    """The feedback log lines hold neither (tests/unit/review/test_review_metrics.py): no query may expect them."""
    for name, spec in RESOURCES.items():
        if spec["Type"] == "AWS::Logs::QueryDefinition":
            # Field names only: the quoted log messages may say "end-user".
            fields = re.sub(r"'[^']*'", "''", spec["Properties"]["QueryString"])
            assert not re.search(r"\bcomment\b", fields), name
            assert "user" not in fields, name


# --- the dashboard's User feedback widget ----------------------------------------------------------


def test_widget_function_only_reads_what_a_page_and_a_run_need():
    spec = RESOURCES["FeedbackWidgetFunction"]
    assert spec["Type"] == "AWS::Serverless::Function"
    assert spec["Properties"]["CodeUri"] == "functions/feedback_widget/"
    assert "Events" not in spec["Properties"]  # no API route: only the dashboard's viewers invoke it
    statements = spec["Properties"]["Policies"][0]["Statement"]
    grants = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        grants[statement["Action"]] = [json.dumps(resource) for resource in resources]
    assert grants == {
        "dynamodb:Query": [
            json.dumps({"Fn::Sub": "${FeedbackTable.Arn}/index/by_agent_time"}),
            json.dumps({"Fn::Sub": "${FeedbackTable.Arn}/index/by_run"}),
            # The page's totals: the agent's partition of the aggregates.
            json.dumps({"Fn::GetAtt": ["AggregatesTable", "Arn"]}),
        ],
        # A run's popup reads its entries by the keys by_run lists (KEYS_ONLY): ReviewStore.run_feedback.
        "dynamodb:BatchGetItem": [json.dumps({"Fn::GetAtt": ["FeedbackTable", "Arn"]})],
        "dynamodb:GetItem": [json.dumps({"Fn::GetAtt": ["RunsTable", "Arn"]})],
    }
    assert properties("FeedbackWidgetFunctionLogGroup") == {
        "LogGroupName": {"Fn::Sub": "/aws/lambda/${FeedbackWidgetFunction}"},
        "RetentionInDays": 30,
    }


def test_widget_viewers_may_invoke_that_one_function_and_nothing_opens_it_to_a_service():
    """Custom widgets run with the viewer's credentials (CloudWatch user guide, dashboard sharing): the grant is
    an identity policy on the function's ARN, and no resource policy lets a service principal invoke it."""
    policy = properties("FeedbackWidgetViewerPolicy")["PolicyDocument"]
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["FeedbackWidgetFunction", "Arn"]},
        }
    ]
    permissions = [spec for spec in RESOURCES.values() if spec["Type"] == "AWS::Lambda::Permission"]
    assert not [spec for spec in permissions if "FeedbackWidgetFunction" in json.dumps(spec)]
    assert TEMPLATE["Outputs"]["FeedbackWidgetViewerPolicyArn"]["Value"] == {"Ref": "FeedbackWidgetViewerPolicy"}


def test_widget_parameters_take_the_ids_the_api_takes():
    parameters = TEMPLATE["Parameters"]
    tenant = re.compile(parameters["FeedbackPageTenant"]["AllowedPattern"])
    agent = re.compile(parameters["FeedbackPageAgent"]["AllowedPattern"])
    assert parameters["FeedbackPageTenant"]["Default"] == parameters["FeedbackPageAgent"]["Default"] == ""
    assert tenant.fullmatch("") and tenant.fullmatch("acme") and not tenant.fullmatch("Acme")
    assert agent.fullmatch("") and agent.fullmatch("support-bot") and not agent.fullmatch("-bot")


def test_widget_events_are_custom_widget_calls():
    for event_file in sorted((ROOT / "events/feedback_widget").glob("*.json")):
        event = json.loads(event_file.read_text())
        context = event["widgetContext"]
        assert {"dashboardName", "timeRange", "timezone", "params", "forms", "theme"} <= set(context), event_file.name
        assert "httpMethod" not in event


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "cfn-lint").exists() and not shutil.which("cfn-lint"), reason="no cfn-lint"
)
def test_cfn_lint_passes():
    executable = Path(sys.executable).parent / "cfn-lint"
    command = str(executable) if executable.exists() else "cfn-lint"
    result = subprocess.run([command, str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
