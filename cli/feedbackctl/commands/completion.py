"""`feedbackctl completion SHELL`: the shell-completion script of feedbackctl, from click's own completion."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from feedbackctl.options import Command

COMPLETE_VAR = "_FEEDBACKCTL_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


@click.command("completion", cls=Command, short_help="print the shell completion script (bash, zsh, fish)")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the completion script for SHELL: commands, options, choices and file names complete on Tab.

    Load it in your shell's start-up file (bash needs 4.4 or later):

    \b
    Examples:
      $ eval "$(feedbackctl completion bash)"     # in ~/.bashrc
      $ eval "$(feedbackctl completion zsh)"      # in ~/.zshrc
      $ feedbackctl completion fish > ~/.config/fish/completions/feedbackctl.fish
    """
    completion = get_completion_class(shell)
    assert completion is not None  # click.Choice has already checked the name
    root = click.get_current_context().find_root().command
    click.echo(completion(root, {}, "feedbackctl", COMPLETE_VAR).source())


COMMANDS = [completion_command]
