"""`.local/stack.json`: how to reach the running local stack (endpoints, keys, tables), for other tools."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from local.template import PROJECT_ROOT

LOCAL_DIR = PROJECT_ROOT / ".local"
STATE_FILE = LOCAL_DIR / "stack.json"


class StackNotRunning(RuntimeError):
    pass


def write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def remove_state(path: Path) -> None:
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(path: Path = STATE_FILE) -> dict[str, Any]:
    try:
        state: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackNotRunning(f"the local stack is not running (no {path}): start it with `make local`") from None
    except (OSError, ValueError) as exc:
        # Written atomically by a running stack, so this is damage or another file: say so, not a traceback.
        raise StackNotRunning(
            f"{path} is not a local stack's state ({exc}): delete it and start the stack with `make local`"
        ) from None
    pid = state.get("pid") if isinstance(state, dict) else None
    if not isinstance(pid, int) or pid <= 0:  # os.kill(0, 0) would test our own process group
        raise StackNotRunning(f"{path} is not a local stack's state: delete it and start the stack with `make local`")
    if not _alive(pid):
        raise StackNotRunning(f"{path} is left from a local stack that has stopped: start it with `make local`")
    return state


def aws_client(state: dict[str, Any], service: str) -> Any:
    """A boto3 client for the running stack's DynamoDB Local or moto KMS (service: "dynamodb" or "kms")."""
    import boto3

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=state[f"{service}_endpoint"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
