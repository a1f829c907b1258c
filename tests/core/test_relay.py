"""The replay processes' output copied into the parent's streams: whole lines, and an end in time."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from destkit import relay
from destkit.relay import Relay


def _forked(relayed: Relay, k: int, write: object) -> int:
    pid = os.fork()
    if pid == 0:  # the child: writes through its pipes, then leaves at once
        try:
            relayed.take(k)
            write()  # type: ignore[operator]
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(0)
    return pid


def test_the_lines_of_several_processes_come_whole_each_to_its_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    relayed = Relay(2, (1, 2))

    def lines(k: int) -> object:
        def write() -> None:
            for n in range(300):
                for piece in (f"process {k} line {n} ", "é" * 500, " end\n"):  # a line in pieces, across reads
                    os.write(2, piece.encode())
            os.write(1, f"request {k}\n".encode())
            os.write(2, f"process {k} no end".encode())

        return write

    pids = [_forked(relayed, k, lines(k)) for k in range(2)]
    relayed.start()
    for pid in pids:
        os.waitpid(pid, 0)
    relayed.stop()
    written = err.getvalue().splitlines()
    assert sorted(out.getvalue().splitlines()) == ["request 0", "request 1"]
    whole = [line for line in written if " line " in line]
    assert len(whole) == 600 and all(line.count("é") == 500 and line.count("process") == 1 for line in whole)
    assert sorted(set(written) - set(whole)) == ["process 0 no end", "process 1 no end"]  # ended by their process's end


def test_it_stops_in_time_though_a_process_started_by_a_child_holds_a_pipe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    relayed = Relay(1, (2,))
    sleeper = tmp_path / "sleeper"

    def start_a_sleeper() -> None:
        process = subprocess.Popen(["sleep", "30"], stderr=None)  # inherits the pipe as its standard error
        sleeper.write_text(str(process.pid))
        os.write(2, b"before leaving\n")

    os.waitpid(_forked(relayed, 0, start_a_sleeper), 0)
    try:
        relayed.start()
        started = time.monotonic()
        relayed.stop()
        assert time.monotonic() - started < relay.LINGER + 2
        assert err.getvalue() == "before leaving\n"
    finally:
        os.kill(int(sleeper.read_text()), signal.SIGKILL)


class _Flaky(io.StringIO):
    """A terminal whose first write fails (a moment's I/O error), the rest going through."""

    failed = False

    def write(self, text: str) -> int:
        if not self.failed:
            self.failed = True
            raise OSError(5, "Input/output error")
        return super().write(text)


def test_a_write_that_fails_loses_its_text_and_the_copying_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Flaky()
    monkeypatch.setattr(sys, "stderr", err)
    relayed = Relay(1, (2,))

    def write_more_than_a_pipe_holds() -> None:
        for n in range(4_000):
            os.write(2, f"line {n} {'x' * 100}\n".encode())
            if n == 0:
                time.sleep(0.5)  # the first line is copied (and lost) alone

    pid = _forked(relayed, 0, write_more_than_a_pipe_holds)
    relayed.start()
    os.waitpid(pid, 0)
    relayed.stop()
    written = err.getvalue().splitlines()
    assert err.failed and written[0].startswith("line 1 ") and written[-1].startswith("line 3999 ")
