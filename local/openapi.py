"""GET /openapi.json locally: the OpenAPI documents of the functions' resolvers, merged.

A function's `app` documents its routes with `get_openapi_json_schema`: the Powertools resolvers do, and so
does the public feedback function's, which answers without a framework and builds a Powertools resolver
over the same routes (agentfeedback.feedback.openapi) only when asked for its document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import ModuleType
from typing import Any


def merged_openapi(modules: Iterable[ModuleType], title: str, server_url: str) -> dict[str, Any]:
    # The functions' error shape, declared on every operation (imported here: the stack's copy of the layer).
    from agentfeedback.core.http_api import with_error_responses

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "local"},
        "servers": [{"url": server_url}],
        "paths": {},
        "components": {"schemas": {}},
    }
    for module in modules:
        resolver: Any = getattr(module, "app", None)
        if not hasattr(resolver, "get_openapi_json_schema"):
            continue
        schema = with_error_responses(json.loads(resolver.get_openapi_json_schema(title=title)))
        for path, operations in schema.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        document["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    return document
