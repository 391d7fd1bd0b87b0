"""`harness run`: the runner (concurrency, limits, retries, cache), prompts, prices, and the
execution that ties config -> dataset -> backend -> runner -> cleaning -> scorer -> record, and
`suite`: the same execution over benchmarks (`run --benchmarks`), a record per benchmark.

The only package that may import backends, the cache, cleaning, scoring and the record writer
together; nothing below it imports it (enforced by the import-linter contracts)."""
