"""`harness list` and `harness cite`: what there is to run and score, and how to cite it."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Subcommands, add_command
from harness.core.errors import HarnessError


def add_list_command(commands: Subcommands) -> None:
    """`harness list`: configs, datasets, stored outputs and scoring options."""
    listing = add_command(commands, "list", "shipped configs, datasets, stored outputs and scoring options",
                          "What there is to run and score: the configs, the datasets and stored outputs of "
                          "data/manifest.yaml with their sizes and licences, and the scoring options with their "
                          "allowed values and defaults.")
    listing.add_argument("--configs", default="configs", help="configs folder (default configs)")
    listing.set_defaults(func=cmd_list)


def add_cite_command(commands: Subcommands) -> None:
    """`harness cite BENCH`: the BibTeX of a benchmark of data/benchmarks.yaml."""
    cite = add_command(commands, "cite", "a benchmark's BibTeX (and its terms of use)",
                       "Print the BibTeX of a benchmark of data/benchmarks.yaml (`harness list` shows them), "
                       "preceded by its terms of use as a comment line.")
    cite.add_argument("benchmark", help="a benchmark name, e.g. mucgec-dev")
    cite.set_defaults(func=cmd_cite)


def cmd_list(args: argparse.Namespace) -> int:
    """What there is to run and score: shipped configs, datasets, stored outputs, and the
    scoring options with their allowed values (the ones `--help` offers)."""
    from tabulate import tabulate

    from harness.config.schema import load_config
    from harness.data.manifest import load_manifest
    from harness.scoring.options import choices_table

    configs = []
    for path in sorted(Path(args.configs).glob("*.yaml")):
        try:
            config = load_config(path, strict_env=False)
            configs.append([str(path), config.model.backend, config.model.model or config.model.predictions,
                            config.dataset.name or config.dataset.path, config.report.label or ""])
        except HarnessError as error:
            configs.append([str(path), "(invalid)", str(error), "", ""])
    manifest = load_manifest()
    datasets = [[name, spec["references"], f"{manifest.files[spec['references']].size:,}",
                 manifest.files[spec["references"]].licence] for name, spec in sorted(manifest.datasets.items())]
    outputs = [[name, spec.get("dataset", ""), f"{manifest.files[spec['file']].size:,}",
                manifest.files[spec["file"]].licence] for name, spec in sorted(manifest.outputs.items())]
    print(tabulate(configs, headers=["config", "backend", "model / predictions", "dataset", "report label"],
                   tablefmt="github"))
    print()
    print(tabulate(datasets, headers=["dataset", "file", "bytes", "licence"], tablefmt="github"))
    print()
    print(tabulate(outputs, headers=["stored outputs", "dataset", "bytes", "licence"], tablefmt="github"))
    print()
    from harness.benchmarks.registry import listing_rows, load_registry

    print(tabulate(listing_rows(load_registry()), headers=["benchmark", "task", "split", "protocol", "headline",
                                                           "files"], tablefmt="github"))
    print("(harness cite BENCH prints its BibTeX; docs/benchmarks.md gives each protocol)")
    print()
    print(tabulate(choices_table(), headers=["score option", "scoring: key", "values", "default"],
                   tablefmt="github"))
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    """A benchmark's BibTeX, and its terms of use as a comment line."""
    from harness.benchmarks.registry import load_registry

    spec = load_registry().get(args.benchmark)
    print(f"% {args.benchmark}: {spec.terms}")
    print(spec.citation, end="")
    return 0
