"""Read YAML fast (libyaml's CSafeLoader) and point at the line of a value only when something is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cruddur_ops.errors import InputError

_LOADER: type | None = None
_STRICT_ERROR: type = Exception  # replaced by a yaml ConstructorError subclass when _loader() first runs


def _loader():
    """libyaml's CSafeLoader (SafeLoader when libyaml is missing), made strict where YAML is silently lenient:
    a key written twice in one mapping and an impossible date (2023-02-29) are errors naming their line, not a
    value that quietly wins or a traceback."""
    global _LOADER, _STRICT_ERROR
    if _LOADER is None:
        import yaml

        class StrictError(yaml.constructor.ConstructorError):
            """A value YAML accepts but cruddur refuses; its message stands alone."""

            def __init__(self, problem, mark):
                super().__init__(None, None, problem, mark)

        class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's, when present
            def construct_mapping(self, node, deep=False):
                if isinstance(node, yaml.MappingNode) and len(node.value) > 1:
                    seen: dict = {}
                    for key_node, _ in node.value:
                        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                            continue
                        key = (key_node.tag, key_node.value)
                        if key in seen:
                            raise StrictError(f"duplicate key '{key_node.value}' (first on line {seen[key]}); "
                                              "YAML would keep only the last one", key_node.start_mark)
                        seen[key] = key_node.start_mark.line + 1
                return super().construct_mapping(node, deep=deep)

            def construct_yaml_timestamp(self, node):
                try:
                    return super().construct_yaml_timestamp(node)
                except ValueError as exc:
                    raise StrictError(f"'{node.value}' is not a valid date/time ({exc})", node.start_mark) from None

        StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)
        _LOADER, _STRICT_ERROR = StrictLoader, StrictError
    return _LOADER


def _read_text(path: Path, error=InputError) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error("file not found", path=path) from None
    except IsADirectoryError:
        raise error("is a directory, not a file", path=path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", path=path, line=line) from None


def load(path: Path, error=InputError, *, cloudformation_tags: bool = False) -> Any:
    """Parse one YAML document; a syntax error becomes ``error`` naming the file and line."""
    import yaml

    text = _read_text(path, error)
    try:
        if cloudformation_tags:
            from cruddur_ops.io.cloudformation import loader as cloudformation_loader

            return yaml.load(text, Loader=cloudformation_loader())
        try:
            return _load_streaming(text)
        except _Unusual:  # explicit collection tags (!!set, !!omap…): PyYAML's own node-by-node way
            return yaml.load(text, Loader=_loader())
    except yaml.YAMLError as exc:
        raise yaml_error(exc, text, path, error) from None


def yaml_error(exc, text: str, path: Path, error=InputError) -> Exception:
    """A PyYAML error as ``error`` naming the file and line, worded for a person."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if isinstance(exc, _STRICT_ERROR):
            return error(exc.problem, path=path, line=line)
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None and _char_at(text, mark) == "\t":
            problem = f"a tab at column {mark.column + 1}: YAML indents with spaces, never tabs"
        elif exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
        return error(f"YAML syntax error: {problem}", path=path, line=line)
    return error(f"YAML error: {exc}", path=path)


class _Unusual(Exception):
    """Something the streaming builder leaves to PyYAML (an explicit tag on a collection, an unknown scalar tag)."""


def _load_streaming(text: str) -> Any:
    """``yaml.load(text, Loader=_loader())``, built straight from libyaml's events.

    PyYAML first composes a node for every value (each with two position marks) and only then constructs the
    data, so a 9 MB seed file peaks at about 200 MB of nodes; built event by event, it peaks at what it holds
    (about 40 MB) and parses several times faster. Scalars are resolved and constructed by the same loader
    (so ints, dates, nulls and the strict date check are PyYAML's), anchors, aliases and ``<<`` merges work,
    and a key written twice is the same error as in the strict loader.
    """
    import yaml
    from yaml.events import (
        AliasEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
    )
    from yaml.nodes import ScalarNode

    loader = _loader()(text)
    constructors = loader.yaml_constructors
    anchors: dict[str, Any] = {}

    def value() -> Any:
        event = loader.get_event()
        kind = type(event)
        if kind is ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            if tag == STR:
                result = event.value
            elif tag in constructors:
                result = constructors[tag](loader, ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                                              event.style))
            else:
                raise _Unusual
        elif kind is MappingStartEvent:
            if event.tag not in (None, "!", MAP):
                raise _Unusual
            result = {}
            if event.anchor is not None:
                anchors[event.anchor] = result
            lines: dict = {}
            merges: list = []
            while not loader.check_event(MappingEndEvent):
                key_event = loader.peek_event()
                if type(key_event) is ScalarEvent and key_event.tag is None and key_event.value == "<<" \
                        and key_event.implicit[0]:
                    loader.get_event()
                    merges.append(value())
                    continue
                key = value()
                try:
                    seen = key in lines
                except TypeError:
                    raise yaml.constructor.ConstructorError("while constructing a mapping", event.start_mark,
                                                            "found unhashable key", key_event.start_mark) from None
                if seen:
                    raise _STRICT_ERROR(f"duplicate key '{key_event.value}' (first on line {lines[key]}); "
                                        "YAML would keep only the last one", key_event.start_mark)
                lines[key] = key_event.start_mark.line + 1
                result[key] = value()
            loader.get_event()
            if merges:
                merged: dict = {}
                for merge in merges:
                    for part in merge if isinstance(merge, list) else [merge]:
                        if not isinstance(part, dict):
                            raise _Unusual  # PyYAML words this error
                        for k, v in part.items():
                            merged.setdefault(k, v)
                merged.update(result)
                result.clear()
                result.update(merged)
            return result
        elif kind is SequenceStartEvent:
            if event.tag not in (None, "!", SEQ):
                raise _Unusual
            result = []
            if event.anchor is not None:
                anchors[event.anchor] = result
            while not loader.check_event(SequenceEndEvent):
                result.append(value())
            loader.get_event()
            return result
        elif kind is AliasEvent:
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
            return anchors[event.anchor]
        else:
            raise _Unusual
        if event.anchor is not None:
            anchors[event.anchor] = result
        return result

    try:
        loader.get_event()  # StreamStart
        if loader.check_event(StreamEndEvent):
            return None
        start = loader.get_event()  # DocumentStart
        document = value()
        loader.get_event()  # DocumentEnd
        if not loader.check_event(StreamEndEvent):
            extra = loader.get_event()
            raise yaml.composer.ComposerError("expected a single document in the stream", start.start_mark,
                                              "but found another document", extra.start_mark)
        return document
    finally:
        loader.dispose()


STR, SEQ, MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def _char_at(text: str, mark) -> str:
    lines = text.splitlines()
    if 0 <= mark.line < len(lines) and 0 <= mark.column < len(lines[mark.line]):
        return lines[mark.line][mark.column]
    return ""


def line_of(path: Path, keypath: Sequence[str | int]) -> int | None:
    """The 1-based line of the value at ``keypath`` (mapping keys and list indexes), or of its nearest parent.

    Composes the node tree again, so call it only to report an error.
    """
    import yaml

    try:
        node = yaml.compose(_read_text(path), Loader=_loader())
    except (yaml.YAMLError, InputError):
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in keypath:
        if isinstance(node, yaml.MappingNode):
            for knode, vnode in node.value:
                if knode.value == str(key):
                    node = vnode
                    # a key's own line reads best for scalars and block values alike
                    line = knode.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def dotted(keypath: Sequence[str | int]) -> str:
    """``["conversations", 2, "between"]`` -> ``conversations[2].between``."""
    out = ""
    for key in keypath:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out
