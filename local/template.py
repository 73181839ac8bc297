"""Reads template.yaml: CloudFormation tags, tables, functions, API routes, authorizers, gateway responses.

The local stack and the tests build everything from here, so they cannot drift from the infrastructure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local.mock_integration import MockIntegration

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
IMPLICIT_API_ID = "ServerlessRestApi"


class TemplateError(Exception):
    """The template uses something the local stack cannot emulate; the message says what and where."""


class _CloudFormationLoader(yaml.SafeLoader):
    pass


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
    return {name: value}


# Every short-form tag (!Ref, !GetAtt, !Sub, !If, ...) becomes its long JSON form ({"Fn::Sub": ...}).
_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path | str | None = None) -> dict[str, Any]:
    template_path = Path(path) if path else TEMPLATE_PATH
    with template_path.open(encoding="utf-8") as stream:
        template: dict[str, Any] = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    return template


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == resource_type
    }


class _NoValue:
    """AWS::NoValue: the enclosing list item or mapping key disappears."""


NO_VALUE = _NoValue()
_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Resolver:
    """Evaluates intrinsic functions with local values for resources, parameters and pseudo parameters."""

    template: Mapping[str, Any]
    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = "agent-feedback-local"

    def parameter(self, name: str) -> Any:
        spec = (self.template.get("Parameters") or {})[name]
        value = self.parameter_overrides.get(name, spec.get("Default"))
        if value is None:
            raise TemplateError(f"parameter {name} has no Default and no local value")
        if spec.get("Type") == "CommaDelimitedList" or str(spec.get("Type", "")).startswith("List<"):
            return [part.strip() for part in str(value).split(",") if part.strip()]
        return str(value)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in (self.template.get("Parameters") or {}):
            return self.parameter(name)
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"!Ref {name} has no local value (the local stack emulates tables and KMS keys)")

    def attribute(self, logical_id: str, attribute: str) -> Any:
        key = f"{logical_id}.{attribute}"
        if key not in self.attributes:
            raise TemplateError(f"!GetAtt {key} has no local value (the local stack emulates tables and KMS keys)")
        return self.attributes[key]

    def condition(self, name: str) -> bool:
        return bool(self.resolve((self.template.get("Conditions") or {})[name]))

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return str(self.attribute(*name.split(".", 1)))
            return str(self.ref(name))

        return _SUB_PLACEHOLDER.sub(replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self.ref(argument)
            if name == "Condition":
                return self.condition(argument)
            if name.startswith("Fn::"):
                return self._function(name[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument
            return self.attribute(logical_id, self.resolve(attribute))
        if name == "Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, variables)
        if name == "Join":
            delimiter, items = argument
            return delimiter.join(str(item) for item in self.resolve(items))
        if name == "Split":
            delimiter, text = argument
            return str(self.resolve(text)).split(delimiter)
        if name == "Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Equals":
            left, right = self.resolve(argument)
            return left == right
        if name == "Not":
            return not self.resolve(argument[0])
        if name == "And":
            return all(self.resolve(argument))
        if name == "Or":
            return any(self.resolve(argument))
        if name == "FindInMap":
            mapping, key, sub_key = self.resolve(argument)
            return self.template["Mappings"][mapping][key][sub_key]
        raise TemplateError(f"Fn::{name} is not supported by the local stack")


def _merged(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """SAM Globals semantics: mappings merge, lists add up, anything else is replaced by the resource's value."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        elif isinstance(value, list) and isinstance(merged.get(key), list):
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def table_definitions(template: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each AWS::DynamoDB::Table's create_table arguments (all but TableName), keyed by logical id."""
    template = template if template is not None else load_template()
    resolver = Resolver(template)
    definitions = {}
    for logical_id, properties in resources_of_type(template, "AWS::DynamoDB::Table").items():
        properties = resolver.resolve(properties)
        definition: dict[str, Any] = {
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if properties.get(index_kind):
                definition[index_kind] = [
                    {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                    for index in properties[index_kind]
                ]
        if properties.get("StreamSpecification"):
            view_type = properties["StreamSpecification"]["StreamViewType"]
            definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
        definitions[logical_id] = definition
    return definitions


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, Any]


def functions(template: Mapping[str, Any], root: Path = PROJECT_ROOT) -> dict[str, FunctionSpec]:
    """Each AWS::Serverless::Function with SAM Globals applied; paths are relative to the template's folder."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    layers = resources_of_type(template, "AWS::Serverless::LayerVersion")
    specs = {}
    for logical_id, own_properties in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = _merged(globals_, own_properties)
        layer_ids = [layer["Ref"] for layer in properties.get("Layers", []) if isinstance(layer, dict)]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=root / str(properties.get("CodeUri", ".")),
            handler=properties["Handler"],
            runtime=str(properties.get("Runtime", "")),
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            layer_dirs=tuple(
                root / str(layers[layer_id]["ContentUri"]) for layer_id in layer_ids if layer_id in layers
            ),
            environment=(properties.get("Environment") or {}).get("Variables") or {},
        )
    return specs


def _as_env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def function_environment(template: Mapping[str, Any], function_id: str, resolver: Resolver) -> dict[str, str]:
    """The function's environment (Globals + its own), every intrinsic resolved with local values."""
    environment = {}
    for name, expression in functions(template)[function_id].environment.items():
        try:
            value = resolver.resolve(expression)
        except TemplateError as exc:
            raise TemplateError(f"{function_id}: environment variable {name}: {exc}") from None
        if value is not NO_VALUE:
            environment[name] = _as_env_value(value)
    return environment


def references_resources(template: Mapping[str, Any], expression: Any) -> bool:
    """Whether a value depends on a resource (a table, a key) rather than only on parameters and literals."""
    resources = template.get("Resources") or {}
    if isinstance(expression, list):
        return any(references_resources(template, item) for item in expression)
    if not isinstance(expression, dict):
        return False
    if "Fn::GetAtt" in expression:
        return True
    if "Ref" in expression:
        return expression["Ref"] in resources
    if "Fn::Sub" in expression:
        argument = expression["Fn::Sub"]
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        names = {name.split(".", 1)[0] for name in _SUB_PLACEHOLDER.findall(text)}
        return bool(names & set(resources)) or references_resources(template, list(variables.values()))
    return references_resources(template, list(expression.values()))


@dataclass(frozen=True)
class ApiRoute:
    function_id: str
    event_id: str
    api_id: str
    path: str
    method: str  # upper case; ANY matches every method
    authorizer: str | None
    mock: MockIntegration | None = None  # answered by API Gateway itself (function_id is then "")


def api_properties(template: Mapping[str, Any], api_id: str) -> dict[str, Any]:
    resource = (template.get("Resources") or {}).get(api_id)
    if resource and resource.get("Type") == "AWS::Serverless::Api":
        return _merged((template.get("Globals") or {}).get("Api") or {}, resource.get("Properties") or {})
    return dict((template.get("Globals") or {}).get("Api") or {})


def api_routes(template: Mapping[str, Any]) -> list[ApiRoute]:
    routes = []
    for function_id, properties in resources_of_type(template, "AWS::Serverless::Function").items():
        for event_id, event in (properties.get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            event_properties = event.get("Properties") or {}
            rest_api = event_properties.get("RestApiId")
            api_id = rest_api["Ref"] if isinstance(rest_api, dict) else rest_api or IMPLICIT_API_ID
            default_authorizer = (api_properties(template, api_id).get("Auth") or {}).get("DefaultAuthorizer")
            authorizer = (event_properties.get("Auth") or {}).get("Authorizer", default_authorizer)
            routes.append(
                ApiRoute(
                    function_id=function_id,
                    event_id=event_id,
                    api_id=api_id,
                    path=event_properties["Path"],
                    method=str(event_properties["Method"]).upper(),
                    authorizer=None if authorizer in (None, "NONE") else authorizer,
                )
            )
    return routes


def mock_routes(template: Mapping[str, Any], resolver: Resolver | None = None) -> list[ApiRoute]:
    """The methods that Api resources' DefinitionBody answer with a mock integration (no function), with
    their parameters resolved by `resolver` (template defaults when None)."""
    resolver = resolver or Resolver(template)
    routes = []
    for api_id, properties in resources_of_type(template, "AWS::Serverless::Api").items():
        definition = properties.get("DefinitionBody") or {}
        for path, operations in (definition.get("paths") or {}).items():
            for method, operation in operations.items():
                integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
                if not integration or integration.get("type") != "mock":
                    continue
                mock = MockIntegration.from_definition(resolver.resolve(operation))
                routes.append(ApiRoute("", f"{method.upper()} {path} (mock)", api_id, path, method.upper(), None, mock))
    return routes


@dataclass(frozen=True)
class TokenAuthorizer:
    name: str
    function_id: str
    header: str
    validation_expression: str | None
    reauthorize_seconds: int  # how long API Gateway caches a decision per token; 0: never


def authorizers(template: Mapping[str, Any], api_id: str) -> dict[str, TokenAuthorizer]:
    """The API's Lambda TOKEN authorizers; other kinds fail loudly rather than being skipped."""
    specs = {}
    for name, properties in ((api_properties(template, api_id).get("Auth") or {}).get("Authorizers") or {}).items():
        function_arn = properties.get("FunctionArn")
        payload_type = properties.get("FunctionPayloadType", "TOKEN")
        if not (isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn) or payload_type != "TOKEN":
            raise TemplateError(
                f"{api_id} authorizer {name}: the local gateway emulates Lambda TOKEN authorizers only "
                "(FunctionArn: !GetAtt <Function>.Arn)"
            )
        identity = properties.get("Identity") or {}
        specs[name] = TokenAuthorizer(
            name=name,
            function_id=function_arn["Fn::GetAtt"][0],
            header=identity.get("Header", "Authorization"),
            validation_expression=identity.get("ValidationExpression"),
            reauthorize_seconds=int(identity.get("ReauthorizeEvery", 300)),
        )
    return specs


@dataclass(frozen=True)
class GatewayResponse:
    status_code: int
    headers: Mapping[str, str]
    body: str


def _error_body(status_code: int, code: str, message: str) -> str:
    return json.dumps({"error": {"status_code": status_code, "code": code, "message": message}})


# Used when the template does not customise a response type (nor its DEFAULT_4XX / DEFAULT_5XX family).
_BUILT_IN_RESPONSES = {
    "UNAUTHORIZED": (401, "unauthorized", "Missing or invalid credentials."),
    "ACCESS_DENIED": (403, "forbidden", "Access denied."),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found", "No such route."),
    "REQUEST_TOO_LARGE": (413, "payload_too_large", "The request body is too large."),
    "AUTHORIZER_FAILURE": (500, "authorizer_failure", "The authorizer failed."),
    "INTEGRATION_TIMEOUT": (504, "timeout", "The request took too long and was cut off."),
    "DEFAULT_4XX": (400, "bad_request", "The request was refused by the API gateway."),
    "DEFAULT_5XX": (502, "gateway_error", "The API gateway could not complete the request."),
}


def gateway_response(template: Mapping[str, Any], api_id: str, response_type: str) -> GatewayResponse:
    """What API Gateway answers by itself, customised by the API's GatewayResponses like in AWS."""
    built_in_status, code, message = _BUILT_IN_RESPONSES[response_type]
    family = "DEFAULT_4XX" if built_in_status < 500 else "DEFAULT_5XX"
    customised = api_properties(template, api_id).get("GatewayResponses") or {}
    resolver = Resolver(template)
    for candidate in (response_type, family):
        if candidate in customised:
            settings = resolver.resolve(customised[candidate])
            status = int(settings.get("StatusCode", built_in_status))
            headers = {
                name: str(value).strip("'")
                for name, value in ((settings.get("ResponseParameters") or {}).get("Headers") or {}).items()
            }
            body = (settings.get("ResponseTemplates") or {}).get("application/json")
            return GatewayResponse(status, headers, body or _error_body(status, code, message))
    return GatewayResponse(built_in_status, {}, _error_body(built_in_status, code, message))


def api_stage(template: Mapping[str, Any], api_id: str) -> str:
    stage = api_properties(template, api_id).get("StageName", "Prod")
    return str(Resolver(template).resolve(stage))


# The functions that stream when the template declares none (issue 15: run and chat answer server-sent events).
DEFAULT_STREAMING_CODE_DIRS = ("run", "chat")


# API Gateway's value is STREAM; SAM's Api event property spells it RESPONSE_STREAM.
STREAM_MODES = frozenset({"STREAM", "RESPONSE_STREAM"})


def _integration_streams(integration: Any) -> bool:
    return isinstance(integration, Mapping) and str(integration.get("responseTransferMode", "")).upper() in STREAM_MODES


def streaming_functions(template: Mapping[str, Any], root: Path = PROJECT_ROOT) -> set[str]:
    """The functions whose API Gateway integration streams their response (`ResponseTransferMode: STREAM`).

    Read where a template can declare it: on a function's Api event (`ResponseTransferMode: RESPONSE_STREAM`, as SAM
    spells it), or in an Api's
    DefinitionBody (`x-amazon-apigateway-integration.responseTransferMode: STREAM`, whose `uri` names the function).
    A template that declares it nowhere streams the run and chat functions (DEFAULT_STREAMING_CODE_DIRS).
    """
    specs = functions(template, root)
    streaming: set[str] = set()
    declared = False
    for function_id, properties in resources_of_type(template, "AWS::Serverless::Function").items():
        for event in (properties.get("Events") or {}).values():
            mode = (event.get("Properties") or {}).get("ResponseTransferMode")
            if event.get("Type") == "Api" and mode is not None:
                declared = True
                if str(mode).upper() in STREAM_MODES:
                    streaming.add(function_id)
    for properties in resources_of_type(template, "AWS::Serverless::Api").values():
        for operations in ((properties.get("DefinitionBody") or {}).get("paths") or {}).values():
            for operation in operations.values() if isinstance(operations, Mapping) else ():
                operation = operation if isinstance(operation, Mapping) else {}
                integration = operation.get("x-amazon-apigateway-integration")
                if not isinstance(integration, Mapping) or "responseTransferMode" not in integration:
                    continue
                declared = True
                if _integration_streams(integration):
                    uri = json.dumps(integration.get("uri"))
                    streaming.update(function_id for function_id in specs if re.search(rf"\b{function_id}\b", uri))
    if not declared:
        streaming = {name for name, spec in specs.items() if spec.code_dir.name in DEFAULT_STREAMING_CODE_DIRS}
    return streaming
