"""One convention for every command-line tool (``ltr/admin/cli.py``): ``python -m <module>`` usage lines,
underscores, the positional ``tracker_name tracker_param``, help text on every option, former
spellings accepted as hidden aliases, ``--device`` on the video tools."""
from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path

import pytest

from ltr.admin.cli import add_alias, cli_parser

REPO = Path(__file__).resolve().parents[1]
#: every module with a command line (``python -m <module>``); test_every_cli_module_is_listed finds new ones
CLI_MODULES = [
    "pytracking.run_tracker", "pytracking.run_experiment", "pytracking.analysis.__main__", "pytracking.run_demo",
    "pytracking.compare_demo", "pytracking.run_video", "pytracking.run_webcam", "pytracking.visdom_server",
    "pytracking.benchmark_tracker", "pytracking.util_scripts.pack_got10k", "pytracking.util_scripts.pack_trackingnet",
    "pytracking.run_vot", "pytracking.util_scripts.export_vot",
    "ltr.run_training", "ltr.benchmark_training", "ltr.estimator_check", "ltr.train_estimators", "pytracking.tune_refinement", "pytracking.tune_parameters",
    "ltr.admin.checkpoint",
    "ltr.admin.local_settings", "ltr.data.feature_cache", "ltr.synthetic.demo_benchmark", "ltr.synthetic.validation_benchmark", "ltr.synthetic.layout_data",
    "ltr.synthetic.photo_bank", "ltr.synthetic.wide_pairs", "ltr.synthetic.wide_sequences", "ebm.examples.toy1d",
]
#: tools that run a tracker: the pair is positional
TRACKER_TOOLS = ["pytracking.run_tracker", "pytracking.run_demo", "pytracking.run_video", "pytracking.run_webcam",
                 "pytracking.benchmark_tracker", "pytracking.util_scripts.pack_got10k",
                 "pytracking.util_scripts.pack_trackingnet", "pytracking.run_vot"]


def parsers_of(module_name: str) -> list[argparse.ArgumentParser]:
    """The module's parser and its sub-command parsers."""
    parser = importlib.import_module(module_name).build_parser()
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.values())
    return found


def test_every_cli_module_is_listed():
    """A module that parses a command line (``ArgumentParser``) must be in CLI_MODULES, so it is checked."""
    listed = set(CLI_MODULES)
    unlisted = []
    for package in ("ebm", "ltr", "pytracking"):
        for path in (REPO / package).rglob("*.py"):
            if "ArgumentParser(" in path.read_text() and path.name != "cli.py":
                module = ".".join(path.relative_to(REPO).with_suffix("").parts)
                if module not in listed:
                    unlisted.append(module)
    assert not unlisted, f"command-line modules not checked by this test: {unlisted}"


@pytest.mark.parametrize("module_name", CLI_MODULES)
def test_every_option_has_help_and_underscores(module_name):
    for parser in parsers_of(module_name):
        if module_name != "pytracking.analysis.__main__":
            expected = "python -m " + module_name
            assert parser.prog.startswith(expected), f"{module_name}: usage names {parser.prog!r}"
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.help == argparse.SUPPRESS:      # a hidden former spelling
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help and action.help.strip(), f"{parser.prog}: {name} has no help text"
            for option in action.option_strings:
                assert not re.match(r"^--\w+-", option), f"{parser.prog}: {option} mixes a dash into the name"


def test_analysis_usage_line():
    assert parsers_of("pytracking.analysis.__main__")[0].prog == "python -m pytracking.analysis"


@pytest.mark.parametrize("module_name", TRACKER_TOOLS)
def test_tracker_tools_take_the_positional_pair(module_name):
    parser = parsers_of(module_name)[0]
    positionals = [a.dest for a in parser._actions if not a.option_strings]
    assert positionals[:2] == ["tracker_name", "tracker_param"], positionals


@pytest.mark.parametrize("module_name", ["pytracking.run_video", "pytracking.run_webcam", "pytracking.run_tracker",
                                         "pytracking.run_demo", "pytracking.benchmark_tracker",
                                         "pytracking.run_vot"])
def test_tools_that_run_a_tracker_take_device(module_name):
    options = {o for a in parsers_of(module_name)[0]._actions for o in a.option_strings}
    assert "--device" in options


def test_threads_means_worker_processes_wherever_sequences_are_tracked():
    for module_name in ("pytracking.run_tracker", "pytracking.run_demo", "pytracking.run_experiment",
                        "pytracking.compare_demo"):
        (action,) = [a for a in parsers_of(module_name)[0]._actions if "--threads" in a.option_strings]
        assert "worker processes" in action.help
    for module_name in ("pytracking.benchmark_tracker", "ltr.data.feature_cache", "ebm.examples.toy1d"):
        options = {o for a in parsers_of(module_name)[0]._actions for o in a.option_strings if a.help != argparse.SUPPRESS}
        assert "--torch_threads" in options and "--threads" not in options


@pytest.mark.parametrize("module_name, argv, dest, value", [
    ("ltr.run_training", ["bbreg", "x", "--batch-size", "4", "--no-progress"], "batch_size", 4),
    ("ltr.run_training", ["bbreg", "x", "--batch_size", "5", "--no_progress"], "batch_size", 5),
    ("ltr.benchmark_training", ["--batch-size", "3"], "batch_size", 3),
    ("pytracking.benchmark_tracker", ["--image-sample-size", "200"], "image_sample_size", 200),
    ("pytracking.benchmark_tracker", ["--threads", "3"], "torch_threads", 3),
    ("ltr.data.feature_cache", ["--threads", "2"], "torch_threads", 2),
    ("ebm.examples.toy1d", ["--threads", "2"], "torch_threads", 2),
])
def test_former_spellings_still_parse(module_name, argv, dest, value):
    args = parsers_of(module_name)[0].parse_args(argv)
    assert getattr(args, dest) == value


def test_hidden_aliases_are_not_in_help(capsys):
    for module_name in ("ltr.run_training", "pytracking.benchmark_tracker", "pytracking.run_demo"):
        parsers_of(module_name)[0].print_help()
    text = capsys.readouterr().out
    for former in ("--batch-size", "--no-progress", "--image-sample-size", "--tracker ", "--param "):
        assert former not in text


def test_add_alias_refuses_unknown_and_taken_names():
    parser = cli_parser("x.y", "Doc line.\n\nmore")
    assert parser.prog == "python -m x.y" and parser.description == "Doc line."
    parser.add_argument("--batch_size", type=int, default=1, help="h")
    with pytest.raises(ValueError, match="no option '--nope'"):
        add_alias(parser, "--b", "--nope")
    with pytest.raises(ValueError, match="already has"):
        add_alias(parser, "--batch_size", "--batch_size")


def test_every_entry_module_is_importable():
    """``python -m`` works on each listed module: it has a ``main`` (or ``cli``) function."""
    for module_name in CLI_MODULES:
        module = importlib.import_module(module_name)
        assert callable(getattr(module, "main", None) or getattr(module, "cli", None)), module_name


def test_dataset_warnings_show_as_one_line_in_a_cli(capsys):
    import warnings

    from ltr.admin.cli import plain_dataset_warnings
    from ltr.dataset.annotation_io import DatasetWarning

    others = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, *rest: others.append((category, str(message)))
        plain_dataset_warnings()
        plain_dataset_warnings()          # idempotent: one line, not two
        warnings.warn("/data/lasot/cat/cat-1/groundtruth.txt: line 3: expected 4 numbers", DatasetWarning)
        warnings.warn("something else", RuntimeWarning)
    err = capsys.readouterr().err
    assert "[dataset] /data/lasot/cat/cat-1/groundtruth.txt: line 3: expected 4 numbers\n" in err
    assert err.count("[dataset]") == 1 and "warnings.warn(" not in err
    assert others == [(RuntimeWarning, "something else")]     # other warnings go where they went before
