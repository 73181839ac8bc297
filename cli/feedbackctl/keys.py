"""`feedbackctl keys`: create, list and revoke API keys, straight in the API keys table.

Keys are the way into the API, so managing them cannot itself go through the API: this talks to
DynamoDB with your AWS credentials (or to the local stack with --local).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import boto3

from agentfeedback.keys.store import ApiKeyStore


def _store(args: argparse.Namespace) -> ApiKeyStore:
    if args.local:
        from local.stack_state import StackNotRunning, aws_client, read_state

        try:
            state = read_state()
        except StackNotRunning as exc:
            raise SystemExit(f"error: {exc}") from None
        return ApiKeyStore(aws_client(state, "dynamodb"), state["table_names"]["ApiKeysTable"])
    if not args.table:
        raise SystemExit("error: name the API keys table with --table or API_KEYS_TABLE (see the stack's outputs)")
    return ApiKeyStore(boto3.client("dynamodb"), args.table)


def _create(args: argparse.Namespace) -> int:
    try:
        key, record = _store(args).create(args.tenant, args.name)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(key)
    print(
        f"Created key {record.key_id}... for tenant {record.tenant}. It is shown only now: store it safely.",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    records = _store(args).list(args.tenant)
    if not records:
        print(f"No API keys for tenant {args.tenant}.")
        return 0
    print(f"{'KEY ID':<14} {'NAME':<20} {'CREATED':<28} STATUS")
    for record in records:
        status = "active" if record.active else f"revoked {record.revoked_at}"
        print(f"{record.key_id:<14} {record.name[:20]:<20} {record.created_at:<28} {status}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    count = _store(args).revoke(args.tenant, args.key_id)
    if not count:
        print(f"error: no active key {args.key_id} in tenant {args.tenant}", file=sys.stderr)
        return 1
    print(f"Revoked {count} key(s). Cached authorizations expire within 5 minutes.")
    return 0


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="create, list and revoke API keys", description=__doc__)
    keys.add_argument("--local", action="store_true", help="use the running local stack (make local)")
    keys.add_argument(
        "--table", default=os.environ.get("API_KEYS_TABLE"), help="API keys table (default: $API_KEYS_TABLE)"
    )
    actions = keys.add_subparsers(dest="keys_action", required=True)

    create = actions.add_parser("create", help="create a key; prints it once")
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument("--name", default="", help="a label to recognise the key by")
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="list a tenant's keys (ids only, never the keys)")
    listing.add_argument("--tenant", required=True)
    listing.set_defaults(handler=_list)

    revoke = actions.add_parser("revoke", help="revoke a key by its id (the first 12 characters)")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke)
