"""Model backends: each answers a request (an item's rendered messages) with a `Response`
(harness.core.response), behind one protocol (`base.Backend`), found by name in one registry
(`registry`): the only module where a backend's name means anything.

The runner owns concurrency, limits, retries, the cache and progress; a backend only talks to
its model. A new backend is one module and one registration line (docs/backends.md).

May import `harness.core`, `harness.config` and `harness.data`; never the runner, the record,
the scorer, cleaning or the reports. This file imports nothing, so that the config schema can
ask the registry for names without loading a backend."""

# Under the cache directory: the identity files `harness serve-local` publishes.
SERVE_LOCAL_DIR = "serve-local"
