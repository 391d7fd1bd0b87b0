"""Run configuration: the pydantic schema of `configs/*.yaml`, every default in one place.

May import `harness.core` only: a config is data, read before anything runs."""
