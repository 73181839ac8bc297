"""Reaching into the local stack's own copy of the layer (its handlers import theirs while it runs)."""

from __future__ import annotations

import importlib
from types import ModuleType

LAYER_PACKAGE = "agentfeedback"


def layer_module(name: str) -> ModuleType:
    """e.g. layer_module("agentfeedback.composition"): the module the stack's handlers use right now."""
    return importlib.import_module(name)


def cold_start_layer() -> None:
    """Forget every client, store and setting the stack's layer has built, as a new Lambda container would.

    A fault test leaves botocore's retry quota drained (standard mode stops retrying for a while after a
    burst of failures, by design); later tests should not inherit that.
    """
    layer_module(f"{LAYER_PACKAGE}.composition").reset()
