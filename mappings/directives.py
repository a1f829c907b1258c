"""The field-mapping language: Segment mapping-kit's directives, compiled once into functions.

A mapping is JSON. Plain values are copied; an object whose only ``@``-key is a directive
(``{"@path": "$.userId"}``; a ``_metadata`` key may stand beside it) is evaluated against the
event. A value that resolves to "missing" drops its key; ``null`` stays. :func:`compile_mapping`
checks the whole mapping up front and raises :class:`MappingError` with a JSON pointer to
the spot; evaluating never raises anything but :class:`MappingFailed`.

Each directive compiles into a node (a small function); :func:`compile_mapping` then writes
the whole mapping out as one Python function (:mod:`.codegen`), inlining paths, objects,
``@if``, ``@coalesce``, ``@case``, ``@template`` and the like, and calling the other nodes.

destkit extensions (not in Segment): ``@coalesce`` and ``@hash``; ``@path`` accepts full
JSONPath; ``@replace`` has no 10-character limit; ``@case`` and ``@replace`` are checked
when the mapping compiles instead of when an event arrives.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import MappingError, MappingFailed
from .codegen import Source, as_function, emit, literal
from .jsvalues import MISSING, js_json, js_string, js_truthy
from .paths import compile_path

__all__ = ["compile_mapping", "DIRECTIVES", "Node"]

Node = Callable[[Any], Any]
_Compiler = Callable[[Any, str], Node]
DIRECTIVES: dict[str, _Compiler] = {}


def compile_mapping(mapping: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Compile a mapping (an object of fields) into ``event -> payload``.

    Raises :class:`MappingError` naming the spot, e.g. ``/traits/@if/then: ...``.
    """
    if not isinstance(mapping, dict):
        raise MappingError(f"a mapping is an object of fields, not {type(mapping).__name__}")
    if _directive_name(mapping, "") is not None:
        raise MappingError("a mapping is an object of fields; put the directive under a field name")
    try:
        node = compile_node(mapping, "")
    except RecursionError:
        raise MappingError("the mapping nests too deeply") from None
    written = as_function(node, "mapping", wrap=_as_mapping_failed)
    if written is not None:
        return written

    def apply(event: dict[str, Any]) -> dict[str, Any]:  # the same, one node calling the next
        try:
            result: dict[str, Any] = node(event)
        except Exception as exc:
            wrapped = _as_mapping_failed(exc)
            if wrapped is exc:
                raise
            raise wrapped from exc
        return result

    return apply


def _as_mapping_failed(exc: Exception) -> Exception:
    if isinstance(exc, MappingFailed):
        return exc
    # An evaluation bug must not end a run: it is this event's failure.
    return MappingFailed(f"mapping could not be applied: {type(exc).__name__}: {exc}")


# --- the generic part: objects, arrays, literals ------------------------------------------------


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _directive_name(value: dict[str, Any], pointer: str) -> str | None:
    keys = [key for key in value if isinstance(key, str) and key.startswith("@")]
    if not keys:
        return None
    if len(keys) > 1:
        raise MappingError(f"an object holds one directive at most, found {', '.join(keys)}", pointer)
    others = [key for key in value if key not in (keys[0], "_metadata")]
    if others:
        raise MappingError(
            f"directive {keys[0]} cannot sit beside plain keys ({', '.join(map(str, others))}); nest it under its own key",
            pointer,
        )
    return keys[0]


def compile_node(value: Any, pointer: str) -> Node:
    """Compile any mapping value found at ``pointer``."""
    if isinstance(value, dict):
        name = _directive_name(value, pointer)
        if name is not None:
            compiler = DIRECTIVES.get(name)
            if compiler is None:
                known = ", ".join(sorted(DIRECTIVES))
                raise MappingError(f"unknown directive {name} (known: {known})", pointer)
            return compiler(value[name], f"{pointer}/{_escape(name)}")
        return _object_node(value, pointer)
    if isinstance(value, list):
        return _array_node(value, pointer)
    if value is None or isinstance(value, (str, int, float, bool)):
        return _constant(value)
    raise MappingError(f"{type(value).__name__} is not a JSON value", pointer)


def _constant(value: Any) -> Node:
    def constant(_: Any) -> Any:
        return value

    constant.constant = True  # type: ignore[attr-defined]
    constant.emit = lambda source, arg, depth: "M" if value is MISSING else literal(source, value)  # type: ignore[attr-defined]
    return constant


def _is_missing_constant(node: Node) -> bool:
    return getattr(node, "constant", False) and node(None) is MISSING


def _object_node(value: dict[str, Any], pointer: str) -> Node:
    items = tuple((key, compile_node(item, f"{pointer}/{_escape(str(key))}")) for key, item in value.items())

    def obj(event: Any) -> Any:
        out = {}
        for key, node in items:
            resolved = node(event)
            if resolved is not MISSING:
                out[key] = resolved
        return out

    def emit_object(source: Source, arg: str, depth: int) -> str:
        out = source.temp()
        source.line(f"{out} = {{}}", depth)
        for key, node in items:
            if _is_missing_constant(node):
                continue
            target = f"{out}[{literal(source, key)}]"
            if getattr(node, "constant", False):
                source.line(f"{target} = {literal(source, node(None))}", depth)
            else:
                value = emit(node, source, arg, depth)
                source.line(f"if {value} is not M: {target} = {value}", depth)
        return out

    obj.emit = emit_object  # type: ignore[attr-defined]
    return obj


def _array_node(value: list[Any], pointer: str) -> Node:
    nodes = tuple(compile_node(item, f"{pointer}/{index}") for index, item in enumerate(value))

    def array(event: Any) -> Any:
        # JSON has no "missing": a missing item becomes null, as JSON.stringify makes it.
        return [None if (resolved := node(event)) is MISSING else resolved for node in nodes]

    def emit_array(source: Source, arg: str, depth: int) -> str:
        values = [emit(node, source, arg, depth) for node in nodes]
        out = source.temp()
        source.line(f"{out} = [{', '.join(f'None if {value} is M else {value}' for value in values)}]", depth)
        return out

    array.emit = emit_array  # type: ignore[attr-defined]
    return array


def directive(name: str) -> Callable[[_Compiler], _Compiler]:
    def register(compiler: _Compiler) -> _Compiler:
        DIRECTIVES[name] = compiler
        return compiler

    return register


def _options(arg: Any, pointer: str, name: str, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(arg, dict):
        raise MappingError(f"{name} takes an object with {', '.join(sorted(required or allowed))}", pointer)
    unknown = set(arg) - allowed
    if unknown:
        raise MappingError(f"{name} has no option {', '.join(sorted(unknown))} (it takes {', '.join(sorted(allowed))})", pointer)
    for key in sorted(required):
        if key not in arg:
            raise MappingError(f"{name} needs a {key!r} key", pointer)
    return arg


def _value_node(options: dict[str, Any], pointer: str) -> Node:
    """The ``value`` of an option object; Segment resolves nothing when it is a falsy literal."""
    raw = options.get("value", MISSING)
    if not js_truthy(raw):
        return _constant(MISSING)
    return compile_node(raw, f"{pointer}/value")


# --- reading ------------------------------------------------------------------------------------


@directive("@path")
def _path(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, str):
        raise MappingError(f'@path takes a path string such as "$.traits.email", not {type(arg).__name__}', pointer)
    try:
        return compile_path(arg)
    except ValueError as exc:
        raise MappingError(str(exc), pointer) from None


@directive("@literal")
def _literal(arg: Any, pointer: str) -> Node:
    return compile_node(arg, pointer)  # Segment resolves the value, directives included


_PLACEHOLDER = re.compile(r"\{\{\{([^}]+)\}\}\}|\{\{([^}]+)\}\}")
_HTML_ENTITIES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "/": "&#x2F;", "`": "&#x60;", "=": "&#x3D;"}
)


@directive("@template")
def _template(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, str):
        raise MappingError(f"@template takes a string, not {type(arg).__name__}", pointer)
    parts: list[str | tuple[Node, bool]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(arg):
        if match.start() > position:
            parts.append(arg[position : match.start()])
        raw, escaped = match.group(1), match.group(2)
        try:
            getter = compile_path((raw or escaped).strip())
        except ValueError as exc:
            raise MappingError(str(exc), pointer) from None
        parts.append((getter, escaped is not None))  # {{x}} escapes HTML in strings, {{{x}}} does not
        position = match.end()
    if position < len(arg):
        parts.append(arg[position:])
    if all(isinstance(part, str) for part in parts):
        return _constant(arg)

    def template(event: Any) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
                continue
            getter, escape = part
            value = getter(event)
            if value is MISSING or value is None:
                continue
            text = js_string(value)
            out.append(text.translate(_HTML_ENTITIES) if escape and isinstance(value, str) else text)
        return "".join(out)

    def emit_template(source: Source, arg: str, depth: int) -> str:
        pieces = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(repr(part))
                continue
            getter, escape = part
            v = emit(getter, source, arg, depth)
            to_text = source.names.setdefault("_js_string", js_string) and "_js_string"
            as_string = f"{v}.translate({source.bind(_HTML_ENTITIES)})" if escape else v
            pieces.append(f'("" if {v} is M or {v} is None else {as_string} if isinstance({v}, str) else {to_text}({v}))')
        out = source.temp()
        source.line(f"{out} = {' + '.join(pieces)}", depth)
        return out

    template.emit = emit_template  # type: ignore[attr-defined]
    return template


@directive("@arrayPath")
def _array_path(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, list) or not 1 <= len(arg) <= 2:
        raise MappingError("@arrayPath takes [path] or [path, item shape]", pointer)
    path = arg[0]
    if isinstance(path, str):
        root = _path(path, f"{pointer}/0")
    else:
        root = compile_node(path, f"{pointer}/0")
    shape = arg[1] if len(arg) == 2 else None
    if shape is not None and not isinstance(shape, dict):
        raise MappingError("@arrayPath's item shape must be an object", f"{pointer}/1")
    if not shape:
        return root
    item_node = compile_node(shape, f"{pointer}/1")  # evaluated with each item as its root
    item = as_function(item_node, "item") or item_node

    def array_path(event: Any) -> Any:
        value = root(event)
        if isinstance(value, list):
            return [item(element) for element in value]
        if isinstance(value, dict):
            return [item(value)]  # a single object is treated as a list of one
        return value

    return array_path


# --- choosing -----------------------------------------------------------------------------------


def _js_blank(value: Any) -> bool:
    """Segment's ``blank`` test: missing, null, or loosely equal to "" in JavaScript."""
    if value is MISSING or value is None:
        return True
    if isinstance(value, bool):
        return value is False
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, str):
        return value == ""
    if isinstance(value, list):
        return js_string(value) == ""
    return False


@directive("@if")
def _if(arg: Any, pointer: str) -> Node:
    options = _options(arg, pointer, "@if", {"exists", "blank", "then", "else"})
    if "exists" in options:
        tested = compile_node(options["exists"], f"{pointer}/exists")

        def condition(event: Any) -> bool:
            value = tested(event)
            return value is not MISSING and value is not None

    elif "blank" in options:
        tested = compile_node(options["blank"], f"{pointer}/blank")

        def condition(event: Any) -> bool:
            return not _js_blank(tested(event))

    else:
        raise MappingError("@if needs an 'exists' or a 'blank' key", pointer)
    if "then" not in options and "else" not in options:
        raise MappingError("@if needs a 'then' or an 'else' branch", pointer)
    then = compile_node(options["then"], f"{pointer}/then") if "then" in options else _constant(MISSING)
    # Segment takes `else` only when the else value itself is truthy.
    otherwise = (
        compile_node(options["else"], f"{pointer}/else") if js_truthy(options.get("else", MISSING)) else _constant(MISSING)
    )

    def if_(event: Any) -> Any:
        return then(event) if condition(event) else otherwise(event)

    exists = "exists" in options

    def emit_if(source: Source, arg: str, depth: int) -> str:
        value = emit(tested, source, arg, depth)
        if exists:
            source.line(f"if {value} is not M and {value} is not None:", depth)
        else:
            source.line(f"if not {source.bind(_js_blank)}({value}):", depth)
        result = source.temp()
        source.line(f"{result} = {emit(then, source, arg, depth + 1)}", depth + 1)
        source.line("else:", depth)
        source.line(f"{result} = {emit(otherwise, source, arg, depth + 1)}", depth + 1)
        return result

    if_.emit = emit_if  # type: ignore[attr-defined]
    return if_


@directive("@coalesce")
def _coalesce(arg: Any, pointer: str) -> Node:
    if not isinstance(arg, list) or not arg:
        raise MappingError("@coalesce takes a non-empty list of values to try in turn", pointer)
    nodes = tuple(compile_node(item, f"{pointer}/{index}") for index, item in enumerate(arg))

    def coalesce(event: Any) -> Any:
        for node in nodes:
            value = node(event)
            if value is not MISSING and value is not None:
                return value
        return MISSING

    def emit_coalesce(source: Source, arg: str, depth: int) -> str:
        result = source.temp()
        for node in nodes:  # each next try sits in the previous one's else branch
            value = emit(node, source, arg, depth)
            source.line(f"if {value} is not M and {value} is not None:", depth)
            source.line(f"{result} = {value}", depth + 1)
            source.line("else:", depth)
            depth += 1
        source.line(f"{result} = M", depth)
        return result

    coalesce.emit = emit_coalesce  # type: ignore[attr-defined]
    return coalesce


@directive("@excludeWhenNull")
def _exclude_when_null(arg: Any, pointer: str) -> Node:
    inner = compile_node(arg, pointer)

    def exclude_when_null(event: Any) -> Any:
        value = inner(event)
        return MISSING if value is None else value

    def emit_exclude(source: Source, arg: str, depth: int) -> str:
        value = emit(inner, source, arg, depth)
        result = source.temp()
        source.line(f"{result} = M if {value} is None else {value}", depth)
        return result

    exclude_when_null.emit = emit_exclude  # type: ignore[attr-defined]
    return exclude_when_null


# --- transforming -------------------------------------------------------------------------------


@directive("@case")
def _case(arg: Any, pointer: str) -> Node:
    options = _options(arg, pointer, "@case", {"operator", "value"}, {"operator", "value"})
    operator = options["operator"]
    if operator not in ("lower", "upper"):
        raise MappingError(f'@case operator must be "lower" or "upper", not {operator!r}', f"{pointer}/operator")
    value = _value_node(options, pointer)
    convert = str.lower if operator == "lower" else str.upper

    def case(event: Any) -> Any:
        resolved = value(event)
        return convert(resolved) if isinstance(resolved, str) else resolved

    def emit_case(source: Source, arg: str, depth: int) -> str:
        resolved = emit(value, source, arg, depth)
        result = source.temp()
        source.line(f"{result} = {resolved}.{operator}() if isinstance({resolved}, str) else {resolved}", depth)
        return result

    case.emit = emit_case  # type: ignore[attr-defined]
    return case


def _literal_replacement(text: str | None) -> str:
    return (text or "").replace("\\", "\\\\")


@directive("@replace")
def _replace(arg: Any, pointer: str) -> Node:
    allowed = {"pattern", "replacement", "pattern2", "replacement2", "ignorecase", "global", "value"}
    options = _options(arg, pointer, "@replace", allowed, {"pattern", "value"})
    for key in ("pattern", "replacement", "pattern2", "replacement2"):
        if key in options and options[key] is not None and not isinstance(options[key], str):
            raise MappingError(f"@replace {key} must be a string", f"{pointer}/{key}")
    for key in ("ignorecase", "global"):
        if key in options and options[key] is not None and not isinstance(options[key], bool):
            raise MappingError(f"@replace {key} must be true or false", f"{pointer}/{key}")
    if not options["pattern"]:
        raise MappingError("@replace needs a non-empty pattern", f"{pointer}/pattern")
    flags = re.IGNORECASE if options.get("ignorecase") else 0
    count = 0 if options.get("global", True) is not False else 1
    # Replacements are literal text: backslashes are escaped so re.sub reads no group references.
    steps = [(re.compile(re.escape(options["pattern"]), flags), _literal_replacement(options.get("replacement")))]
    if options.get("pattern2"):
        steps.append((re.compile(re.escape(options["pattern2"]), flags), _literal_replacement(options.get("replacement2"))))
    value = _value_node(options, pointer)
    value_given = js_truthy(options["value"])

    def replace(event: Any) -> Any:
        if not value_given:
            return MISSING
        resolved = value(event)
        if isinstance(resolved, (bool, int, float)):
            resolved = js_string(resolved)
        if not isinstance(resolved, str):
            return ""  # Segment gives an empty string for a missing or non-text value
        for pattern, replacement in steps:
            resolved = pattern.sub(replacement, resolved, count=count)
        return resolved

    return replace


@directive("@json")
def _json(arg: Any, pointer: str) -> Node:
    options = _options(arg, pointer, "@json", {"mode", "value"}, {"mode", "value"})
    mode = options["mode"]
    if mode not in ("encode", "decode"):
        raise MappingError(f'@json mode must be "encode" or "decode", not {mode!r}', f"{pointer}/mode")
    value = _value_node(options, pointer)
    if mode == "encode":
        return lambda event: js_json(value(event))

    def decode(event: Any) -> Any:
        resolved = value(event)
        if not isinstance(resolved, str):
            return resolved
        try:
            return json.loads(resolved)
        except ValueError:
            return resolved  # a failed decode keeps the raw string

    return decode


def _flatten_value(value: Any, prefix: str, separator: str, omit_arrays: bool, out: dict[str, Any]) -> None:
    if isinstance(value, dict) or (not omit_arrays and isinstance(value, list)):
        entries = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in entries:
            _flatten_value(item, f"{prefix}{separator}{key}" if prefix else str(key), separator, omit_arrays, out)
    elif value is not MISSING:
        out[prefix] = value


@directive("@flatten")
def _flatten(arg: Any, pointer: str) -> Node:
    options = _options(arg, pointer, "@flatten", {"separator", "value", "omitArrays"}, {"separator"})
    if not js_truthy(options["separator"]):
        raise MappingError("@flatten needs a non-empty separator", f"{pointer}/separator")
    separator = compile_node(options["separator"], f"{pointer}/separator")
    value = compile_node(options["value"], f"{pointer}/value") if "value" in options else _constant(MISSING)
    omit_arrays = bool(options.get("omitArrays"))

    def flatten(event: Any) -> Any:
        sep = separator(event)
        if not isinstance(sep, str):
            raise MappingFailed(f"@flatten separator resolved to {js_string(sep)!r}, not a string ({pointer})")
        out: dict[str, Any] = {}
        _flatten_value(value(event), "", sep, omit_arrays, out)
        return out

    return flatten


@directive("@merge")
def _merge(arg: Any, pointer: str) -> Node:
    options = _options(arg, pointer, "@merge", {"objects", "direction"}, {"objects", "direction"})
    if not isinstance(options["objects"], list):
        raise MappingError("@merge objects must be a list", f"{pointer}/objects")
    direction = options["direction"]
    if isinstance(direction, str) and direction not in ("left", "right"):
        raise MappingError(f'@merge direction must be "left" or "right", not {direction!r}', f"{pointer}/direction")
    direction_node = compile_node(direction, f"{pointer}/direction")
    objects = tuple(compile_node(item, f"{pointer}/objects/{i}") for i, item in enumerate(options["objects"]))

    def merge(event: Any) -> Any:
        resolved = [node(event) for node in objects]
        if direction_node(event) == "left":
            resolved.reverse()  # with "left", earlier objects win
        out: dict[str, Any] = {}
        for item in resolved:
            if isinstance(item, dict):
                out.update(item)
        return out

    return merge


@directive("@transform")
def _transform(arg: Any, pointer: str) -> Node:
    options = _options(arg, pointer, "@transform", {"apply", "mapping"}, {"apply", "mapping"})
    if not isinstance(options["apply"], dict):
        raise MappingError("@transform apply must be an object", f"{pointer}/apply")
    apply = compile_node(options["apply"], f"{pointer}/apply")
    mapping = compile_node(options["mapping"], f"{pointer}/mapping")

    def transform(event: Any) -> Any:
        return mapping(apply(event))  # the mapping reads the applied object, not the event

    def emit_transform(source: Source, arg: str, depth: int) -> str:
        applied = emit(apply, source, arg, depth)
        return emit(mapping, source, applied, depth)

    transform.emit = emit_transform  # type: ignore[attr-defined]
    return transform


_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@directive("@hash")
def _hash(arg: Any, pointer: str) -> Node:
    inner = compile_node(arg, pointer)

    def hash_(event: Any) -> Any:
        value = inner(event)
        if value is MISSING or value is None:
            return value
        text = js_string(value).strip().lower()
        if _SHA256_HEX.match(text):
            return text  # already hashed: hashing twice would break matching
        return hashlib.sha256(text.encode()).hexdigest()

    return hash_
