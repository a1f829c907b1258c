"""The bounded line reader: a line over the limit is read past, never held."""

from __future__ import annotations

import io

import pytest

from destkit.lines import bounded_lines


class Watched(io.BytesIO):
    """A stream that remembers the longest piece any read handed out."""

    longest = 0

    def readline(self, size: int | None = -1) -> bytes:
        piece = super().readline(size)
        self.longest = max(self.longest, len(piece))
        return piece


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"ab\ncd\n", [(1, b"ab\n", 2), (2, b"cd\n", 2)]),
        (b"ab\ncd", [(1, b"ab\n", 2), (2, b"cd", 2)]),
        (b"12345\n", [(1, b"12345\n", 5)]),  # exactly the limit, newline aside
        (b"123456\nok\n", [(1, None, 6), (2, b"ok\n", 2)]),
        (b"123456", [(1, None, 6)]),
        (b"x" * 1_000_000 + b"\n\nok", [(1, None, 1_000_000), (2, b"\n", 0), (3, b"ok", 2)]),
    ],
)
def test_lines_over_the_limit_come_out_as_their_size(data: bytes, expected: list[tuple[int, bytes | None, int]]) -> None:
    stream = Watched(data)
    assert list(bounded_lines(stream, 5)) == expected
    assert stream.longest <= 1 << 16  # an overlong line is read a bounded piece at a time
