"""The manual in docs/ and the README: the CLI reference is generated and current, every command and
option is documented, links and cited result files exist, and the README stays short and keeps the
two setup commands CI runs."""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from typer.main import get_command

from classify.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
CLI_MD = DOCS / "cli.md"
GROUP = get_command(app)
COMMANDS = sorted(GROUP.commands)  # type: ignore[attr-defined]
README_MAX_LINES = 200


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_cli", DOCS / "generate_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _options(name: str) -> list[tuple[str, str | None]]:
    """(longest spelling, help) of each option of a command, --help left out."""
    command = GROUP.commands[name]  # type: ignore[attr-defined]
    return [
        (max(param.opts, key=len), getattr(param, "help", None))
        for param in command.params
        if param.param_type_name == "option" and param.name != "help"
    ]


def _markdown_files() -> list[Path]:
    return [README_PATH, *sorted(DOCS.glob("*.md"))]


def _hand_written() -> str:
    """The README and every docs page but the generated reference."""
    return "\n".join(p.read_text(encoding="utf-8") for p in _markdown_files() if p != CLI_MD)


def _without_code(text: str) -> str:
    """Markdown with fenced blocks and inline code removed (`[/]` in code is not a link)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def test_commands_exist() -> None:
    assert {"train", "predict", "evaluate", "topics", "serve", "label"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name: str) -> None:
    command = GROUP.commands[name]  # type: ignore[attr-defined]
    assert command.help, f"{name} has no help text"
    for option, help_text in _options(name):
        assert help_text, f"{name} {option} has no help"


def test_cli_reference_is_current() -> None:
    expected = _generator().render()
    current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    assert current == expected, (
        "docs/cli.md is stale (the --help texts changed): run `python docs/generate_cli.py` and commit it"
    )


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_option_in_the_reference(name: str) -> None:
    reference = CLI_MD.read_text(encoding="utf-8")
    assert f"## classify {name}\n" in reference, f"docs/cli.md has no section for classify {name}"
    for option, _ in _options(name):
        assert option in reference, f"docs/cli.md does not mention {name} {option}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_in_a_guide(name: str) -> None:
    assert f"classify {name}" in _hand_written(), (
        f"neither the README nor a hand-written page of docs/ shows 'classify {name}'"
    )


def test_readme_is_short() -> None:
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move text to docs/"
    )


def test_readme_has_the_two_setup_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = ci.strip().splitlines()[-1]
    assert test_command in README
    assert re.search(r"pip install \. && .*classify predict examples/ticker\.txt", README)


def test_every_docs_page_is_linked() -> None:
    """The README links the index, and the index links every page."""
    assert "(docs/README.md)" in README, "README.md does not link the manual's index docs/README.md"
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not link {page.name}"


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_exist(path: Path) -> None:
    text = _without_code(path.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        linked = (path.parent / file) if file else path
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to missing files or headings: {broken}"


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for a markdown file's headings (code blocks left out)."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return anchors


RESULT = re.compile(r"bench/results/[A-Za-z0-9_.{},-]*[A-Za-z0-9_}]")


def _expand(path: str) -> list[str]:
    """`bench/results/speed.{md,json}` -> the two paths."""
    match = re.search(r"\{([^}]*)\}", path)
    if not match:
        return [path]
    return [path[: match.start()] + part + path[match.end() :] for part in match.group(1).split(",")]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_results_exist(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    missing = [p for cited in RESULT.findall(text) for p in _expand(cited) if not (ROOT / p).exists()]
    assert not missing, f"{path.relative_to(ROOT)} cites result files that do not exist: {missing}"


def test_python_api_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The python blocks of docs/python-api.md, in order, in a folder with site.csv and site-test.csv."""
    from tests.conftest import TINY

    def write(name: str, rows: list[tuple[str, str]]) -> None:
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([("headline", "topic"), *rows])

    write("site.csv", [(text, topic) for topic, texts in TINY.items() for text in texts])
    write("site-test.csv", [(f"{text} again", topic) for topic, texts in TINY.items() for text in texts[:3]])
    text = (DOCS / "python-api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "docs/python-api.md has no python examples"
    monkeypatch.chdir(tmp_path)
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"docs/python-api.md (example {number})", "exec")
        exec(code, {"__name__": "__docs__"})
