"""Finding the running local stack (`make local`), on whatever PORT it was started.

The stack writes its state, base URL included, to .local/stack.json while it runs (local/stack_state.py)
and removes it when it stops. The CLI looks for that file in the current folder and each folder above it
(a checkout's root, from anywhere inside it), then in the checkout feedbackctl itself runs from.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from feedbackctl.errors import UserError

STATE_FILE_NAME = Path(".local") / "stack.json"


def state_files(start: Path | None = None) -> list[Path]:
    """Where a running stack's state may be, in the order looked at (see the module docstring)."""
    from local.stack_state import STATE_FILE

    folder = (start or Path.cwd()).resolve()
    return list(dict.fromkeys([*(parent / STATE_FILE_NAME for parent in (folder, *folder.parents)), STATE_FILE]))


def find_running_stack(candidates: Iterable[Path] | None = None) -> tuple[dict[str, Any], Path]:
    """The state of the first running stack among `candidates` (default: state_files()) and its file.

    Raises UserError saying how to start a stack when none runs; a state file that is left from a stack
    that stopped, or that cannot be read, is passed over (and named in the error if nothing else is found).
    """
    from local.stack_state import StackNotRunning, read_state

    problems: list[str] = []
    for path in state_files() if candidates is None else candidates:
        try:
            return read_state(path), path
        except StackNotRunning as exc:
            if path.exists():
                problems.append(str(exc))
    if problems:
        raise UserError(problems[0])
    raise UserError("the local stack is not running: start it with `make local`")


def running_stack_url() -> tuple[str, str] | None:
    """(base URL, "the local stack's PATH") of the running local stack, or None when none runs."""
    try:
        state, path = find_running_stack()
    except UserError:
        return None
    url = state.get("base_url")
    return (url, f"the local stack's {path}") if isinstance(url, str) and url else None
