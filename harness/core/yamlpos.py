"""Where a value sits in a YAML file: the line of a key path in the composed node tree, so that
a schema error names the line a person has to fix (configs, the benchmark registry)."""

from __future__ import annotations

from typing import Sequence

import yaml


def line_of(node: yaml.Node | None, location: Sequence[str | int]) -> int | None:
    """The line of the value (or of its key) at `location` (mapping keys and sequence indices,
    as pydantic reports them), or of the deepest part of it the file has."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
