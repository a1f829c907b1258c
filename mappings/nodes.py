"""The mapping language's building blocks: nodes, and the registry of directives.

A node is a function of the event (or, inside ``@arrayPath`` and ``@transform``, of another
value) to a JSON value or MISSING. :func:`compile_node` turns any mapping value into one:
plain values into constants, objects and arrays into nodes that build them, and objects with
an ``@``-key into what the directive of that name (registered with :func:`directive`) makes.
Nodes that can write themselves into generated code carry an ``emit`` (see :mod:`.codegen`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..errors import MappingError, MappingFailed, MappingWarning
from ..names import did_you_mean
from .codegen import Source, emit, literal
from .jsvalues import MISSING, js_truthy

__all__ = [
    "Node",
    "DIRECTIVES",
    "directive",
    "compile_node",
    "constant",
    "is_missing_constant",
    "options_of",
    "value_node",
    "escape_pointer",
    "directive_name",
    "check_kind",
    "may_leave_holes",
    "compile_raw",
    "unvalidated",
    "fails_when_evaluated",
]

Node = Callable[[Any], Any]
#: Whether Segment's validator looks at what is being compiled: it looks through objects and
#: directives' options, but not inside arrays, nor inside the object of an ``@literal`` or an
#: ``@excludeWhenNull``.
_VALIDATED: ContextVar[bool] = ContextVar("validated", default=True)
Compiler = Callable[[Any, str], Node]
DIRECTIVES: dict[str, Compiler] = {}


def escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def directive_name(value: dict[str, Any], pointer: str) -> str | None:
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
        name = directive_name(value, pointer)
        if name is not None:
            try:
                compiler = DIRECTIVES.get(name)
                if compiler is None:
                    known = ", ".join(sorted(DIRECTIVES))
                    raise MappingError(f"unknown directive {name}{did_you_mean(name, DIRECTIVES)} (known: {known})", pointer)
                return compiler(value[name], f"{pointer}/{escape_pointer(name)}")
            except MappingError as exc:
                if _VALIDATED.get():
                    raise
                return fails_when_evaluated(exc)
        return _object_node(value, pointer)
    if isinstance(value, list):
        return _array_node(value, pointer)
    if value is None or isinstance(value, (str, int, float, bool)):
        return constant(value)
    raise MappingError(f"{type(value).__name__} is not a JSON value", pointer)


def fails_when_evaluated(error: MappingError) -> Node:
    """What Segment's validator lets through and its evaluation refuses: the directive fails each
    event that evaluates it (an untaken branch never does), and compiling warns."""
    message = f"{error.reason} (Segment checks this only when evaluating it, so only an event that reaches it fails)"
    warnings.warn(MappingWarning(message, error.pointer), stacklevel=2)

    def failing(_: Any) -> Any:
        raise MappingFailed(f"{error.pointer}: {error.reason}")

    return failing


@contextmanager
def unvalidated() -> Iterator[None]:
    token = _VALIDATED.set(False)
    try:
        yield
    finally:
        _VALIDATED.reset(token)


def compile_raw(value: Any, pointer: str) -> Node:
    """Compile the argument of ``@literal`` or ``@excludeWhenNull``, which Segment's validator
    takes as a directive (checked) or any JSON value (what an object holds is not looked at)."""
    if isinstance(value, dict) and directive_name(value, pointer) is not None:
        return compile_node(value, pointer)
    with unvalidated():
        return compile_node(value, pointer)


def constant(value: Any) -> Node:
    def constant(_: Any) -> Any:
        return value

    constant.constant = True  # type: ignore[attr-defined]
    constant.emit = lambda source, arg, depth: "M" if value is MISSING else literal(source, value)  # type: ignore[attr-defined]
    return constant


def is_missing_constant(node: Node) -> bool:
    return getattr(node, "constant", False) and node(None) is MISSING


def _object_node(value: dict[str, Any], pointer: str) -> Node:
    items = tuple((key, compile_node(item, f"{pointer}/{escape_pointer(str(key))}")) for key, item in value.items())

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
            if is_missing_constant(node):
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
    with unvalidated():  # Segment's validator checks that an array is one, not what it holds
        nodes = tuple(compile_node(item, f"{pointer}/{index}") for index, item in enumerate(value))

    def array(event: Any) -> Any:
        # A missing item stays missing (JavaScript's undefined) until the payload is finished
        # (see js_output): @flatten and @merge leave it out, a finished payload holds null.
        return [node(event) for node in nodes]

    def emit_array(source: Source, arg: str, depth: int) -> str:
        values = [emit(node, source, arg, depth) for node in nodes]
        out = source.temp()
        source.line(f"{out} = [{', '.join(values)}]", depth)
        return out

    array.emit = emit_array  # type: ignore[attr-defined]
    return array


def may_leave_holes(value: Any) -> bool:
    """Whether a mapping holds an array with a directive in it, whose items may be missing."""
    if isinstance(value, list):
        return any(isinstance(item, (dict, list)) for item in value) or any(may_leave_holes(item) for item in value)
    if isinstance(value, dict):
        return any(may_leave_holes(item) for item in value.values())
    return False


def directive(name: str) -> Callable[[Compiler], Compiler]:
    def register(compiler: Compiler) -> Compiler:
        DIRECTIVES[name] = compiler
        return compiler

    return register


def options_of(arg: Any, pointer: str, name: str, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(arg, dict):
        raise MappingError(f"{name} takes an object with {', '.join(sorted(required or allowed))}", pointer)
    unknown = set(arg) - allowed
    if unknown:
        hints = "".join(did_you_mean(key, allowed) for key in sorted(unknown))
        raise MappingError(
            f"{name} has no option {', '.join(sorted(unknown))}{hints} (it takes {', '.join(sorted(allowed))})", pointer
        )
    for key in sorted(required):
        if key not in arg:
            raise MappingError(f"{name} needs a {key!r} key", pointer)
    return arg


def value_node(options: dict[str, Any], pointer: str) -> Node:
    """The ``value`` of an option object; Segment resolves nothing when it is a falsy literal."""
    raw = options.get("value", MISSING)
    if not js_truthy(raw):
        return constant(MISSING)
    return compile_node(raw, f"{pointer}/value")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "directive" if any(isinstance(key, str) and key.startswith("@") for key in value) else "object"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", type(None): "null"}.get(type(value), type(value).__name__)


def check_kind(value: Any, pointer: str, what: str, allowed: tuple[str, ...], evaluated_anyway: bool = False) -> None:
    """Refuse ``value`` unless it is one of the ``allowed`` kinds (string, object, directive...),
    as Segment's mapping validator does. ``evaluated_anyway``: Segment's evaluation takes any
    kind here, so where its validator does not look, neither does this check."""
    if evaluated_anyway and not _VALIDATED.get():
        return
    kind = _kind(value)
    if kind not in allowed:
        article = "an" if kind[0] in "aeiou" else "a"
        raise MappingError(f"{what} must be {' or '.join(f'a {a}' for a in allowed)}, not {article} {kind}", pointer)
