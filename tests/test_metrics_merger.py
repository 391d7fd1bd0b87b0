"""From an alignment path to span edits (SCORING.md section 5), one rule per test.

Paths are written by hand as steps (op, src_start, src_end, tgt_start, tgt_end). Source and
target are token lists; at char level each token is one character.
"""

from __future__ import annotations

from metrics.merger import merge


def M(s: int, t: int) -> tuple:
    return ("M", s, s + 1, t, t + 1)


def S(s: int, t: int) -> tuple:
    return ("S", s, s + 1, t, t + 1)


def D(s: int, t: int) -> tuple:
    return ("D", s, s + 1, t, t)


def I(s: int, t: int) -> tuple:  # noqa: E743 - the op is called I
    return ("I", s, s, t, t + 1)


# --- 1. grouping of runs ---------------------------------------------------------------------


def test_single_step_group_stays():
    # 甲乙 -> 甲丙: M S -> the S alone.
    assert merge([M(0, 0), S(1, 1)], list("甲乙"), list("甲丙")) == [("S", 1, 2, 1, 2)]


def test_matches_only_give_no_edit():
    assert merge([M(0, 0), M(1, 1)], list("甲乙"), list("甲乙")) == []


def test_run_of_deletions_becomes_one_deletion():
    # 甲乙丙 -> 甲: M D D -> D(1..3).
    assert merge([M(0, 0), D(1, 1), D(2, 1)], list("甲乙丙"), list("甲")) == [("D", 1, 3, 1, 1)]


def test_run_of_insertions_becomes_one_insertion():
    # 甲 -> 甲乙丙: M I I -> I(target 1..3).
    assert merge([M(0, 0), I(1, 1), I(1, 2)], list("甲"), list("甲乙丙")) == [("I", 1, 1, 1, 3)]


def test_run_of_deletions_and_insertions_stays_split():
    # 甲乙 -> 甲丙: M D I -> D and I separately (only D+I in the run).
    path = [M(0, 0), D(1, 1), I(2, 1)]
    assert merge(path, list("甲乙"), list("甲丙")) == [("D", 1, 2, 1, 1), ("I", 2, 2, 1, 2)]


def test_run_of_interleaved_deletions_and_insertions_stays_split():
    # 甲乙 -> 丙丁: I D I D (every step kept, in order).
    path = [I(0, 0), D(0, 1), I(1, 1), D(1, 2)]
    assert merge(path, list("甲乙"), list("丙丁")) == path


def test_run_of_substitutions_becomes_one_substitution_at_char_level():
    # 甲乙 -> 丙丁: S S -> S(0..2 -> 0..2); no common prefix or suffix to trim.
    assert merge([S(0, 0), S(1, 1)], list("甲乙"), list("丙丁")) == [("S", 0, 2, 0, 2)]


def test_run_of_substitutions_stays_split_at_word_level():
    src, tgt = ["甲乙", "丙"], ["丁", "戊己"]
    assert merge([S(0, 0), S(1, 1)], src, tgt, "word") == [S(0, 0), S(1, 1)]


def test_substitution_and_deletion_become_one_substitution():
    # 甲乙 -> 丙: S D -> S(0..2 -> 0..1).
    assert merge([S(0, 0), D(1, 1)], list("甲乙"), list("丙")) == [("S", 0, 2, 0, 1)]


def test_substitution_and_insertion_become_one_substitution():
    # 甲 -> 丙丁: I S -> S(0..1 -> 0..2).
    assert merge([I(0, 0), S(0, 1)], list("甲"), list("丙丁")) == [("S", 0, 1, 0, 2)]


def test_mixed_run_becomes_one_substitution_at_word_level_too():
    # "any other mix becomes one S span", whatever the granularity.
    src, tgt = ["甲乙", "丙"], ["丁"]
    assert merge([S(0, 0), D(1, 1)], src, tgt, "word") == [("S", 0, 2, 0, 1)]


def test_matches_separate_runs():
    # 甲乙丙丁 -> 戊乙己丁: S M S M -> two S edits (S M S with different strings: no swap).
    path = [S(0, 0), M(1, 1), S(2, 2), M(3, 3)]
    assert merge(path, list("甲乙丙丁"), list("戊乙己丁")) == [S(0, 0), S(2, 2)]


def test_transposition_step_is_kept_on_its_own():
    # 甲乙丙 -> 乙甲丁: T2 S -> T2 then S, not merged with each other.
    path = [("T2", 0, 2, 0, 2), S(2, 2)]
    assert merge(path, list("甲乙丙"), list("乙甲丁")) == [("T2", 0, 2, 0, 2), S(2, 2)]


def test_two_adjacent_transpositions_stay_separate():
    path = [("T2", 0, 2, 0, 2), ("T2", 2, 4, 2, 4)]
    assert merge(path, list("甲乙丙丁"), list("乙甲丁丙")) == path


# --- 2. S M S: swapped words -----------------------------------------------------------------


def test_swap_of_single_characters_around_a_match_is_a_transposition():
    # 甲乙丙 -> 丙乙甲: S M S, w1 = 甲, w2 = 丙, w3 = 丙, w4 = 甲: shortest length 1 and
    # w1 == w4, w2 == w3 -> T spanning source 0..3, target 0..3, named T3 (3 source tokens).
    path = [S(0, 0), M(1, 1), S(2, 2)]
    assert merge(path, list("甲乙丙"), list("丙乙甲")) == [("T3", 0, 3, 0, 3)]


def test_single_character_swap_needs_both_strings_equal():
    # 甲乙丙 -> 丁乙甲: w1 = 甲 == w4 = 甲 but w2 = 丁 != w3 = 丙 -> two S edits.
    path = [S(0, 0), M(1, 1), S(2, 2)]
    assert merge(path, list("甲乙丙"), list("丁乙甲")) == [S(0, 0), S(2, 2)]


def test_swap_of_two_character_words_around_a_match_is_a_transposition():
    # 甲乙戊丙丁 -> 丙丁戊甲乙: the S runs merge first (char level) into S(0..2) and S(3..5);
    # w1 = 甲乙 = w4, w2 = 丙丁 = w3, all of length 2 -> Levenshtein 0 <= 1 -> T5.
    path = [S(0, 0), S(1, 1), M(2, 2), S(3, 3), S(4, 4)]
    assert merge(path, list("甲乙戊丙丁"), list("丙丁戊甲乙")) == [("T5", 0, 5, 0, 5)]


def test_swap_of_longer_words_allows_levenshtein_one():
    # 甲乙戊丙丁 -> 丙己戊甲乙: w2 = 丙己 vs w3 = 丙丁: distance 1 -> still a transposition.
    path = [S(0, 0), S(1, 1), M(2, 2), S(3, 3), S(4, 4)]
    assert merge(path, list("甲乙戊丙丁"), list("丙己戊甲乙")) == [("T5", 0, 5, 0, 5)]


def test_swap_of_longer_words_rejects_levenshtein_two():
    # 甲乙戊丙丁 -> 庚己戊甲乙: w2 = 庚己 vs w3 = 丙丁: distance 2 -> no merge; the first S is
    # emitted, the scan moves one, and the M / last S follow as usual.
    path = [S(0, 0), S(1, 1), M(2, 2), S(3, 3), S(4, 4)]
    assert merge(path, list("甲乙戊丙丁"), list("庚己戊甲乙")) == [("S", 0, 2, 0, 2), ("S", 3, 5, 3, 5)]


def test_swap_with_one_single_character_string_needs_exact_equality():
    # 甲戊丙丁 -> 丙丁戊甲乙: e1 = S(甲 -> 丙丁) from I+S, e3 = S(丙丁 -> 甲乙).
    # w1 = 甲, w2 = 丙丁, w3 = 丙丁, w4 = 甲乙: Levenshtein(w1, w4) = 1 would pass the long
    # rule, but the shortest string has length 1, so w1 == w4 is required: no merge.
    path = [S(0, 0), I(1, 1), M(1, 2), S(2, 3), S(3, 4)]
    assert merge(path, list("甲戊丙丁"), list("丙丁戊甲乙")) == [("S", 0, 1, 0, 2), ("S", 2, 4, 3, 5)]


def test_swap_needs_the_match_in_the_middle():
    # S T S is not the S M S pattern: 甲乙丙丁 -> 丁丙乙甲 as S T2 S stays as three edits.
    path = [S(0, 0), ("T2", 1, 3, 1, 3), S(3, 3)]
    assert merge(path, list("甲乙丙丁"), list("丁丙乙甲")) == path


# --- 2. D (M|T) I and I (M|T) D: moved words --------------------------------------------------


def test_deleted_and_reinserted_character_across_matches_is_a_transposition():
    # 甲乙丙 -> 乙丙甲: D M M I -> groups D, M(1..3), I; deleted 甲 == inserted 甲 (single
    # characters must be equal) -> T3 over source 0..3, target 0..3.
    path = [D(0, 0), M(1, 0), M(2, 1), I(3, 2)]
    assert merge(path, list("甲乙丙"), list("乙丙甲")) == [("T3", 0, 3, 0, 3)]


def test_inserted_and_later_deleted_character_is_a_transposition():
    # 乙丙甲 -> 甲乙丙: I M M D.
    path = [I(0, 0), M(0, 1), M(1, 2), D(2, 3)]
    assert merge(path, list("乙丙甲"), list("甲乙丙")) == [("T3", 0, 3, 0, 3)]


def test_deleted_and_inserted_across_a_transposition_is_a_transposition():
    # 甲乙丙 -> 丙乙甲 as D T2 I: deleted 甲, inserted 甲 -> T3.
    path = [D(0, 0), ("T2", 1, 3, 0, 2), I(3, 2)]
    assert merge(path, list("甲乙丙"), list("丙乙甲")) == [("T3", 0, 3, 0, 3)]


def test_the_three_cheapest_alignments_of_acb_to_bca_all_become_t3():
    # The three paths found for acb -> bca in test_metrics_alignment: S M S, D T2 I, I T2 D.
    src, tgt = list("acb"), list("bca")
    for path in ([S(0, 0), M(1, 1), S(2, 2)],
                 [D(0, 0), ("T2", 1, 3, 0, 2), I(3, 2)],
                 [I(0, 0), ("T2", 0, 2, 1, 3), D(2, 3)]):
        assert merge(path, src, tgt) == [("T3", 0, 3, 0, 3)], path


def test_different_single_characters_are_not_a_move():
    # 甲乙丙 -> 乙丙丁: deleted 甲, inserted 丁 -> no merge.
    path = [D(0, 0), M(1, 0), M(2, 1), I(3, 2)]
    assert merge(path, list("甲乙丙"), list("乙丙丁")) == [D(0, 0), I(3, 2)]


def test_moved_string_one_longer_with_a_single_character_is_not_a_move():
    # Deleted 甲乙, inserted 甲: len(b) == 1 requires a == b, and 甲乙 != 甲.
    path = [D(0, 0), D(1, 0), M(2, 0), I(3, 1)]
    assert merge(path, list("甲乙丙"), list("丙甲")) == [("D", 0, 2, 0, 0), I(3, 1)]


def test_moved_strings_within_levenshtein_one_are_a_move():
    # Deleted 甲乙 (2), inserted 甲乙丁 (3): difference 1, Levenshtein 1 -> T (source 0..3).
    path = [D(0, 0), D(1, 0), M(2, 0), I(3, 1), I(3, 2), I(3, 3)]
    assert merge(path, list("甲乙丙"), list("丙甲乙丁")) == [("T3", 0, 3, 0, 4)]


def test_moved_strings_differing_in_length_by_two_are_not_a_move():
    # Deleted 甲乙丙丁 (4), inserted 甲乙 (2): len(a) - len(b) = 2 > 1.
    path = [D(0, 0), D(1, 0), D(2, 0), D(3, 0), M(4, 0), I(5, 1), I(5, 2)]
    assert merge(path, list("甲乙丙丁戊"), list("戊甲乙")) == [("D", 0, 4, 0, 0), ("I", 5, 5, 1, 3)]


def test_rotated_moved_string_is_a_move():
    # Deleted 甲乙丙, inserted 乙丙甲: Levenshtein 2, but equal lengths and 乙丙甲 occurs in
    # 甲乙丙甲乙丙 (a rotation) -> T4 over source 0..4, target 0..4.
    path = [D(0, 0), D(1, 0), D(2, 0), M(3, 0), I(4, 1), I(4, 2), I(4, 3)]
    assert merge(path, list("甲乙丙戊"), list("戊乙丙甲")) == [("T4", 0, 4, 0, 4)]


def test_reversed_moved_string_is_not_a_rotation():
    # Deleted 甲乙丙, inserted 丙乙甲: Levenshtein 2 and 丙乙甲 not in 甲乙丙甲乙丙 -> no merge.
    path = [D(0, 0), D(1, 0), D(2, 0), M(3, 0), I(4, 1), I(4, 2), I(4, 3)]
    assert merge(path, list("甲乙丙戊"), list("戊丙乙甲")) == [("D", 0, 3, 0, 0), ("I", 4, 4, 1, 4)]


def test_moved_punctuation_is_not_a_move():
    # Deleted ， and inserted ，: equal, but punctuation never merges.
    path = [D(0, 0), M(1, 0), I(2, 1)]
    assert merge(path, list("，甲"), list("甲，")) == [D(0, 0), I(2, 1)]


def test_moved_ascii_punctuation_is_not_a_move():
    path = [D(0, 0), M(1, 0), I(2, 1)]
    assert merge(path, list("!甲"), list("甲!")) == [D(0, 0), I(2, 1)]


def test_moved_ideographic_full_stop_is_a_move():
    # The merger's punctuation string (ChERRANT's merger.py: ASCII punctuation + a Chinese list
    # ending with "…‧.") has no 。 (U+3002): a moved 。 merges like a word. SCORING.md names the
    # string but does not spell it out.
    path = [D(0, 0), M(1, 0), I(2, 1)]
    assert merge(path, list("。甲"), list("甲。")) == [("T2", 0, 2, 0, 2)]


def test_deletion_then_insertion_without_a_match_between_is_not_a_move():
    # D I directly stay split (there is no triple D (M|T) I).
    path = [D(0, 0), I(1, 0)]
    assert merge(path, list("甲"), list("甲")) == [D(0, 0), I(1, 0)]


def test_scan_continues_after_a_merge():
    # 甲乙丙 庚 丁戊己 -> 乙丙甲 庚 戊己丁: D M M I (T3), then M, then D M M I (T3).
    src, tgt = list("甲乙丙庚丁戊己"), list("乙丙甲庚戊己丁")
    path = [D(0, 0), M(1, 0), M(2, 1), I(3, 2), M(3, 3), D(4, 4), M(5, 4), M(6, 5), I(7, 6)]
    assert merge(path, src, tgt) == [("T3", 0, 3, 0, 3), ("T3", 4, 7, 4, 7)]


# --- 3. dropping and trimming ---------------------------------------------------------------


def test_edit_with_equal_source_and_target_strings_is_dropped():
    # Word level: 甲乙 -> 甲 + 乙 as S I -> mixed run S(0..1 -> 0..2): "甲乙" == "甲乙" -> dropped.
    assert merge([S(0, 0), I(1, 1)], ["甲乙"], ["甲", "乙"], "word") == []


def test_equal_strings_dropped_at_char_level_too():
    # 甲乙 -> 甲乙 through I S D (a mixed run): S(0..2 -> 0..2), strings equal -> dropped.
    assert merge([I(0, 0), S(0, 1), D(1, 2)], list("甲乙"), list("甲乙")) == []


def test_substitution_with_common_prefix_becomes_an_insertion():
    # Word level 甲乙 丙 -> 甲 乙 丁 丙: S I I M -> S(0..1 -> 0..3) "甲乙" -> "甲乙丁". The source
    # token 甲乙 is a prefix of the target and ends on a target token boundary (甲+乙) ->
    # source start 1, target start 2; nothing left of the source -> I(1..1 -> 2..3).
    src, tgt = ["甲乙", "丙"], ["甲", "乙", "丁", "丙"]
    path = [S(0, 0), I(1, 1), I(1, 2), M(1, 3)]
    assert merge(path, src, tgt, "word") == [("I", 1, 1, 2, 3)]


def test_substitution_with_common_suffix_becomes_a_deletion():
    # Word level 甲 乙丙 -> 乙 丙: D S I -> S(0..2 -> 0..2) "甲乙丙" -> "乙丙". No common prefix;
    # suffix 乙丙 (source token 1) ends the target and starts on a target boundary ->
    # source end 1, target end 0 -> D(0..1).
    src, tgt = ["甲", "乙丙"], ["乙", "丙"]
    path = [D(0, 0), S(1, 0), I(2, 1)]
    assert merge(path, src, tgt, "word") == [("D", 0, 1, 0, 0)]


def test_substitution_trimmed_on_both_sides_stays_a_substitution():
    # Word level 甲乙 丙 丁戊 -> 甲 乙 己 丁 戊 as one mixed run S(0..3 -> 0..5):
    # prefix 甲乙 = target 甲+乙 -> starts (1, 2); suffix 丁戊 = target 丁+戊 -> ends (2, 3);
    # what remains is S(丙 -> 己).
    src, tgt = ["甲乙", "丙", "丁戊"], ["甲", "乙", "己", "丁", "戊"]
    path = [S(0, 0), I(1, 1), S(1, 2), S(2, 3), I(3, 4)]
    assert merge(path, src, tgt, "word") == [("S", 1, 2, 2, 3)]


def test_prefix_not_ending_on_a_target_token_boundary_is_not_trimmed():
    # Word level 甲乙 丙丁 -> 甲 乙戊 丁: S S I -> S(0..2 -> 0..3) "甲乙丙丁" -> "甲乙戊丁".
    # Source token 甲乙 is a prefix of the target text, but the target tokens give 甲 then
    # 甲乙戊 (past 甲乙): no boundary, no trim. 丙丁 is not a suffix of the target text.
    src, tgt = ["甲乙", "丙丁"], ["甲", "乙戊", "丁"]
    path = [S(0, 0), S(1, 1), I(2, 2)]
    assert merge(path, src, tgt, "word") == [("S", 0, 2, 0, 3)]


def test_char_level_substitution_run_is_trimmed_to_the_changed_characters():
    # Char level 甲乙丙 -> 甲丁丙 through a mixed run I S S D covering everything:
    # S(0..3 -> 0..3); prefix 甲 and suffix 丙 trimmed -> S(1..2 -> 1..2).
    path = [I(0, 0), S(0, 1), S(1, 2), D(2, 3)]
    assert merge(path, list("甲乙丙"), list("甲丁丙")) == [("S", 1, 2, 1, 2)]


def test_transposition_is_not_trimmed():
    # Only S edits are trimmed: a T whose ends agree stays whole.
    path = [("T3", 0, 3, 0, 3)]
    assert merge(path, list("甲乙甲"), list("甲甲乙")) == path
