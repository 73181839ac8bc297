"""`feedbackctl versions` and `feedbackctl deploy`: save an agent's improved instructions, list versions, deploy one."""

from __future__ import annotations

import argparse
import json
from typing import Any

from feedbackctl.errors import read_text_file
from feedbackctl.http_client import FeedbackApiClient, connection_options, path
from feedbackctl.terminal import visible


def _save(args: argparse.Namespace) -> int:
    properties: dict[str, Any] = {"model": args.model}
    if args.instructions_file:
        properties["instructions"] = read_text_file(args.instructions_file, "--instructions-file")
    elif args.instructions:
        properties["instructions"] = args.instructions
    if args.temperature is not None:
        properties["temperature"] = args.temperature
    saved = FeedbackApiClient.from_args(args).post(
        path("v1", args.tenant, "agents", args.agent, "versions"), properties
    )
    print(visible(f"Saved version {saved['number']} of {args.agent} (id {saved['id']})."))
    return 0


def _list(args: argparse.Namespace) -> int:
    found = FeedbackApiClient.from_args(args).get(path("v1", args.tenant, "agents", args.agent, "versions"))
    deployed: dict[int, list[str]] = {}
    for environment, number in found["environments"].items():
        deployed.setdefault(number, []).append(environment)
    if not found["versions"]:
        print(visible(f"No saved versions of {args.agent} yet."))
        return 0
    print(f"{'#':>3}  {'MODEL':<18} {'TEMP':>5}  {'DEPLOYED TO':<22} INSTRUCTIONS")
    for version in found["versions"]:
        props = version["properties"]
        # JSON string escapes keep the instructions on one line (and ASCII, so nothing a terminal obeys).
        instructions = json.dumps(props.get("instructions") or "")[1:-1][:60]
        temperature = "" if props.get("temperature") is None else f"{props['temperature']:.2f}"
        environments = visible(",".join(sorted(deployed.get(version["number"], []))))
        model = visible(props["model"])[:18]
        print(f"{visible(version['number']):>3}  {model:<18} {temperature:>5}  {environments:<22} {instructions}")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    url = path("v1", args.tenant, "agents", args.agent, "environments", args.environment)
    bound = FeedbackApiClient.from_args(args).put(url, {"version": args.version})
    print(visible(f"{args.agent}: {bound['environment']} now runs version {bound['version']}."))
    return 0


def register(subparsers: Any) -> None:
    connection = connection_options()
    scope = argparse.ArgumentParser(add_help=False)
    scope.add_argument("--agent", required=True, help="the agent id")
    scope.add_argument("--tenant", default="_", help="tenant (default: the API key's own)")

    versions = subparsers.add_parser(
        "versions",
        help="save and list an agent's versions",
        description="Save an agent's properties (model, instructions, temperature) as numbered versions; list them.",
    )
    actions = versions.add_subparsers(dest="versions_action", required=True, metavar="ACTION")
    save = actions.add_parser("save", parents=[connection, scope], help="save a version's properties")
    save.add_argument("--model", required=True, help="model id, e.g. offline or gpt-4o-mini")
    given = save.add_mutually_exclusive_group()
    given.add_argument("--instructions", help="the instructions text")
    given.add_argument("--instructions-file", help="read the instructions from this file")
    save.add_argument("--temperature", type=float, help="sampling temperature, 0 to 2")
    save.set_defaults(handler=_save)
    listing = actions.add_parser("list", parents=[connection, scope], help="list saved versions and deployments")
    listing.set_defaults(handler=_list)

    deploy = subparsers.add_parser(
        "deploy", parents=[connection, scope], help="bind an environment (dev, staging, production) to a version"
    )
    deploy.add_argument("environment", choices=["dev", "staging", "production"])
    deploy.add_argument("version", type=int, help="saved version number")
    deploy.set_defaults(handler=_deploy)
