"""M2 files: writing blocks exactly as ChERRANT does, and reading them back (with line numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

from metrics.edit import NOOP, NOT_ANNOTATABLE, NOT_ANNOTATABLE_TEXT, Annotation, Block, Edit, written_correction


class M2FormatError(ValueError):
    """A block that does not parse; `line` is 1-based within the text given to `read_m2`."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def edit_line(edit: Edit) -> str:
    correction = written_correction(edit.correction)
    return f"A {edit.start} {edit.end}|||{edit.type}|||{correction}|||REQUIRED|||-NONE-|||{edit.annotator}"


def annotation_lines(annotation: Annotation) -> list[str]:
    k = annotation.annotator
    if annotation.marker is not None:
        kind = NOT_ANNOTATABLE if annotation.marker == NOT_ANNOTATABLE_TEXT else NOOP
        return [f"T{k} {annotation.marker}", f"A -1 -1|||{kind}|||-NONE-|||REQUIRED|||-NONE-|||{k}"]
    lines = []
    target = " ".join(annotation.target_tokens)
    for index, edits in enumerate(annotation.alignments):
        lines.append(f"T{k}-A{index} {target}")
        lines.extend(edit_line(edit) for edit in edits)
    return lines


def applied(source_tokens: tuple[str, ...], edits: Iterable[Edit]) -> tuple[str, ...]:
    """The tokens an alignment's edits make of the source (noop and NA edits change nothing);
    edits apply right to left, so that earlier spans keep their positions."""
    tokens = list(source_tokens)
    for edit in sorted((e for e in edits if e.type not in (NOOP, NOT_ANNOTATABLE) and e.start >= 0),
                       key=lambda e: (e.start, e.end), reverse=True):
        tokens[edit.start:edit.end] = edit.correction
    return tuple(tokens)


def annotation_target(block: Block, annotation: Annotation) -> tuple[str, ...] | None:
    """An annotator's corrected tokens: its T line's, else (an ERRANT-style block without T
    lines) its first alignment applied to the source; the source for 没有错误, None for 无法标注
    (no correction to show)."""
    if annotation.marker is not None:
        return None if annotation.marker == NOT_ANNOTATABLE_TEXT else block.source_tokens
    if annotation.target_tokens or not annotation.alignments:
        return annotation.target_tokens
    return applied(block.source_tokens, annotation.alignments[0])


def format_block(block: Block) -> str:
    """One block, ending with its blank separator line (the file is the concatenation)."""
    lines = ["S " + " ".join(block.source_tokens)]
    for annotation in block.annotations:
        lines.extend(annotation_lines(annotation))
    return "\n".join(lines) + "\n\n"


@dataclass(frozen=True)
class M2Sentence:
    """What the compare step needs of a block: source tokens and edits per annotator."""

    source_tokens: tuple[str, ...]
    edits: tuple[Edit, ...]
    first_line: int


def parse_edit(line: str, line_number: int) -> Edit:
    fields = line[2:].split("|||")
    if len(fields) < 3:
        raise M2FormatError(f"edit line has {len(fields)} '|||' fields, expected 6: {line!r}", line_number)
    span = fields[0].split()
    try:
        start, end = int(span[0]), int(span[1])
        annotator = int(fields[-1])
    except (ValueError, IndexError):
        raise M2FormatError(f"edit line does not start with 'A <start> <end>' or end with an annotator id: {line!r}",
                            line_number) from None
    if not fields[1].strip():
        raise M2FormatError(f"edit line has an empty type: {line!r}", line_number)
    if (start, end) != (-1, -1) and not 0 <= start <= end:
        raise M2FormatError(f"edit span {start} {end} is reversed or negative: {line!r}", line_number)
    written = _written_correction_field(line[2:], fields)
    correction = () if written == "-NONE-" else tuple(written.split(" "))
    return Edit(start, end, fields[1], correction, annotator)


def _written_correction_field(body: str, fields: list[str]) -> str:
    """The correction field of an edit line as it was written, so that `edit_line` gives the
    line back and `Edit.key` reads it as ChERRANT does: a correction with a `|` in it shifts
    the `split("|||")` fields (`好 |` + `|||REQUIRED` splits as `好 `, `|REQUIRED`), so in a
    line of six or more fields the correction is all between the type's `|||` and the last
    three fields' (REQUIRED, -NONE-, annotator); in a shorter line it is field 2."""
    if len(fields) < 6:
        return fields[2]
    written = body.split("|||", 2)[2]
    for _ in range(3):
        written = written.rpartition("|||")[0]
    return written


def _raw_blocks(text: str) -> Iterator[tuple[int, tuple[str, ...], list[tuple[int, str]]]]:
    """Blocks (blank-line separated, as ChERRANT's compare script splits them): the 1-based
    number of the S line, the source tokens, and the block's other lines with their numbers."""
    lines = text.split("\n")
    index = 0
    total = len(lines)
    while index < total:
        while index < total and not lines[index].strip():
            index += 1
        if index >= total:
            break
        first = index
        header = lines[index]
        if not header.startswith("S"):
            raise M2FormatError(f"block does not start with an 'S ' line: {header[:60]!r}", index + 1)
        body: list[tuple[int, str]] = []
        index += 1
        while index < total and lines[index].strip():
            line = lines[index]
            if not line.startswith(("A ", "T")):
                raise M2FormatError(f"unexpected line in block: {line[:60]!r}", index + 1)
            body.append((index + 1, line))
            index += 1
        source = tuple(header[2:].split(" ")) if len(header) > 2 else ()
        yield first + 1, source, body


def read_m2(text: str) -> list[M2Sentence]:
    """The edits of every block, in file order (what comparing needs, from any M2 file)."""
    return [M2Sentence(source, tuple(_edit_in(source, line, number) for number, line in body if line.startswith("A ")),
                       first)
            for first, source, body in _raw_blocks(text)]


def _edit_in(source: tuple[str, ...], line: str, number: int) -> Edit:
    """An edit whose span lies within its block's source tokens (noop lines aside)."""
    edit = parse_edit(line, number)
    if edit.end > len(source):
        raise M2FormatError(f"edit span {edit.start} {edit.end} ends beyond the {len(source)} source tokens: "
                            f"{line!r}", number)
    return edit


def read_blocks(text: str) -> list[Block]:
    """M2 text back into blocks, T lines included, so that `format_block` writes ChERRANT's
    files again byte for byte. In a file without T lines (ERRANT style) each annotator's
    edits become one alignment with unknown target tokens."""
    blocks: list[Block] = []
    for _, source, body in _raw_blocks(text):
        markers: dict[int, str] = {}
        targets: dict[int, tuple[str, ...]] = {}
        alignments: dict[int, list[list[Edit]]] = {}
        current: list[Edit] | None = None  # the alignment a T-A line opened
        for number, line in body:
            if line.startswith("T"):
                name, _, rest = line.partition(" ")
                annotator, dash, alignment = name[1:].partition("-A")
                if not annotator.isdigit() or (dash and not alignment.isdigit()):
                    raise M2FormatError(f"T line does not start with T<annotator>[-A<n>]: {line[:60]!r}", number)
                if dash:
                    targets[int(annotator)] = tuple(rest.split(" ")) if rest else ()
                    current = []
                    alignments.setdefault(int(annotator), []).append(current)
                else:
                    markers[int(annotator)] = rest
                    current = None
                continue
            edit = _edit_in(source, line, number)
            if current is not None:
                current.append(edit)
            elif edit.annotator not in markers:
                alignments.setdefault(edit.annotator, [[]])[0].append(edit)
        annotations = tuple(
            Annotation(k, (), marker=markers[k]) if k in markers else
            Annotation(k, targets.get(k, ()), tuple(tuple(edits) for edits in alignments[k]))
            for k in sorted(set(markers) | set(alignments)))
        blocks.append(Block(source, annotations))
    return blocks


def format_blocks(blocks: Iterable[Block]) -> str:
    return "".join(format_block(block) for block in blocks)


def split_blocks(text: str) -> list[str]:
    """The blocks of M2 text, each ending with its blank separator line as `format_block` writes."""
    return [block + "\n\n" for block in text.strip("\n").split("\n\n")] if text.strip() else []


def annotator_block(block: str, annotator: int) -> str | None:
    """The block as if annotator `annotator` were the only one, relabelled 0: how a hypothesis
    equal to that reference is annotated. None when the block has no lines for it."""
    lines = block.rstrip("\n").split("\n")
    out = [lines[0]]
    header = f"T{annotator}"
    for line in lines[1:]:
        if line.startswith("T"):
            name, _, rest = line.partition(" ")
            if name == header or name.startswith(header + "-"):
                out.append("T0" + name[len(header):] + " " + rest)
        elif line.startswith("A "):
            body, _, last = line.rpartition("|||")
            if last == str(annotator):
                out.append(body + "|||0")
    if len(out) == 1:
        return None
    return "\n".join(out) + "\n\n"


def maxmatch_gold(text: str) -> str:
    """M2Scorer gold from a ChERRANT reference M2 (our reconstruction of the NLPCC 2023 word
    gold): T lines dropped, only each annotator's first alignment (A0) kept, NA -> noop, and
    a block left without edits gets annotator 0's noop."""
    out: list[str] = []
    for block in split_blocks(text):
        lines = block.rstrip("\n").split("\n")
        kept = [lines[0]]
        keeping = True
        for line in lines[1:]:
            if line.startswith("T"):
                name = line.partition(" ")[0]
                keeping = "-" not in name or name.endswith("-A0")
            elif line.startswith("A ") and keeping:
                fields = line.split("|||")
                if fields[1] == NOT_ANNOTATABLE:
                    fields[1] = NOOP
                kept.append("|||".join(fields))
        if len(kept) == 1:
            kept.append("A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0")
        out.append("\n".join(kept) + "\n\n")
    return "".join(out)
