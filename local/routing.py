"""Matches a request to the template's API routes the way API Gateway (REST) does.

The most specific resource wins (literal segment, then {param}, then {proxy+}); on that resource an
exact method beats ANY, and a method the resource lacks is "no such route", not a fallback elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from local.template import ApiRoute

_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: ApiRoute
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Resource:
    path: str
    pattern: re.Pattern[str]
    parameter_names: tuple[str, ...]
    specificity: tuple[int, ...]


def _compile(resource_path: str) -> _Resource:
    pattern, names, specificity = "", [], []
    for segment in (part for part in resource_path.split("/") if part):
        if segment.startswith("{") and segment.endswith("+}"):
            pattern += "/(.+)"
            names.append(segment[1:-2])
            specificity.append(_GREEDY)
        elif segment.startswith("{") and segment.endswith("}"):
            pattern += "/([^/]+)"
            names.append(segment[1:-1])
            specificity.append(_PARAMETER)
        else:
            pattern += "/" + re.escape(segment)
            specificity.append(_LITERAL)
    return _Resource(resource_path, re.compile(f"^{pattern or '/'}$"), tuple(names), tuple(specificity))


class RouteTable:
    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self._methods: dict[str, dict[str, ApiRoute]] = {}
        for route in routes:
            self._methods.setdefault(route.path, {})[route.method] = route
        self._resources = sorted((_compile(path) for path in self._methods), key=lambda resource: resource.specificity)

    def match(self, method: str, path: str) -> RouteMatch | None:
        if len(path) > 1:
            path = path.rstrip("/")
        for resource in self._resources:
            found = resource.pattern.match(path)
            if found:
                methods = self._methods[resource.path]
                route = methods.get(method.upper()) or methods.get("ANY")
                if route is None:
                    return None
                return RouteMatch(route, dict(zip(resource.parameter_names, found.groups(), strict=True)))
        return None
