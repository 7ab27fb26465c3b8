"""Read YAML fast (libyaml's CSafeLoader) and point at the line of a value only when something is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from sys import intern
from typing import Any

from cruddur_ops.errors import InputError

# Hostile input is refused cheaply, with its line:
MAX_DEPTH = 300  # nested collections; deeper is an error (never a RecursionError)
ALIAS_EXPANSION_RATIO = 10  # the nodes aliases expand to may not exceed 10x the nodes written ...
ALIAS_EXPANSION_FLOOR = 10_000  # ... plus this many (small files may alias freely)

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
                        # keys equal in value are the same key however they are spelled (1 / 0x1, true / True),
                        # as in the streaming builder
                        key = _key_value(self.construct_object(key_node))
                        try:
                            hash(key)
                        except TypeError:
                            continue
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


_RAW_LOADER: type | None = None
RAW_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
            "tag:yaml.org,2002:timestamp")


def _raw_loader():
    """The strict loader, keeping scalars that YAML would retype as :class:`Text` (for ``raw_text``)."""
    global _RAW_LOADER
    if _RAW_LOADER is None:
        strict: Any = _loader()

        class RawLoader(strict):  # a class made at run time by _loader()
            pass

        for tag in RAW_TAGS:
            typed = strict.yaml_constructors[tag]
            RawLoader.add_constructor(tag, lambda loader, node, typed=typed: Text(node.value, typed(loader, node)))
        _RAW_LOADER = RawLoader
    return _RAW_LOADER


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


def _open(path: Path, error=InputError):
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise error("file not found", path=path) from None
    except IsADirectoryError:
        raise error("is a directory, not a file", path=path) from None


class Text(str):
    """A scalar that YAML would resolve to something else (an int, a float, a bool, null, a date), kept as the
    text written: ``Text("010")`` with ``.value == 8``. Only ``load(..., raw_text=True)`` makes them."""

    __slots__ = ("value",)
    value: Any

    def __new__(cls, raw: str, value: Any):
        self = super().__new__(cls, raw)
        self.value = value
        return self


def plain(value: Any) -> Any:
    """``value`` with every :class:`Text` replaced by what YAML would have made of it."""
    if isinstance(value, Text):
        return value.value
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _key_value(key: Any) -> Any:
    return key.value if isinstance(key, Text) else key


def load(path: Path, error=InputError, *, cloudformation_tags: bool = False, raw_text: bool = False) -> Any:
    """Parse one YAML document; a syntax error becomes ``error`` naming the file and line.

    ``raw_text``: every scalar that is not text to YAML (``1:30``, ``0x1F``, ``010``, ``3.10``, ``yes``,
    ``1_000``, ``~``, dates) comes back as a :class:`Text` of exactly what was written, carrying YAML's value.

    The streaming loader reads the file in chunks (the text is never held whole), so a large file costs what
    its data costs; the text is read only to explain an error, or for the node-by-node loaders.
    """
    import yaml

    text: str | None = None

    def source() -> str:
        nonlocal text
        if text is None:
            text = _read_text(path, error)
        return text

    try:
        if cloudformation_tags:
            from cruddur_ops.io.cloudformation import loader as cloudformation_loader

            _check_limits(source())  # PyYAML's node-by-node way: refuse a bomb or deep nesting before it starts
            return yaml.load(source(), Loader=cloudformation_loader())
        try:
            with _open(path, error) as stream:
                return _load_streaming(stream, raw_text=raw_text)
        except _Unusual:  # explicit collection tags (!!set, !!omap…): PyYAML's own node-by-node way
            _check_limits(source())
            return yaml.load(source(), Loader=_raw_loader() if raw_text else _loader())
    except _LimitError as exc:
        raise error(exc.problem, path=path, line=exc.line) from None
    except yaml.reader.ReaderError as exc:  # a NUL or another control character: line and column, not an offset
        source()  # not UTF-8 at all: that error, with its line
        at_line, column = _line_column(path.read_bytes(), exc.position)
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise error(f"control character {what} at column {column}: {exc.reason}", path=path, line=at_line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if isinstance(exc, _STRICT_ERROR):
            raise error(exc.problem, path=path, line=line) from None
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None and _char_at(source(), mark) == "\t":
            problem = f"a tab at column {mark.column + 1}: YAML indents with spaces, never tabs"
        elif exc.context and exc.problem and exc.context_mark is not None:
            problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise error(f"YAML syntax error: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML error: {exc}", path=path) from None


class _Unusual(Exception):
    """Something the streaming builder leaves to PyYAML (an explicit tag on a collection, an unknown scalar tag)."""


def _load_streaming(stream, *, raw_text: bool = False) -> Any:
    """``yaml.load(stream, Loader=_loader())``, built straight from libyaml's events (``stream``: a binary file).

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

    loader = _loader()(stream)
    constructors = loader.yaml_constructors
    anchors: dict[str, Any] = {}
    # nodes written, nodes after alias expansion (an alias counts as its anchor's size), each anchor's size
    count = [0, 0]
    sizes: dict[str, int] = {}
    depth = [0]
    anchor_marks: dict[str, Any] = {}

    def anchor(event, result) -> None:
        if event.anchor in anchor_marks:  # as PyYAML's composer says it
            raise yaml.composer.ComposerError(f"found duplicate anchor {event.anchor!r}; first occurrence",
                                              anchor_marks[event.anchor], "second occurrence", event.start_mark)
        anchor_marks[event.anchor] = event.start_mark
        anchors[event.anchor] = result

    def value() -> Any:
        event = loader.get_event()
        kind = type(event)
        count[0] += 1
        count[1] += 1
        if kind is ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            if tag == STR:
                result = event.value
            elif tag in constructors:
                result = constructors[tag](loader, ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                                              event.style))
                if raw_text and tag in RAW_TAGS:
                    result = Text(event.value, result)
            else:
                raise _Unusual
        elif kind is MappingStartEvent:
            if event.tag not in (None, "!", MAP):
                raise _Unusual
            result = {}
            before = count[1]
            depth[0] += 1
            if depth[0] > MAX_DEPTH:
                raise _too_deep(event)
            if event.anchor is not None:
                anchor(event, result)
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
                if type(key) is str:
                    key = intern(key)  # keys repeat (handles, field names): one copy each
                try:
                    seen = _key_value(key) in lines
                except TypeError:
                    raise yaml.constructor.ConstructorError("while constructing a mapping", event.start_mark,
                                                            "found unhashable key", key_event.start_mark) from None
                if seen:
                    raise _STRICT_ERROR(f"duplicate key '{key_event.value}' (first on line {lines[_key_value(key)]}); "
                                        "YAML would keep only the last one", key_event.start_mark)
                lines[_key_value(key)] = key_event.start_mark.line + 1
                result[key] = value()
            loader.get_event()
            depth[0] -= 1
            if event.anchor is not None:
                sizes[event.anchor] = count[1] - before + 1
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
            before = count[1]
            depth[0] += 1
            if depth[0] > MAX_DEPTH:
                raise _too_deep(event)
            if event.anchor is not None:
                anchor(event, result)
            while not loader.check_event(SequenceEndEvent):
                result.append(value())
            loader.get_event()
            depth[0] -= 1
            if event.anchor is not None:
                sizes[event.anchor] = count[1] - before + 1
            return result
        elif kind is AliasEvent:
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
            count[0] -= 1
            count[1] += sizes.get(event.anchor, 1) - 1  # an anchor not closed yet is recursive: one node
            if count[1] > ALIAS_EXPANSION_RATIO * count[0] + ALIAS_EXPANSION_FLOOR:
                raise _alias_bomb(event, count[0], count[1])
            return anchors[event.anchor]
        else:
            raise _Unusual
        if event.anchor is not None:
            anchor(event, result)
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


class _LimitError(Exception):
    """Input refused before it costs memory or stack: an alias bomb, or nesting too deep."""

    def __init__(self, problem: str, line: int):
        super().__init__(problem)
        self.problem, self.line = problem, line


def _too_deep(event) -> _LimitError:
    return _LimitError(f"nested more than {MAX_DEPTH} levels deep (lists and mappings inside each other)",
                       event.start_mark.line + 1)


def _alias_bomb(event, written: int, expanded: int) -> _LimitError:
    return _LimitError(
        f"alias *{event.anchor} expands the document past {ALIAS_EXPANSION_RATIO}x its own {written:,} nodes "
        f"(already {expanded:,}): refusing a YAML alias bomb", event.start_mark.line + 1)


def _check_limits(text: str) -> None:
    """The streaming loader's limits (depth, alias expansion) on the events alone, for the loaders that
    compose PyYAML nodes (CloudFormation templates, explicit collection tags). Builds nothing."""
    from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    loader = _loader()(text)
    written = expanded = 0
    starts: list[tuple[str | None, int]] = []  # open collections: (anchor, expanded count at start)
    sizes: dict[str, int] = {}
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, AliasEvent):
                expanded += sizes.get(event.anchor or "", 1)
                if expanded > ALIAS_EXPANSION_RATIO * written + ALIAS_EXPANSION_FLOOR:
                    raise _alias_bomb(event, written, expanded)
            elif isinstance(event, CollectionStartEvent):
                written += 1
                expanded += 1
                starts.append((event.anchor, expanded))
                if len(starts) > MAX_DEPTH:
                    raise _too_deep(event)
            elif isinstance(event, CollectionEndEvent):
                anchor, at = starts.pop()
                if anchor is not None:
                    sizes[anchor] = expanded - at + 1
            elif isinstance(event, NodeEvent):  # a scalar
                written += 1
                expanded += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
    finally:
        loader.dispose()


def _line_column(data: bytes, position: int) -> tuple[int, int]:
    """1-based line and column (in characters) of libyaml's byte offset into the UTF-8 ``data``."""
    start = data.rfind(b"\n", 0, position) + 1
    return data.count(b"\n", 0, position) + 1, len(data[start:position].decode("utf-8", "replace")) + 1


def _char_at(text: str, mark) -> str:
    lines = text.splitlines()
    if 0 <= mark.line < len(lines) and 0 <= mark.column < len(lines[mark.line]):
        return lines[mark.line][mark.column]
    return ""


def line_of(path: Path, keypath: Sequence[str | int]) -> int | None:
    """The 1-based line of the value at ``keypath`` (mapping keys and list indexes), or of its nearest parent.

    Reads the file again as a stream of parser events, skipping what is not on the way, so it holds no more
    than one event at a time: the line of one bad value in a 166 MB file costs no memory to find. Call it only
    to report an error.
    """
    import yaml
    from yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    def skip(event) -> None:
        """Consume the rest of the node ``event`` starts."""
        if isinstance(event, CollectionStartEvent):
            depth = 1
            while depth:
                inner = loader.get_event()
                if inner is None:
                    raise yaml.YAMLError("the stream ended inside a collection")
                if isinstance(inner, CollectionStartEvent):
                    depth += 1
                elif isinstance(inner, CollectionEndEvent):
                    depth -= 1

    try:
        stream = path.open("rb")
    except OSError:
        return None
    loader = _loader()(stream)
    try:
        loader.get_event()  # StreamStart
        if not loader.check_event(yaml.events.DocumentStartEvent):
            return None
        loader.get_event()
        node = loader.get_event()
        line = node.start_mark.line + 1
        for key in keypath:
            if isinstance(node, MappingStartEvent):
                while not loader.check_event(MappingEndEvent, SequenceEndEvent):
                    key_event = loader.get_event()
                    if isinstance(key_event, ScalarEvent) and key_event.value == str(key):
                        node = loader.get_event()
                        if key_event.start_mark is not None:  # a key's own line reads best for any value
                            line = key_event.start_mark.line + 1
                        break
                    skip(key_event)
                    skip(loader.get_event())
                else:
                    return line
            elif isinstance(node, SequenceStartEvent) and isinstance(key, int):
                for _ in range(key):
                    if loader.check_event(MappingEndEvent, SequenceEndEvent):
                        return line
                    skip(loader.get_event())
                if loader.check_event(MappingEndEvent, SequenceEndEvent):
                    return line
                node = loader.get_event()
                line = node.start_mark.line + 1
            else:  # a scalar, an alias, or a list asked for a key
                return line
            if isinstance(node, AliasEvent):
                return line
        return line
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
        stream.close()


def dotted(keypath: Sequence[str | int]) -> str:
    """``["conversations", 2, "between"]`` -> ``conversations[2].between``."""
    out = ""
    for key in keypath:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def yaml_error(exc, text: str, path: Path, error=InputError) -> Exception:
    """A PyYAML error as ``error`` naming the file and line, worded for a person (for readers that compose the
    nodes themselves, as the CloudFormation reader does)."""
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
