"""The response cache: one SQLite file, a row per successful completion, keyed by the
backend identity and the messages.

May import `harness.core` only."""
