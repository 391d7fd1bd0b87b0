"""Shared low-level pieces every other package may use: the one error type, atomic writes,
the secret redactor, strict text reading, the files shipped inside the package, and the model's
response (the one type a reply has from backend through cache and runner to the record).

Imports nothing from the rest of `harness` (and nothing from `metrics`)."""
