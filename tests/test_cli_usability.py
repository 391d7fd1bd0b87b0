"""The command line as newcomers from ChERRANT, M2Scorer and lm-evaluation-harness meet it: every
command and option explained, listings, cleaning on request, small inconsistencies gone."""

from __future__ import annotations

import argparse

from support import REPO, run_cli
from harness.cli import build_parser


def all_parsers(parser: argparse.ArgumentParser, name: str = "harness"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from all_parsers(sub, f"{name} {sub_name}")


def test_every_command_has_a_description_and_every_option_a_help_text():
    missing = []
    for name, parser in all_parsers(build_parser()):
        if not parser.description:
            missing.append(f"{name}: no description")
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction) and not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}: no help")
    assert missing == []


def test_the_top_level_help_names_the_environment(cli_env):
    result = run_cli(["--help"], cli_env)
    assert "CGEC_DATA_DIR" in result.stdout and "CGEC_CACHE_DIR" in result.stdout


def test_preparing_and_validating_take_no_api_options():
    parser = build_parser()
    finetune = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["finetune"]
    actions = next(a for a in finetune._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name in ("prepare", "validate"):
        options = {o for a in actions[name]._actions for o in a.option_strings}
        assert not options & {"--base-url", "--api-key-env", "--records"}, name


def test_list_shows_configs_datasets_and_stored_outputs(cli_env):
    result = run_cli(["list"], cli_env)
    assert result.returncode == 0, result.stderr
    for words in ("configs/llm-stored.yaml", "configs/nacgec-test-stored.yaml", "nacgec-dev", "nacgec-test",
                  "llm-goodgap", "182,882"):
        assert words in result.stdout


def test_clean_makes_score_agree_with_run(cli_env, tmp_path):
    """`run` cleans chat outputs; `score --clean` does the same to a file of them."""
    raw = run_cli(["score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--level", "char", "--json"], cli_env)
    cleaned = run_cli(["score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--level", "char", "--json",
                       "--clean"], cli_env)
    import json

    committed = json.loads((REPO / "results" / "runs" / "llm-stored" / "metrics.json").read_text())["char"]
    assert json.loads(cleaned.stdout)["char"]["f0.5"] == committed["f0.5"] == 0.0482
    assert json.loads(raw.stdout)["char"]["f0.5"] == 0.0452


def test_compare_refuses_a_single_run_and_a_plot_without_a_folder(cli_env):
    one = run_cli(["compare", "results/runs/llm-stored"], cli_env)
    assert one.returncode == 2 and "compare needs two or more run folders" in one.stderr
    plot = run_cli(["compare", "results/runs/llm-stored", "results/runs/local-gemma", "--plot"], cli_env)
    assert plot.returncode == 2 and "--plot needs --out DIR" in plot.stderr and plot.stdout == ""


def test_score_tables_say_their_numbers_are_percentages(cli_env):
    result = run_cli(["score", "--hyp", "llm-goodgap", "--ref", "nacgec-dev", "--level", "char"], cli_env)
    assert "| P %" in result.stdout and "F0.5 %" in result.stdout


def test_a_ctrl_c_inside_an_import_is_an_interruption_not_a_traceback():
    """pybind11 modules (OpenCC's) turn a KeyboardInterrupt during their initialisation into
    ImportError("initialization failed") raised from it: `main` answers "interrupted" (130)."""
    from harness.cli import interrupted_import

    def failing_import():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt

    try:
        failing_import()
    except ImportError as error:
        assert interrupted_import(error)
    assert not interrupted_import(ImportError("No module named 'nothing_here'"))
