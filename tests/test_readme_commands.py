"""Every ``python -m <module> ... --option`` the README (and docs/) shows names an option that module's parser has
(or a hidden former spelling of one): the documentation cannot drift from the command lines unnoticed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.test_cli_convention import CLI_MODULES, parsers_of

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_COMMAND = re.compile(r"python -m ([A-Za-z_][\w.]*)((?:[^`\n]|\\\n)*)")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")


def documented_commands() -> list[tuple[str, int, str, str]]:
    """``(document, line, module, option)`` for every option of every ``python -m`` command in the documents (a
    command in a code block goes on over ``\\`` line ends; an inline one ends at its closing backtick)."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text()
        for match in _COMMAND.finditer(text):
            module = match.group(1).rstrip(".")
            module = "pytracking.analysis.__main__" if module == "pytracking.analysis" else module
            if module not in CLI_MODULES:
                continue
            line = text.count("\n", 0, match.start()) + 1
            for option in _OPTION.findall(match.group(2)):
                found.append((path.name, line, module, option))
    return found


def test_the_documents_show_commands():
    commands = documented_commands()
    assert len(commands) > 100 and {m for _, _, m, _ in commands} >= {"pytracking.run_tracker", "pytracking.run_demo"}


@pytest.mark.parametrize("module", sorted({m for _, _, m, _ in documented_commands()}))
def test_every_documented_option_exists(module):
    known = set()
    for parser in parsers_of(module):
        known.update(parser._option_string_actions)   # noqa: SLF001 - hidden aliases included (ltr/admin/cli.py)
    unknown = sorted({f"{doc}:{line}: {option}" for doc, line, m, option in documented_commands()
                      if m == module and option not in known})
    assert not unknown, f"{module} has no such option: {unknown}"
