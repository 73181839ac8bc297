"""template.yaml's tables, key, policies, limits and defences, read as CloudFormation would see them."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from local.routing import RouteTable
from local.template import api_routes, load_template
from tests.helpers import ROOT

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]


def resource(name: str) -> dict:
    return RESOURCES[name]["Properties"]


def actions_of(function: str) -> set[str]:
    """Every IAM action a function's inline policies grant (both branches of an !If)."""
    found: set[str] = set()

    def visit(statement: object) -> None:
        if isinstance(statement, dict) and "Fn::If" in statement:
            for branch in statement["Fn::If"][1:]:
                visit(branch)
        elif isinstance(statement, dict) and "Action" in statement:
            action = statement["Action"]
            found.update([action] if isinstance(action, str) else action)

    for policy in resource(function)["Policies"]:
        for statement in policy["Statement"]:
            visit(statement)
    return found


def test_feedback_table_is_keyed_by_run_and_user_with_pitr_and_review_indexes():
    table = resource("FeedbackTable")
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    indexes = {index["IndexName"]: index["KeySchema"] for index in table["GlobalSecondaryIndexes"]}
    assert indexes["by_agent_time"] == [
        {"AttributeName": "tenant_agent", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert {"by_run", "by_user"} <= set(indexes)


def test_runs_expire_and_every_table_survives_stack_deletion():
    assert resource("RunsTable")["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    for name, spec in RESOURCES.items():
        if spec["Type"] == "AWS::DynamoDB::Table":
            assert spec["DeletionPolicy"] == "Retain", name
            assert spec["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_token_key_is_an_ecc_signing_key_with_an_alias():
    key = resource("TokenKey")
    assert (key["KeySpec"], key["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")
    assert resource("TokenKeyAlias")["TargetKeyId"] == {"Ref": "TokenKey"}


def test_only_the_run_and_chat_functions_may_sign_tokens():
    for function in ("RunFunction", "ChatFunction"):
        assert "kms:Sign" in actions_of(function)
    for function in ("FeedbackFunction", "ReviewFunction", "AuthorizerFunction", "AggregatorFunction"):
        assert "kms:Sign" not in actions_of(function), function
    assert actions_of("FeedbackFunction") == {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "kms:GetPublicKey",
    }
    assert not any(action.endswith(("*", "Scan")) for action in actions_of("ReviewFunction"))


def test_runtime_is_one_aws_supports_past_2027_and_timeouts_fit_api_gateway():
    assert TEMPLATE["Globals"]["Function"]["Runtime"] in ("python3.12", "python3.13")
    for name, spec in RESOURCES.items():
        if spec["Type"] == "AWS::Serverless::Function":
            timeout = spec["Properties"].get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"])
            behind_api = any(event["Type"] == "Api" for event in spec["Properties"].get("Events", {}).values())
            # API Gateway cuts buffered integrations off at 29 s (streaming ones: test_template_streaming.py).
            assert timeout < 29 or not behind_api or name in ("RunFunction", "ChatFunction"), name
            assert f"{name}LogGroup" in RESOURCES, name


def test_stage_is_throttled():
    [settings] = resource("Api")["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ThrottleRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ThrottleBurstLimit"}


def test_optional_waf_rate_limits_the_public_feedback_route_per_ip():
    assert PARAMETERS["EnableWaf"]["Default"] == "false"
    acl = RESOURCES["PublicRoutesWebAcl"]
    assert acl["Condition"] == RESOURCES["PublicRoutesWebAclAssociation"]["Condition"] == "UseWaf"
    [rule] = acl["Properties"]["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP" and rate["Limit"] == {"Ref": "WafRateLimitPerIp"}
    assert rate["ScopeDownStatement"]["RegexMatchStatement"]["FieldToMatch"] == {"UriPath": {}}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429


def _waf_normalised(path: str) -> str:
    """WAF's URL_DECODE then NORMALIZE_PATH: doubled slashes, self-references and back-references removed."""
    segments: list[str] = []
    for segment in urllib.parse.unquote(path).split("/"):
        if segment in ("", "."):
            continue
        if segment == ".." and segments:
            segments.pop()
        else:
            segments.append(segment)
    return "/" + "/".join(segments) + ("/" if path.endswith("/") else "")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/feedback",
        "/v1/feedback/",
        "/v1/feedback//",
        "/v1//feedback",
        "/v1/./feedback",
        "/v1/x/../feedback",
        "/v1/feedback%2F",
        "/v1/%66eedback",
        "/V1/feedback",
        "/v1/feedbackx",
        "/v1/acme/feedback/users/u1",
    ],
)
def test_waf_rule_covers_every_path_that_reaches_the_public_function(path):
    scope = RESOURCES["PublicRoutesWebAcl"]["Properties"]["Rules"][0]["Statement"]["RateBasedStatement"]
    statement = scope["ScopeDownStatement"]["RegexMatchStatement"]
    assert [step["Type"] for step in statement["TextTransformations"]] == ["URL_DECODE", "NORMALIZE_PATH"]
    pattern = re.compile(statement["RegexString"])
    matched = RouteTable(api_routes(TEMPLATE)).match("POST", path)
    reaches_feedback = matched is not None and matched.route.function_id == "FeedbackFunction"
    for stage in ("/prod", ""):  # the default endpoint has the stage in the path, a custom domain may not
        covered = pattern.search(_waf_normalised(stage + path)) is not None
        assert covered or not reaches_feedback, f"{path} reaches the feedback function but escapes the rate rule"
    if path in ("/v1/feedback", "/v1/feedback/"):
        assert reaches_feedback  # API Gateway routes a trailing slash as the path without it
    if path in ("/v1/acme/feedback/users/u1", "/V1/feedback", "/v1/feedbackx"):
        assert pattern.search(_waf_normalised("/prod" + path)) is None  # authenticated or unknown: not rate-limited


def test_public_routes_have_no_authorizer_and_every_other_route_has_one():
    for name, spec in RESOURCES.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        for event in spec["Properties"].get("Events", {}).values():
            authorizer = event["Properties"].get("Auth", {}).get("Authorizer")
            if event["Properties"]["Path"] == "/v1/feedback":
                assert authorizer is None, name
            else:
                assert authorizer == "ApiKeyAuthorizer", (name, event["Properties"]["Path"])


def test_distinct_users_per_run_cap_is_a_parameter():
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["MAX_USERS_PER_RUN"] == {"Ref": "MaxUsersPerRun"}
    assert PARAMETERS["MaxUsersPerRun"]["Default"] == 1000


def test_the_public_function_reads_only_a_runs_end_user():
    """A bound token without user_id: the public function reads the run's end user, and no input or output."""
    statements = [
        statement
        for statement in resource("FeedbackFunction")["Policies"][0]["Statement"]
        if isinstance(statement, dict) and statement.get("Resource") == {"Fn::GetAtt": ["RunsTable", "Arn"]}
    ]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": {"Fn::GetAtt": ["RunsTable", "Arn"]},
            "Condition": {
                "ForAllValues:StringEquals": {"dynamodb:Attributes": ["run_id", "tenant", "end_user"]},
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
            },
        }
    ]
    # What feedback.store.RunEndUsers asks for is within what the policy allows.
    source = (ROOT / "layers/shared/agentfeedback/feedback/store.py").read_text()
    assert 'projection="#run_id, #tenant, #end_user"' in source
