"""Reaching into the local stack's own copy of the layer (its handlers import theirs while it runs)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

LAYER_PACKAGE = "agentfeedback"


def layer_module(name: str) -> ModuleType:
    """e.g. layer_module("agentfeedback.aws_clients"): the module the stack's handlers use right now."""
    return importlib.import_module(name)


def cold_start_layer() -> None:
    """Forget every cached client, store and setting of the stack's layer, as a new Lambda container would.

    A fault test leaves botocore's retry quota drained (standard mode stops retrying for a while after a
    burst of failures, by design); later tests should not inherit that.
    """
    for name, module in list(sys.modules.items()):
        if name != LAYER_PACKAGE and not name.startswith(f"{LAYER_PACKAGE}."):
            continue
        for value in list(vars(module).values()):
            if getattr(value, "__module__", None) == name and callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
