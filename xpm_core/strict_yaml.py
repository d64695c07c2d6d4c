"""YAML as users' files need it: a duplicate key, a recursive anchor or absurd nesting is an error.

PyYAML's ``safe_load`` keeps the last of two equal keys silently, builds self-containing lists
from recursive anchors (which later code walks forever) and nests as deep as the file does.
:func:`strict_load` refuses those with a ``yaml.YAMLError`` whose mark points at the place, so
callers report them like any other YAML error (``file:line:column: ...``).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode

#: Deepest nesting of mappings and lists accepted in a file.
MAX_DEPTH = 100
#: Most aliases (``*name``) a file may use: more is an expansion bomb, not a configuration.
MAX_ALIASES = 1000


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` refusing duplicate keys, recursive anchors, deep nesting and alias bombs."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            if event.anchor in self._open_anchors:
                raise ConstructorError(
                    None, None, f"the alias *{event.anchor} refers to its own anchor (a recursive structure)",
                    event.start_mark,
                )
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise ConstructorError(None, None, f"more than {MAX_ALIASES} aliases (*name) in one file",
                                       event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ConstructorError(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> Any:
        if isinstance(node, MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults` merges on purpose
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: SafeLoader reports it
                if first is not None:
                    raise ConstructorError(
                        None, None,
                        f"duplicate key {key!r}: first at line {first.line + 1}, again at line "
                        f"{key_node.start_mark.line + 1}",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def strict_load(text: str) -> Any:
    """The content of the YAML ``text``, loaded as :class:`StrictLoader` allows."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
