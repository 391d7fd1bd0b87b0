"""Score signatures in the manner of sacreBLEU: every number carries the recipe that made it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from harness import __version__


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def nrefs_field(reference_counts: tuple[int, ...]) -> str:
    if not reference_counts:
        return "0"
    low, high = min(reference_counts), max(reference_counts)
    return str(low) if low == high else f"{low}-{high}"


def char_signature(reference_counts: tuple[int, ...], t2s: bool = True) -> str:
    conversion = f"opencc-{package_version('opencc')}-t2s" if t2s else "none"
    return "|".join([
        "level:char",
        "method:cherrant",
        f"nrefs:{nrefs_field(reference_counts)}",
        "tok:char",
        f"t2s:{conversion}",
        f"readings:pypinyin-{package_version('pypinyin')}",
        f"version:cgec-harness-{__version__}",
    ])


def word_signature(reference_counts: tuple[int, ...], method: str, segmenter: str, t2s: bool = True,
                   spelling: str = "readings") -> str:
    """Word level. jieba is not part of any published protocol: the signature says so.
    ChERRANT's types include S:SPELL, decided with FASPell's char_meta.txt
    (`spell:faspell-<sha256 prefix>`), or by readings alone when a library caller has no
    table (`spell:readings`)."""
    conversion = f"opencc-{package_version('opencc')}-t2s" if t2s and method == "cherrant" else "none"
    variant = "official-nlpcc2023" if (method, segmenter) == ("maxmatch", "thulac") else "unofficial"
    fields = [
        "level:word",
        f"method:{method}",
        f"nrefs:{nrefs_field(reference_counts)}",
        f"tok:{segmenter}-{package_version(segmenter)}-pos",
        f"t2s:{conversion}",
    ]
    if method == "cherrant":
        fields += [f"readings:pypinyin-{package_version('pypinyin')}", f"spell:{spelling}"]
    if method == "maxmatch":
        fields.append("max_unchanged:2")
    fields += [f"protocol:{variant}", f"version:cgec-harness-{__version__}"]
    return "|".join(fields)


def parse_signature(signature: str) -> dict[str, str]:
    """`level:char|method:cherrant|...` as a mapping of its fields."""
    return dict(field.split(":", 1) if ":" in field else (field, "") for field in signature.split("|"))


def signature_differences(a: str, b: str) -> list[str]:
    """The fields in which two signatures differ, as `field:a vs field:b`. Scores are
    comparable only when this is empty: the one rule `compare` and `table` apply."""
    fa, fb = parse_signature(a), parse_signature(b)
    return [f"{key}:{fa.get(key, '-')} vs {key}:{fb.get(key, '-')}"
            for key in sorted(set(fa) | set(fb)) if fa.get(key) != fb.get(key)]


def follows(signature: str, level: str, method: str, segmenter: str | None = None) -> bool:
    """Whether a score was made by a published protocol: the level, method and segmenter a
    table of reported figures names (they carry no signature of their own)."""
    fields = parse_signature(signature)
    tok = fields.get("tok", "")
    return (fields.get("level") == level and fields.get("method") == method
            and (segmenter is None or tok.split("-", 1)[0] == segmenter))
