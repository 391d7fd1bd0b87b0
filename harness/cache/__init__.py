"""The response cache: one SQLite file, a row per successful response (the one `Response` type of
harness.core.response), keyed by the backend identity and the messages.

May import `harness.core` only."""
