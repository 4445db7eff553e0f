"""The one command-line convention of every ``python -m ...`` tool of ``ltr`` and ``pytracking``.

* the usage line names the command as it is run: ``python -m <module>`` (argparse ``prog``);
* the description is the first line of the module's docstring;
* options are spelled with underscores (``--batch_size``); a former spelling (``--batch-size``)
  stays accepted as a hidden alias (:func:`add_alias`), so old scripts keep working;
* trackers are named by the positional pair ``tracker_name tracker_param``; ``--set key=value ...``
  (:func:`add_set_argument`) sets parameter-file keys on top of the file's values;
* ``--threads`` means worker processes wherever sequences are tracked, ``--torch_threads`` torch's
  intra-op threads;
* every option has a help text (``tests/test_cli_convention.py`` walks every parser).
"""
from __future__ import annotations

import argparse


def cli_parser(module: str, doc: str | None = None, **kwargs) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with ``prog='python -m <module>'`` and the first line of ``doc`` as its
    description (``kwargs`` go to ``ArgumentParser``, e.g. ``epilog``)."""
    if doc and "description" not in kwargs:
        kwargs["description"] = doc.strip().splitlines()[0]
    return argparse.ArgumentParser(prog=f"python -m {module}", **kwargs)


def add_alias(parser: argparse.ArgumentParser, alias: str, option: str) -> None:
    """Accept ``alias`` (e.g. ``--batch-size``) as a hidden synonym of the existing ``option``
    (``--batch_size``): the same action, not listed in ``--help``.

    argparse looks option strings up in the parser's ``_option_string_actions`` table; the alias is
    entered there only, so that ``--help`` keeps showing the one spelling of the convention.
    """
    actions = parser._option_string_actions  # noqa: SLF001 - argparse's lookup table, see the docstring
    if option not in actions:
        raise ValueError(f"add_alias: {parser.prog} has no option {option!r}")
    if alias in actions:
        raise ValueError(f"add_alias: {parser.prog} already has an option {alias!r}")
    actions[alias] = actions[option]


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE [KEY=VALUE ...]`` (repeatable) into ``args.overrides``, a list of the raw pairs
    (``pytracking.utils.params.parse_overrides`` reads them)."""
    parser.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="set parameter-file keys on top of the parameter file's values (Python literals, e.g. "
                             "--set lost_search_delay=0 box_refinement_iter=5); results go to "
                             "<param>-<digest of the overrides>, beside an overrides.json naming them")


def positive_int(text: str) -> int:
    """argparse ``type``: an integer >= 1 (the error names the value)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def add_torch_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--torch_threads T`` into ``args.torch_threads`` (None unless given): torch's intra-op threads per tracking
    process, for :func:`pytracking.evaluation.running.run_dataset`."""
    parser.add_argument("--torch_threads", type=positive_int, default=None, metavar="T",
                        help="torch threads per tracking process (default: 1 per worker process; in-process "
                             "(--threads 0/1) torch's own count)")


def plain_dataset_warnings() -> None:
    """Show :class:`ltr.dataset.annotation_io.DatasetWarning` s as one line, ``[dataset] <message>`` on stderr (the
    message names the file and line), instead of Python's format with the warning's source line; other warnings as
    before. For a CLI's ``main``: it replaces ``warnings.showwarning`` for the process."""
    import sys
    import warnings

    from ltr.dataset.annotation_io import DatasetWarning

    previous = warnings.showwarning
    if getattr(previous, "plain_dataset_warnings", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):  # warnings.showwarning's signature
        if issubclass(category, DatasetWarning):
            print(f"[dataset] {message}", file=file or sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    show.plain_dataset_warnings = True
    warnings.showwarning = show
