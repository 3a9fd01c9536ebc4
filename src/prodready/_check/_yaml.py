"""YAML loading that remembers lines, so a finding can point at the line to change."""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["LineDict", "LineList", "line_of", "load_all"]


class LineDict(dict[Any, Any]):
    """A YAML mapping that knows its own line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_at(self, key: Any) -> int:
        """Return the line of `key`, or the mapping's own line when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence that knows its own line and each item's line (1-based)."""

    line: int = 0
    item_lines: list[int]


# libyaml's parser when PyYAML was built with it: several times faster on big manifests.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader building LineDict and LineList instead of dict and list."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # a complex key: no manifest or workflow uses one
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(item, deep=True) for item in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
# Tags such as GitLab's `!reference` are not ours to resolve: keep their plain value.
_Loader.add_multi_constructor(
    "!",
    lambda loader, _suffix, node: (
        loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else _sequence(loader, node)
        if isinstance(node, yaml.SequenceNode)
        else _mapping(loader, node)
    ),
)


def load_all(text: str) -> list[Any]:
    """Every document of a YAML stream (empty documents left out).

    Raises:
        yaml.YAMLError: The text is not YAML.

    """
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]


def line_of(value: Any, default: int | None = None) -> int | None:
    """Return the line a loaded mapping or sequence starts on, else `default`."""
    line = getattr(value, "line", 0)
    return line or default
