"""Edit extraction for whole sentences: normalise, tokenise, annotate each target into a Block."""

from __future__ import annotations

from typing import Callable, Sequence

from metrics.annotator import Annotator
from metrics.cost import SubstitutionCost
from metrics.edit import Block
from metrics.normalise import TargetNormaliser, remove_whitespace
from metrics.zh.lexicon import Lexicon
from metrics.zh.tokens import CharTokenizer, Token

Tokenizer = Callable[[str], list[Token]]


class Extractor:
    """ChERRANT's parallel_to_m2 for one granularity: source untouched but for whitespace,
    targets also converted to simplified characters (unless `convert_t2s` is off)."""

    def __init__(self, lexicon: Lexicon, granularity: str = "char", tokenizer: Tokenizer | None = None,
                 convert_t2s: bool = True, spelling: Callable[[str, str], bool] | None = None) -> None:
        if tokenizer is None:
            if granularity != "char":
                raise ValueError("word level needs a segmenter")
            tokenizer = CharTokenizer()
        self.granularity = granularity
        self.tokenizer = tokenizer
        self.normalise_target = TargetNormaliser(convert_t2s)
        self.annotator = Annotator(SubstitutionCost(lexicon, granularity), granularity, spelling)
        self._tokens: dict[str, list[Token]] = {}

    def tokens(self, sentence: str) -> list[Token]:
        found = self._tokens.get(sentence)
        if found is None:
            found = self.tokenizer(sentence) if sentence else []
            self._tokens[sentence] = found
        return found

    def block(self, source: str, targets: Sequence[str]) -> Block:
        src = self.tokens(remove_whitespace(source))
        annotations = tuple(
            self.annotator(src, self.tokens(self.normalise_target(target)), annotator)
            for annotator, target in enumerate(targets)
        )
        return Block(tuple(t.text for t in src), annotations)
