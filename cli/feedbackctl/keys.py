"""`feedbackctl keys`: create, list and revoke API keys, straight in the API keys table (see DESCRIPTION)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from agentfeedback.keys.store import ApiKeyStore
from feedbackctl.errors import UserError
from feedbackctl.local_stack import find_running_stack
from feedbackctl.terminal import visible

DESCRIPTION = """\
Create, list and revoke API keys, straight in the API keys table.

Keys are the way into the API, so managing them cannot itself go through the API: this talks to
DynamoDB with your AWS credentials (or to the running local stack with --local). --local and --table
may come before or after the action: `feedbackctl keys --local create --tenant local` and
`feedbackctl keys create --local --tenant local` are the same."""


class AwsError(UserError):
    """DynamoDB refused or could not be reached (exit status 1, like the API's own refusals)."""

    exit_status = 1


def _store(args: argparse.Namespace) -> ApiKeyStore:
    if args.local:
        from local.stack_state import aws_client

        state, _ = find_running_stack()
        return ApiKeyStore(aws_client(state, "dynamodb"), state["table_names"]["ApiKeysTable"])
    if not args.table:
        raise UserError("name the API keys table with --table or API_KEYS_TABLE (see the stack's outputs)")
    return ApiKeyStore(boto3.client("dynamodb"), args.table)


def _told(action: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """`action`, with a refused tenant or AWS's answer told in one line rather than a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return action(args)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        except (NoCredentialsError, NoRegionError) as exc:
            raise UserError(f"{exc}: configure AWS (e.g. aws configure), or use the local stack with --local") from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsError(f"DynamoDB refused: {error.get('Code', '?')}: {error.get('Message', exc)}") from None
        except BotoCoreError as exc:
            raise AwsError(f"DynamoDB: {exc}") from None

    return run


def _create(args: argparse.Namespace) -> int:
    key, record = _store(args).create(args.tenant, args.name)
    print(key)
    print(
        visible(f"Created key {record.key_id}... for tenant {record.tenant}. It is shown only now: store it safely."),
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    records = _store(args).list(args.tenant)
    if not records:
        print(visible(f"No API keys for tenant {args.tenant}."))
        return 0
    print(f"{'KEY ID':<14} {'NAME':<20} {'CREATED':<28} STATUS")
    for record in records:
        status = "active" if record.active else f"revoked {record.revoked_at}"
        name = visible(record.name)[:20]
        print(visible(f"{record.key_id:<14} {name:<20} {record.created_at:<28} {status}"))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    count = _store(args).revoke(args.tenant, args.key_id)
    if not count:
        print(visible(f"error: no active key {args.key_id} in tenant {args.tenant}"), file=sys.stderr)
        return 1
    print(f"Revoked {count} key(s). Cached authorizations expire within 5 minutes.")
    return 0


def _where(after_action: bool) -> argparse.ArgumentParser:
    """--local and --table. After the action they default to SUPPRESS, so as not to undo the same option before it."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS if after_action else False,
        help="use the running local stack (make local)",
    )
    where.add_argument(
        "--table",
        default=argparse.SUPPRESS if after_action else os.environ.get("API_KEYS_TABLE"),
        help="API keys table (default: $API_KEYS_TABLE)",
    )
    return where


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser(
        "keys",
        parents=[_where(after_action=False)],
        help="create, list and revoke API keys",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    after = _where(after_action=True)

    create = actions.add_parser("create", parents=[after], help="create a key; prints it once")
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument("--name", default="", help="a label to recognise the key by")
    create.set_defaults(handler=_told(_create))

    listing = actions.add_parser("list", parents=[after], help="list a tenant's keys (ids only, never the keys)")
    listing.add_argument("--tenant", required=True)
    listing.set_defaults(handler=_told(_list))

    revoke = actions.add_parser("revoke", parents=[after], help="revoke a key by its id (the first 12 characters)")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_told(_revoke))
