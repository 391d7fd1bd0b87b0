"""Input normalisation before tokenising: whitespace removed everywhere, t2s on targets (as
ChERRANT converts them: metrics.zh.t2s)."""

from __future__ import annotations

from metrics.zh.t2s import T2S


def remove_whitespace(text: str) -> str:
    return "".join(text.split())


class TargetNormaliser:
    """Removes whitespace and converts traditional to simplified characters (targets only)."""

    def __init__(self, convert: bool = True) -> None:
        self.convert = convert
        self._converter = T2S() if convert else None
        self._memo: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        text = remove_whitespace(text)
        if self._converter is None:
            return text
        found = self._memo.get(text)
        if found is None:
            found = self._converter.convert(text)
            self._memo[text] = found
        return found
