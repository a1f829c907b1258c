"""Structured logs for the commands that deliver: one setup, text or JSON lines, secrets masked,
repeats counted.

::

    configure(LogSettings(level="info", format="json"))
    logger.error("delivery failed", extra=fields(destination="target", code="TIMEOUT"))

A record's ``fields`` (a dict given with :func:`fields`) become ``key=value`` pairs in text and
members of the object in JSON. Every string that leaves (message, fields, traceback) goes through
the redactors of every runtime alive in the process (:func:`mask_with`), and each field value is
cut to :data:`MAX_FIELD` characters, so an event's oversized id cannot flood a log.

A warning or error that repeats is written once per :data:`REPEAT_INTERVAL`: the next line of its
kind after the interval, or the last one at exit (:func:`flush`), carries ``repeated=N``, the
lines of its kind left out since the previous one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .redaction import Redactor

__all__ = [
    "LogSettings",
    "RepeatFilter",
    "configure",
    "current_settings",
    "fields",
    "flush",
    "mask_with",
    "LEVELS",
    "FORMATS",
    "REPEAT_INTERVAL",
    "MAX_FIELD",
]

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
REPEAT_INTERVAL = 60.0  # seconds
MAX_FIELD = 256  # characters of one field's value
_MAX_KINDS = 1024  # kinds of repeated lines tracked at once
_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+-]+")
#: The loggers a command's settings apply to: destkit's own and the HTTP server's.
_LOGGERS = ("destkit", "uvicorn")


@dataclass(frozen=True)
class LogSettings:
    """What ``--log-level`` and ``--log-format`` chose; handed to the processes a command starts."""

    level: str = "info"
    format: str = "text"


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a record with structured fields (``None`` values are left out)."""
    return {"fields": {key: value for key, value in values.items() if value is not None}}


_redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()


def mask_with(redactor: Redactor) -> None:
    """Mask ``redactor``'s secrets (as it learns more, those too) in every log line from now on."""
    _redactors.add(redactor)


def _mask(text: str) -> str:
    for redactor in list(_redactors):
        text = redactor(text)
    return text


def _value(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = _mask(str(value))
    return text if len(text) <= MAX_FIELD else text[:MAX_FIELD] + "..."


@dataclass
class _Window:
    until: float
    left_out: int = 0
    last: logging.LogRecord | None = None


class RepeatFilter(logging.Filter):
    """Lets the first warning or error of a kind through per ``interval``, and counts the rest.

    A record's kind is its ``repeat_key`` (given with ``extra=``), else its logger, level and
    message. Lines below ``level`` (the access log) always pass. ``emit`` receives the lines
    :meth:`flush` makes for repeats not yet told.
    """

    def __init__(
        self,
        interval: float = REPEAT_INTERVAL,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[logging.LogRecord], object] | None = None,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.level = level
        self.clock = clock
        self.emit = emit
        self._windows: dict[Hashable, _Window] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level or hasattr(record, "repeated"):
            return True
        key = getattr(record, "repeat_key", None) or (record.name, record.levelno, record.getMessage())
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now < window.until:
                window.left_out += 1
                window.last = record
                return False
            if window is not None and window.left_out:
                record.repeated = window.left_out
            elif window is None and len(self._windows) >= _MAX_KINDS:
                self._forget_expired(now)
                if len(self._windows) >= _MAX_KINDS:
                    return True  # too many kinds at once: each line is told
            self._windows[key] = _Window(now + self.interval)
        return True

    def _forget_expired(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if window.until <= now:
                del self._windows[key]
                self._tell(window)

    def _tell(self, window: _Window) -> None:
        if window.last is not None and self.emit is not None:
            window.last.repeated = window.left_out - 1  # the last one stands for itself
            self.emit(window.last)

    def flush(self) -> None:
        """Write the last line of each kind that had lines left out, with their count."""
        with self._lock:
            windows = list(self._windows.values())
            self._windows.clear()
        for window in windows:
            self._tell(window)


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        values = {key: _value(value) for key, value in getattr(record, "fields", {}).items()}
        if hasattr(record, "repeated"):
            values["repeated"] = record.repeated
        message = _mask(record.getMessage())
        problem = _mask("".join(traceback.format_exception(*record.exc_info))).rstrip() if record.exc_info else None
        if self.as_json:
            line = {"time": stamp, "level": record.levelname.lower(), "logger": record.name, "message": message, **values}
            if problem:
                line["exception"] = problem
            return json.dumps(line, ensure_ascii=False, default=str)
        pairs = "".join(f" {key}={_text(value)}" for key, value in values.items())
        text = f"{stamp} {record.levelname} {record.name}: {message}{pairs}"
        return f"{text}\n{problem}" if problem else text


def _text(value: Any) -> str:
    text = str(value)
    # An id from an event may hold spaces, quotes or line breaks: quoted, it cannot fake a line.
    return text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (a test may have swapped it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


_repeats: RepeatFilter | None = None
_settings: LogSettings | None = None


def configure(settings: LogSettings) -> None:
    """Send destkit's (and uvicorn's) logs to standard error as ``settings`` say; called again,
    it replaces the previous setup."""
    global _repeats, _settings
    handler = _Stderr()
    handler.setFormatter(_Formatter(settings.format == "json"))
    repeats = RepeatFilter(emit=handler.handle)
    handler.addFilter(repeats)
    level = getattr(logging, settings.level.upper())
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        for earlier in [h for h in logger.handlers if isinstance(h, _Stderr)]:  # one setup at a time
            logger.removeHandler(earlier)
        logger.addHandler(handler)
        # uvicorn tells of its own start and stop at info; destkit says what matters itself.
        logger.setLevel(level if name == "destkit" else max(level, logging.WARNING))
    logging.getLogger("uvicorn").propagate = False
    if _repeats is not None:
        _repeats.flush()
    _repeats, _settings = repeats, settings


def current_settings() -> LogSettings | None:
    """The settings :func:`configure` was last given, for a process about to start another."""
    return _settings


def flush() -> None:
    """Write what the repeat filter holds back (on stopping)."""
    if _repeats is not None:
        _repeats.flush()
