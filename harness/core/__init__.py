"""Shared low-level pieces every other package may use: the one error type, atomic writes,
the secret redactor, strict text reading, and the files shipped inside the package.

Imports nothing from the rest of `harness` (and nothing from `metrics`)."""
