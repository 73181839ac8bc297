"""The local stack's template reader and API gateway: routes, environment, authorizers and error shapes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.api_gateway import ApiGateway, HttpRequest, policy_allows
from local.lambda_runtime import LocalFunctions
from local.routing import RouteTable
from local.template import (
    NO_VALUE,
    ApiRoute,
    Resolver,
    TemplateError,
    api_routes,
    function_environment,
    functions,
    gateway_response,
    load_template,
    mock_routes,
    references_resources,
    table_definitions,
)

# -- the real template ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_short_form_tags_become_long_form_intrinsics(template):
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["FEEDBACK_TABLE"] == {"Ref": "FeedbackTable"}
    assert variables["TOKEN_KEY_ID"] == {"Fn::GetAtt": ["TokenKey", "Arn"]}
    assert variables["PREVIOUS_TOKEN_KEY_IDS"] == {"Fn::Join": [",", {"Ref": "PreviousTokenKeyArns"}]}
    assert template["Conditions"]["HasPreviousTokenKeys"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "PreviousTokenKeyArns"}]}, ""]}]
    }


def test_table_definitions_come_from_the_templates_key_schema(template):
    feedback = table_definitions(template)["FeedbackTable"]
    assert feedback["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert {index["IndexName"] for index in feedback["GlobalSecondaryIndexes"]} >= {
        "by_agent_time",
        "by_run",
        "by_user",
    }
    assert feedback["BillingMode"] == "PAY_PER_REQUEST"
    # Only what create_table accepts: deployment settings (PITR, SSE) stay out; the stream goes in (the aggregator).
    assert set(feedback) <= {
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "StreamSpecification",
    }
    assert feedback["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_function_environment_resolves_with_local_values(template):
    resolver = Resolver(
        template,
        refs={name: name for name in table_definitions(template)},
        attributes={"TokenKey.Arn": "arn:aws:kms:us-east-1:123456789012:key/local"},
    )
    environment = function_environment(template, "FeedbackFunction", resolver)
    assert environment["FEEDBACK_TABLE"] == "FeedbackTable"
    assert environment["TOKEN_KEY_ID"] == "arn:aws:kms:us-east-1:123456789012:key/local"
    assert environment["TOKEN_LIFETIME_DAYS"] == str(template["Parameters"]["TokenLifetimeDays"]["Default"])
    assert environment["PREVIOUS_TOKEN_KEY_IDS"] == ""
    assert environment["ALLOWED_ORIGINS"] == "*"


def test_unresolvable_reference_names_function_and_variable(template):
    with pytest.raises(
        TemplateError, match=r"FeedbackFunction: environment variable FEEDBACK_TABLE: !Ref FeedbackTable"
    ):
        function_environment(template, "FeedbackFunction", Resolver(template))


def test_parameter_overrides_and_conditions(template):
    assert Resolver(template).condition("HasPreviousTokenKeys") is False
    rotating = Resolver(template, parameter_overrides={"PreviousTokenKeyArns": "arn:a,arn:b"})
    assert rotating.condition("HasPreviousTokenKeys") is True
    assert rotating.resolve({"Fn::Join": [",", {"Ref": "PreviousTokenKeyArns"}]}) == "arn:a,arn:b"


def test_sub_if_split_select_and_no_value(template):
    resolver = Resolver(template, refs={"Thing": "thing-1"}, attributes={"Thing.Arn": "arn:thing"})
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}/${Thing}/${Thing.Arn}/${!Literal}"}) == (
        "us-east-1/thing-1/arn:thing/${Literal}"
    )
    assert resolver.resolve({"Fn::Sub": ["${A}-${Stage}", {"A": "x"}]}) == "x-dev"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::If": ["HasPreviousTokenKeys", "yes", {"Ref": "AWS::NoValue"}]}) is NO_VALUE
    assert resolver.resolve([{"Fn::If": ["HasPreviousTokenKeys", "yes", {"Ref": "AWS::NoValue"}]}]) == []


def test_only_parameter_driven_variables_may_be_overridden(template):
    variables = functions(template)["FeedbackFunction"].environment
    assert references_resources(template, variables["FEEDBACK_TABLE"])
    assert references_resources(template, variables["TOKEN_KEY_ID"])
    assert not references_resources(template, variables["ALLOWED_ORIGINS"])
    assert not references_resources(template, variables["PREVIOUS_TOKEN_KEY_IDS"])


def test_functions_get_globals_and_layers(template):
    feedback = functions(template)["FeedbackFunction"]
    assert feedback.handler == "app.lambda_handler"
    assert feedback.code_dir.name == "feedback" and (feedback.code_dir / "app.py").is_file()
    assert feedback.timeout_seconds == 6 and feedback.memory_mb == 512
    assert [path.name for path in feedback.layer_dirs] == ["shared"]


def test_public_feedback_routes_come_from_the_template(template):
    routes = {(route.method, route.path): route for route in api_routes(template)}
    for method in ("POST", "GET"):
        route = routes[(method, "/v1/feedback")]
        assert route.function_id == "FeedbackFunction" and route.authorizer is None
    # The preflight is API Gateway's own answer (a mock integration), not a function's route.
    assert ("OPTIONS", "/v1/feedback") not in routes
    [preflight] = [route for route in mock_routes(template) if route.path == "/v1/feedback"]
    assert preflight.method == "OPTIONS" and preflight.function_id == "" and preflight.mock is not None


def test_gateway_responses_use_the_templates_error_shape(template):
    not_found = gateway_response(template, "Api", "MISSING_AUTHENTICATION_TOKEN")
    assert not_found.status_code == 404
    assert json.loads(not_found.body)["error"]["code"] == "not_found"
    assert not_found.headers["Access-Control-Allow-Origin"] == "*"
    # Not customised by itself: falls back to the template's DEFAULT_5XX, as in API Gateway.
    assert gateway_response(template, "Api", "AUTHORIZER_FAILURE").status_code == 502


# -- routing -------------------------------------------------------------------------------------


def route(path: str, method: str = "GET") -> ApiRoute:
    return ApiRoute(
        function_id=f"{method} {path}", event_id="E", api_id="Api", path=path, method=method, authorizer=None
    )


def test_most_specific_resource_wins():
    table = RouteTable([route("/{proxy+}", "ANY"), route("/v1/{tenant}/agents"), route("/v1/chat/agents")])

    literal = table.match("GET", "/v1/chat/agents")
    parameter = table.match("GET", "/v1/acme/agents")
    greedy = table.match("DELETE", "/anything/at/all")

    assert literal and literal.route.path == "/v1/chat/agents" and literal.path_parameters == {}
    assert parameter and parameter.path_parameters == {"tenant": "acme"}
    assert greedy and greedy.route.path == "/{proxy+}" and greedy.path_parameters == {"proxy": "anything/at/all"}


def test_exact_method_beats_any_and_a_missing_method_is_no_route():
    table = RouteTable([route("/items", "ANY"), route("/items", "POST"), route("/only-get")])
    assert table.match("POST", "/items").route.method == "POST"
    assert table.match("PATCH", "/items").route.method == "ANY"
    assert table.match("POST", "/only-get") is None
    assert table.match("GET", "/only-get/") is not None


def test_policy_evaluation_deny_wins_and_wildcards_match():
    arn = "arn:aws:execute-api:us-east-1:123456789012:local/dev/GET/v1/items"
    allow_all = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*:*:local/dev/*"}
    deny_get = {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [arn]}
    assert policy_allows({"Statement": [allow_all]}, arn)
    assert not policy_allows({"Statement": [allow_all, deny_get]}, arn)
    assert not policy_allows({"Statement": []}, arn)


# -- the gateway with a Lambda TOKEN authorizer, on a tiny template of its own ------------------------

FAKE_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: test
Globals:
  Function:
    Runtime: python3.12
    Timeout: 2
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        Authorizers:
          ApiKeyAuthorizer:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity:
              Header: Authorization
              ReauthorizeEvery: 0
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: "401"
          ResponseTemplates:
            application/json: '{"error": {"status_code": 401, "code": "unauthorized", "message": "Send a key."}}'
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: authorizer/
      Handler: app.lambda_handler
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.lambda_handler
      Events:
        Protected:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /v1/{tenant}/things
            Method: any
            Auth:
              Authorizer: ApiKeyAuthorizer
        Public:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /public/{proxy+}
            Method: get
        Broken:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /broken
            Method: get
"""

AUTHORIZER_APP = """
def lambda_handler(event, context):
    assert event["type"] == "TOKEN"
    token = event["authorizationToken"]
    if token == "Bearer expired":
        raise Exception("Unauthorized")
    effect = "Allow" if token == "Bearer good" else "Deny"
    resource = "/".join(event["methodArn"].split("/")[:2]) + "/*"
    return {
        "principalId": "key-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"tenant": "acme", "admin": False, "quota": 5},
    }
"""

ECHO_APP = """
import json

def lambda_handler(event, context):
    if event["path"] == "/broken":
        raise RuntimeError("boom")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"event": event, "function_name": context.function_name}),
    }
"""


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[ApiGateway]:
    (tmp_path / "template.yaml").write_text(textwrap.dedent(FAKE_TEMPLATE))
    for folder, source in (("authorizer", AUTHORIZER_APP), ("echo", ECHO_APP)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "app.py").write_text(textwrap.dedent(source))
    template = load_template(tmp_path / "template.yaml")
    local_functions = LocalFunctions(functions(template, tmp_path))
    try:
        yield ApiGateway(template, local_functions)
    finally:
        local_functions.close()


def request(method: str, target: str, body: bytes = b"", **headers: str) -> HttpRequest:
    return HttpRequest(method=method, target=target, headers=list(headers.items()), body=body, source_ip="10.1.2.3")


def test_missing_authorization_header_is_a_401_in_the_templates_shape(gateway):
    response = gateway.handle(request("POST", "/v1/acme/things"))
    assert response.status == 401
    assert response.json() == {"error": {"status_code": 401, "code": "unauthorized", "message": "Send a key."}}


def test_authorizer_raising_unauthorized_is_a_401(gateway):
    assert gateway.handle(request("POST", "/v1/acme/things", Authorization="Bearer expired")).status == 401


def test_authorizer_deny_is_a_403_in_our_error_shape(gateway):
    response = gateway.handle(request("POST", "/v1/acme/things", Authorization="Bearer bad"))
    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_authorizer_allow_passes_its_context_to_the_function(gateway):
    response = gateway.handle(
        request("PUT", "/v1/acme/things?a=1&a=2&b=", b'{"x": 1}', Authorization="Bearer good", Host="localhost")
    )

    assert response.status == 200
    payload = response.json()
    event = payload["event"]
    assert payload["function_name"] == "EchoFunction"
    assert event["requestContext"]["authorizer"] == {
        "tenant": "acme",
        "admin": "false",
        "quota": "5",
        "principalId": "key-1",
        "integrationLatency": 0,
    }
    assert event["resource"] == "/v1/{tenant}/things" and event["path"] == "/v1/acme/things"
    assert event["httpMethod"] == "PUT" and event["pathParameters"] == {"tenant": "acme"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["stage"] == "test" and event["requestContext"]["path"] == "/test/v1/acme/things"
    assert event["requestContext"]["identity"]["sourceIp"] == "10.1.2.3"
    assert event["requestContext"]["resourcePath"] == "/v1/{tenant}/things"
    assert event["headers"]["Authorization"] == "Bearer good"
    assert response.header("Content-Type") == "application/json"
    assert [value for name, value in response.headers if name == "Set-Cookie"] == ["a=1", "b=2"]


def test_public_route_does_not_call_the_authorizer(gateway):
    response = gateway.handle(request("GET", "/public/a/b%20c"))
    assert response.status == 200
    event = response.json()["event"]
    assert event["pathParameters"] == {"proxy": "a/b c"}
    assert "authorizer" not in event["requestContext"]
    assert event["queryStringParameters"] is None and event["body"] is None


def test_handler_that_raises_is_a_502_and_unknown_route_a_404(gateway):
    broken = gateway.handle(request("GET", "/broken"))
    assert broken.status == 502 and broken.json()["error"]["code"] == "gateway_error"
    missing = gateway.handle(request("GET", "/nowhere"))
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"


def test_binary_body_is_passed_base64_encoded(gateway):
    response = gateway.handle(request("POST", "/v1/acme/things", b"\xff\xfe", Authorization="Bearer good"))
    event = response.json()["event"]
    assert event["isBase64Encoded"] is True and event["body"] == "//4="
