"""Unpacking a compressed body within a limit: what the front door and the transport share."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import pytest

from destkit.bodies import unpacked


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "pack"),
    [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)],
)
def test_a_body_within_the_limit_unpacks_whole_and_one_past_it_stops_one_byte_over(
    coding: str, pack: Callable[[bytes], bytes]
) -> None:
    assert unpacked(pack(b"abc" * 1000), coding, 3000) == b"abc" * 1000
    over = unpacked(pack(b"0" * 10_000_000), coding, 1000)
    assert over == b"0" * 1001  # a 10 MB body never unpacked whole


def test_gzip_members_one_after_another_unpack_as_one_body_and_count_together() -> None:
    body = gzip.compress(b"first,") + gzip.compress(b"second")
    assert unpacked(body, "gzip", 100) == b"first,second"
    assert unpacked(body, "gzip", 8) == b"first,sec"


@pytest.mark.parametrize("body", [gzip.compress(b"x" * 100)[:-10], b"not packed", gzip.compress(b"x") + b"junk"])
def test_a_damaged_or_cut_short_body_is_an_error(body: bytes) -> None:
    with pytest.raises(zlib.error):
        unpacked(body, "gzip", 1000)
