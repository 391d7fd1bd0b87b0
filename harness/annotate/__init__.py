"""`harness annotate`: a para file of (source, targets) pairs turned into ChERRANT's M2 file,
as its `parallel_to_m2.py` writes it, streamed in chunks over worker processes or any
`concurrent.futures.Executor` (a Dask cluster), resumable after a kill.

`pairs` reads and checks the input, `m2file` finds where an interrupted output stops,
`work` is what a worker does with a chunk (metrics' extractor, nothing else), and `stream`
runs the whole: read, align in chunks, write in order."""

DEFAULT_CHUNK = 500  # pairs a task: about a tenth of a second of work at char level
