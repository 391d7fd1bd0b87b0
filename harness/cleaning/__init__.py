"""Turning a chat model's raw reply into the corrected sentence it means (prefixes, echoes,
quotes, invented tails), each rule named by the flag it leaves. The rules are the config's
`CleaningSpec` (harness.config.schema: every default there); docs/cleaning.md lists them.

Modules, in the order a reply meets them: `wrappers` (line ends, fences, tags, Markdown, quotes,
whitespace), `labels` (labels, lead-ins, arrows), `prune` (echoes, refusals, explanations,
repeats), `tails` (residue, invented tails), `pipeline` (`clean`, the order of the steps);
`text` and `context` hold what the steps share, `result` what they return.

May import `harness.core` and `harness.config`; knows nothing of backends or records."""

from harness.cleaning.pipeline import clean
from harness.cleaning.result import FALLBACK_FLAGS, FLAG_MEANINGS, FLAGS, Cleaned, summarise
from harness.cleaning.text import similarity
from harness.config.schema import CleaningSpec

__all__ = ["FALLBACK_FLAGS", "FLAGS", "FLAG_MEANINGS", "Cleaned", "CleaningSpec", "clean", "similarity", "summarise"]
