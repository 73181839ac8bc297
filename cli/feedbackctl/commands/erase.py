"""`feedbackctl erase-user`: permanently delete every feedback entry of one end user in the tenant."""

from __future__ import annotations

import click

from feedbackctl import output
from feedbackctl.commands.review import ENVIRONMENT_HELP
from feedbackctl.http_client import path
from feedbackctl.options import USER_ID, Command, api_url_option, connect


class NothingErased(click.exceptions.Exit):
    """The user answered no: exit status 1, nothing changed."""


@click.command(
    "erase-user", cls=Command, epilog=ENVIRONMENT_HELP, short_help="erase every feedback entry of one end user"
)
@click.argument("user_id", metavar="USER_ID", type=USER_ID)
@click.option("--tenant", default="_", show_default=True, help="the tenant; _ is the API key's own tenant")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation (scripts must say it)")
@api_url_option
def erase_user_command(user_id: str, tenant: str, yes: bool, api_url: str | None) -> None:
    """Permanently delete every feedback entry of one end user in the tenant (all agents).

    USER_ID is the end user's id as your front end sent it (any Unicode form; surrounding spaces are
    ignored). On a terminal you are asked to confirm; elsewhere --yes is required.

    \b
    Examples:
      $ feedbackctl erase-user ana@example.com
      $ feedbackctl erase-user ana@example.com --yes
    """
    where = "your tenant" if tenant == "_" else f"tenant {tenant}"
    client = connect(api_url)
    question = f"Permanently delete every feedback entry of end user {user_id!r} in {where}?"
    refusal = f"this permanently deletes every feedback entry of end user {user_id!r} in {where}"
    if not output.confirm(question, yes, refusal):
        output.say("Nothing erased.", stderr=True)
        raise NothingErased(1)
    # The id travels in the body: a path cannot carry every id (`.` and `..` segments are dropped on the way).
    result = client.post(path("v1", tenant, "feedback", "erasures"), {"user_id": user_id})
    erased, runs = result["erased"], result.get("runs_erased", 0)
    entries = "entry" if erased == 1 else "entries"
    # Entries go with their histories; runs made for the user keep their ids and costs, not what they said.
    run_text = f" and the input and output of {runs} run{'' if runs == 1 else 's'}" if runs else ""
    output.say(f"Erased {erased} feedback {entries}{run_text} of end user {result['user_id']!r} in {where}.")


COMMANDS = [erase_user_command]
