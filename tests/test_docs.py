"""Every command has help text and is documented in the README; the README's commands are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.main import get_command

from classify.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_commands_exist() -> None:
    assert {"train", "predict", "evaluate", "topics"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help_and_docs(name: str) -> None:
    command = get_command(app).commands[name]  # type: ignore[attr-defined]
    assert command.help, f"{name} has no help text"
    assert f"classify {name}" in README, f"README does not show 'classify {name}'"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_documented(name: str) -> None:
    command = get_command(app).commands[name]  # type: ignore[attr-defined]
    for param in command.params:
        if isinstance(param, typer.core.TyperOption) and param.name != "help":  # type: ignore[attr-defined]
            longest = max(param.opts, key=len)
            assert param.help, f"{name} {longest} has no help"
            assert longest in README, f"README does not mention {name} {longest}"


def test_readme_has_the_two_setup_commands() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    test_command = ci.strip().splitlines()[-1]
    assert test_command in README
    assert re.search(r"pip install \. && .*classify predict examples/ticker\.txt", README)
