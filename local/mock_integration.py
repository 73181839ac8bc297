"""API Gateway's mock integrations, as the local gateway answers them: no function runs.

A mock method is declared in an Api's DefinitionBody (`x-amazon-apigateway-integration: {type: mock}`). Its
answer is the integration response's status code, the static headers of its `responseParameters`
(`method.response.header.<Name>: "'value'"`), and whatever its Velocity mapping template sets with
`$context.responseOverride` (headers, status). The template is rendered by airspeed, a Python implementation
of Velocity; airspeed does not accept hyphens in identifiers where API Gateway's Velocity does, so header
names are spelled with a placeholder while rendering and restored afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import airspeed

_OVERRIDDEN_HEADER = re.compile(r"(\$context\.responseOverride\.header\.)([A-Za-z0-9-]+)")
_HYPHEN = "__"
_STATIC_HEADER = "method.response.header."


@dataclass(frozen=True)
class MockIntegration:
    status_code: int
    headers: Mapping[str, str]  # static values, quotes removed
    response_template: str | None  # the application/json mapping template (Velocity), if any

    @classmethod
    def from_definition(cls, operation: Mapping[str, Any]) -> MockIntegration:
        """From an OpenAPI operation whose integration is a mock (intrinsics already resolved)."""
        integration = operation["x-amazon-apigateway-integration"]
        response = (integration.get("responses") or {}).get("default") or {}
        headers = {
            name.removeprefix(_STATIC_HEADER): str(value).strip("'")
            for name, value in (response.get("responseParameters") or {}).items()
            if name.startswith(_STATIC_HEADER)
        }
        template = (response.get("responseTemplates") or {}).get("application/json")
        return cls(int(response.get("statusCode", 200)), headers, template)

    def answer(self, request_headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of the answer to a request with these headers (names as sent)."""
        status, headers, body = self.status_code, dict(self.headers), b""
        if self.response_template:
            context: dict[str, Any] = {"responseOverride": {"header": {}, "status": None}}
            source = _OVERRIDDEN_HEADER.sub(
                lambda found: found.group(1) + found.group(2).replace("-", _HYPHEN), self.response_template
            )
            rendered = airspeed.Template(source).merge({"input": _Input(request_headers), "context": context})
            override = context["responseOverride"]
            headers.update({name.replace(_HYPHEN, "-"): str(value) for name, value in override["header"].items()})
            status = int(override["status"] or status)
            body = rendered.strip().encode()
        return status, headers, body


class _Input:
    """`$input` of a mapping template, as far as a mock's answer can use it: the request's parameters."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = dict(headers)

    def params(self, name: str | None = None) -> Any:
        parameters = {"header": self._headers, "path": {}, "querystring": {}}
        return parameters if name is None else self._headers.get(name)
