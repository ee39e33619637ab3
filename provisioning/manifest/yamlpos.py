"""YAML with positions: the parsed data plus the line of every mapping key and list item (pure).

Errors then say "line 23" next to `rooms[2].devices[0].config.port`, and keys given twice (which
PyYAML would silently collapse to the last one) are caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

PathPart = str | int
Path = tuple[PathPart, ...]


class YamlSyntaxError(Exception):
    """The text is not valid YAML; `line` is 1-based (0 when unknown)."""

    code = "bad_yaml"

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """Parsed YAML, the 1-based line of each path, and the paths of keys given more than once."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: tuple[Path, ...] = ()

    def line_of(self, path: Path) -> int:
        """The line of path, or of its nearest ancestor that has one (0: unknown)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 0


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], duplicates: list[Path]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            child = (*path, key)
            if key in seen:
                duplicates.append(child)
                lines[child] = key_node.start_mark.line + 1
            seen.add(key)
            lines.setdefault(child, key_node.start_mark.line + 1)
            _walk(value_node, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines, duplicates)


def load_yaml(text: str) -> YamlDoc:
    """Parse one YAML document with positions; YamlSyntaxError when it is not valid YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(f"not valid YAML: {err.problem or err}", line) from err
    except yaml.YAMLError as err:
        raise YamlSyntaxError(f"not valid YAML: {err}", 0) from err
    lines: dict[Path, int] = {}
    duplicates: list[Path] = []
    if root is not None:
        lines[()] = root.start_mark.line + 1
        _walk(root, (), lines, duplicates)
    return YamlDoc(data, lines, tuple(duplicates))


def format_path(path: Path) -> str:
    """A path as `rooms[2].devices[0].config.port`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
