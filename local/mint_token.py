"""Mint a feedback token with the running local stack's KMS key: `python -m local.mint_token` (make token)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import uuid
from pathlib import Path

from local.stack_state import STATE_FILE, StackNotRunning, aws_client, read_state
from local.template import functions, load_template


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local.mint_token", description=__doc__)
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--agent", default="demo-agent", help="agent id")
    parser.add_argument("--run", default=None, help="run id (default: a new one)")
    parser.add_argument("--version", default="1", help="agent version id")
    parser.add_argument("--state", type=Path, default=STATE_FILE, help=f"the stack's state file (default {STATE_FILE})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        state = read_state(args.state)
    except StackNotRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # The layer's code, as the functions see it (the venv has its libraries, not the layer folder).
    layer_paths = {str(path) for spec in functions(load_template()).values() for path in spec.layer_dirs}
    sys.path[:0] = sorted(layer_paths - set(sys.path))
    from agentfeedback.core.settings import Settings
    from agentfeedback.tokens import TokenClaims
    from agentfeedback.tokens.signer import TokenSigner

    settings = Settings.from_env(state["environment"])
    kms = aws_client(state, "kms")
    claims = TokenClaims(
        tenant=args.tenant,
        agent_id=args.agent,
        run_id=args.run or f"run-{uuid.uuid4().hex[:12]}",
        version_id=args.version,
    )
    token = TokenSigner(kms, settings.token_key_id, settings.token_lifetime_days, settings.stack_name).mint(claims)
    print(token)
    body = json.dumps({"feedback_token": token, "outcome": "positive", "comment": "Helpful", "user_id": "demo-user"})
    print(
        f"\nRun {claims.run_id} of {claims.tenant}/{claims.agent_id}. Send feedback with:\n"
        f"  curl -s -X POST {state['base_url']}/v1/feedback -H 'Content-Type: application/json' -d {shlex.quote(body)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
