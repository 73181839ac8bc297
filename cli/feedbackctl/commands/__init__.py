"""feedbackctl's commands, one module per group of them; main.py adds every module's COMMANDS to the root.

To add a command: write it in its own module here (a click command or group, using the shared options in
feedbackctl/options.py and the drawing in feedbackctl/output.py), end the module with `COMMANDS = [...]`,
and add the module to MODULES below. `feedbackctl --help` lists the commands in this order.
"""

from __future__ import annotations

from types import ModuleType

from feedbackctl.commands import (
    agents,
    compare,
    completion,
    erase,
    export,
    history,
    improve,
    keys,
    mcp,
    review,
    versions,
)

MODULES: tuple[ModuleType, ...] = (
    review,
    export,
    history,
    erase,
    agents,
    versions,
    improve,
    compare,
    keys,
    mcp,
    completion,
)
