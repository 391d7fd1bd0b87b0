"""The scoring vocabulary, declared once: levels, word-level methods, segmenters, ChERRANT's
evaluation modes and edit selections, category tiers, and the defaults of the published
protocols. The scorers check against it; the harness's CLI choices, config schema, API and
`harness list` read it from here, so a new value is added in one place.

Each tuple lists its default first (levels: every level is the default).
"""

from __future__ import annotations

LEVELS = ("char", "word")
WORD_SCORERS = ("maxmatch", "cherrant")  # maxmatch on THULAC: the NLPCC 2023 Task 1 word metric
SEGMENTERS = ("thulac", "jieba")  # thulac 0.2.2 joint seg+POS: the NLPCC 2023 stand-in for LTP
# ChERRANT's compare_m2_for_evaluation.py -cs/-cse/-ds/-dt: what makes two edits the same
EVAL_MODES = ("cs", "cse", "ds", "dt")  # correction by spans (default), + types; detection by spans, by tokens
EDIT_SELECTIONS = ("all", "single", "multi")  # -single: edits over at most one source token; -multi: the others
CATEGORY_TIERS = (1, 2, 3)  # -cat: 1 the operation (M/R/S/W), 2 what follows it (NOUN...), 3 the full type

DEFAULT_BETA = 0.5
DEFAULT_MAX_UNCHANGED = 2  # M2Scorer's max_unchanged_words
