"""`annotate_file`: para pairs in, M2 out, in constant memory whatever the number of pairs.

1. The input is read once to check every line (an error names the file and line before any
   work is done) and to count the pairs (the progress bar's total).
2. An existing output is continued: its complete blocks are kept, a partial last block is cut
   off, and that many pairs are skipped (`m2file`); its last block must be of the pair it
   stands for, or the run stops (another input's output is not extended).
3. Pairs go out in chunks (to `jobs` forked processes, or to any executor), at most a few
   chunks in flight, and the M2 text of each is written as soon as all before it are.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from harness.annotate import DEFAULT_CHUNK
from harness.annotate.m2file import resume_point
from harness.annotate.pairs import read_pairs
from harness.annotate.work import AnnotateContext, AnnotateSettings, annotate_chunk
from harness.core.errors import HarnessError
from harness.scoring.options import DEFAULT_MAX_CHARS
from harness.data.manifest import DataSettings
from harness.scoring.corpus import LexiconTexts
from harness.scoring.executor import Shipment, run_ordered
from metrics.normalise import remove_whitespace

Chunk = list[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class AnnotateReport:
    """What a run did: pairs in the input, pairs kept from an earlier run, pairs written now."""

    total: int
    resumed: int
    written: int
    seconds: float


def _checked_count(path: Path, max_chars: int, resumed: int, last_source: str | None, output: Path) -> int:
    """Pairs in the input (all checked); the pair the output's last block stands for must match."""
    total = 0
    for pair in read_pairs(path, max_chars):
        total += 1
        if total == resumed and last_source is not None and remove_whitespace(pair.source) != last_source:
            raise HarnessError(f"the output's last complete block (pair {resumed}) is not of this input's line "
                               f"{pair.line}: it was written from another file; give --restart to overwrite it",
                               output)
    if resumed > total:
        raise HarnessError(f"the output has {resumed} blocks but the input only {total} pairs; give --restart "
                           "to overwrite it", output)
    return total


def _chunks(path: Path, max_chars: int, skip: int, size: int) -> Iterator[Chunk]:
    pairs = islice(read_pairs(path, max_chars), skip, None)
    while True:
        chunk = [(pair.source, pair.targets) for pair in islice(pairs, size)]
        if not chunk:
            return
        yield chunk


def _opened(output: Path, offset: int) -> BinaryIO:
    """The output positioned after its complete blocks (anything after them is cut off)."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle = output.open("r+b" if offset else "wb")
        handle.truncate(offset)
        handle.seek(offset)
    except OSError as error:
        raise HarnessError(f"cannot write: {error.strerror}", output) from None
    return handle


def _results(context: AnnotateContext, chunks: Iterable[Chunk], jobs: int, executor: Executor | None,
             stack: ExitStack) -> Iterator[str]:
    """The M2 text of each chunk, in order: here, in `jobs` forked processes, or on `executor`."""
    if executor is None and jobs <= 1:
        return (context.annotate(chunk) for chunk in chunks)
    if executor is None:
        methods = multiprocessing.get_all_start_methods()
        mp_context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        executor = stack.enter_context(ProcessPoolExecutor(jobs, mp_context=mp_context))
        window = 2 * jobs
    else:
        window = 16
    return run_ordered(executor, Shipment(context), annotate_chunk, chunks, window)


def annotate_file(source: str | Path, output: str | Path, settings: AnnotateSettings, data: DataSettings, *,
                  jobs: int | None = None, executor: Executor | None = None, chunk: int = DEFAULT_CHUNK,
                  restart: bool = False, progress: bool = True, max_chars: int = DEFAULT_MAX_CHARS) -> AnnotateReport:
    """Annotate the pairs of `source` into `output` (see the module docstring). `jobs`: worker
    processes (default: one per core); `executor`: any concurrent.futures executor instead."""
    from tqdm import tqdm

    started = time.perf_counter()
    source, output = Path(source), Path(output)
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise HarnessError("the output is the input file: give another name with -o", output)
    point = resume_point(output) if not restart else None
    resumed = point.blocks if point is not None else 0
    total = _checked_count(source, max_chars, resumed, point.last_source if point else None, output)
    context = AnnotateContext(LexiconTexts.load(data, char_meta=settings.level == "word"), settings)
    jobs = jobs or os.cpu_count() or 1
    if total - resumed <= chunk:
        jobs = 1  # a pool would cost more than it saves
    written = 0
    with ExitStack() as stack:
        handle = stack.enter_context(_opened(output, point.offset if point is not None else 0))
        results = _results(context, _chunks(source, max_chars, resumed, chunk), jobs, executor, stack)
        bar = stack.enter_context(tqdm(total=total, initial=resumed, unit="pair", desc="annotating", file=sys.stderr,
                                       disable=None if progress else True, smoothing=0.1, mininterval=0.5))
        for text in results:
            handle.write(text.encode("utf-8"))
            handle.flush()
            count = text.count("\n\n")
            written += count
            bar.update(count)
    return AnnotateReport(total, resumed, written, time.perf_counter() - started)
