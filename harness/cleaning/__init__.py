"""Turning a chat model's raw reply into the corrected sentence it means (prefixes, echoes,
quotes, invented tails), each rule named by the flag it leaves.

May import `harness.core` and `harness.config`; knows nothing of backends or records."""
