"""Loaders: one per file format, each turning the resolved files of a benchmark (by role) into
items (id and source) and gold kept apart. A new format is one module and one line here."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from harness.benchmarks.gold import Loaded
from harness.benchmarks.loaders.csc import load_csc_json, load_csc_tsv
from harness.benchmarks.loaders.fcgec import load_fcgec
from harness.benchmarks.loaders.nlpcc18 import load_nlpcc18
from harness.benchmarks.loaders.para import load_inputs, load_mucgec_para, load_para

Loader = Callable[[dict[str, Path]], Loaded]

# loader name -> (the file roles it reads, the function)
LOADERS: dict[str, tuple[tuple[str, ...], Loader]] = {
    "para": (("references",), load_para),
    "mucgec-para": (("references",), load_mucgec_para),
    "mucgec-inputs": (("sources",), load_inputs),
    "nlpcc18": (("sources", "char_m2", "word_gold"), load_nlpcc18),
    "fcgec": (("records",), load_fcgec),
    "csc-tsv": (("pairs",), load_csc_tsv),
    "csc-json": (("pairs",), load_csc_json),
}
LOADER_ROLES: dict[str, tuple[str, ...]] = {name: roles for name, (roles, _) in LOADERS.items()}

__all__ = ["LOADERS", "LOADER_ROLES", "Loader"]
