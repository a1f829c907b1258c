"""HTTP over a raw socket, for sending what no HTTP client would (broken request lines, odd headers)."""

from __future__ import annotations

import contextlib
import socket
from urllib.parse import urlsplit


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def complete(answer: bytes) -> bool:
    """Whether ``answer`` holds a whole final response (after any ``100 Continue``)."""
    while answer.startswith(b"HTTP/1.1 100 "):
        answer = answer.partition(b"\r\n\r\n")[2]
    head, found, body = answer.partition(b"\r\n\r\n")
    lengths = [line.split(b":")[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(found) and len(body) >= int(lengths[0] if lengths else 0)


def exchange(url: str, *parts: bytes, pause: float = 0.0) -> bytes:
    """Send ``parts`` over a raw socket (reading for ``pause`` s between them) and read the answer."""
    with socket.create_connection(_address(url), timeout=2) as sock:
        answer = b""
        for part in parts:
            sock.sendall(part)
            if pause:
                sock.settimeout(pause)
                with contextlib.suppress(TimeoutError):
                    answer += sock.recv(65536)
                sock.settimeout(2)
        while not complete(answer) and (chunk := sock.recv(65536)):
            answer += chunk
        return answer
