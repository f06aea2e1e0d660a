"""The framed file protocol (``RNF1``), both sides: see docs/protocols.md.

One request per connection.  The client sends a request naming a file (or asking for the
list); the server answers with a status and a body length, then the body, then closes.
A status tells "not found" from "refused"; the length tells a complete body from a
truncated one, which a bare send-until-close cannot.
"""

from __future__ import annotations

import enum
import struct
import time
from typing import Any

MAGIC = b"RNF1"
OP_GET = b"G"
OP_LIST = b"L"
REQUEST = struct.Struct(">4scH")  # magic, op, name length; then the name (UTF-8)
RESPONSE = struct.Struct(">4sBQ")  # magic, status, body length; then the body
MAX_NAME_BYTES = 1024  # the whole relative path
MAX_COMPONENT_BYTES = 255  # one path component, as NAME_MAX on Linux
MAX_ERROR_BODY = 4096  # error bodies are a short reason; a client reads at most this


class Status(enum.IntEnum):
    OK = 0  #: the body follows: the file, or the list
    NOT_FOUND = 1  #: a valid name with no file under the root
    REFUSED = 2  #: a name the server will not serve (outside the root, symlink out, ...)
    BAD_REQUEST = 3  #: not a request of this protocol
    SERVER_ERROR = 4  #: the server failed to read the file


class ProtocolError(Exception):
    """The peer does not speak RNF1 (bad magic, unknown op or status)."""


class Truncated(Exception):
    """The connection closed before the announced number of bytes arrived."""

    def __init__(self, got: int, wanted: int) -> None:
        super().__init__(f"connection closed after {got} of {wanted} bytes")
        self.got = got
        self.wanted = wanted


def recv_exact(sock: Any, size: int, deadline: float | None = None) -> bytes:
    """Read exactly ``size`` bytes; the socket must bound each wait by itself (its timeout,
    the kernel's, or an idle reaper), and is left as it was found.

    :param deadline: a ``time.monotonic()`` instant the whole read must finish by, so a
        peer trickling one byte at a time cannot hold the caller past it.  The first
        receive, which nearly always brings every byte, waits as the socket does (its
        bound is the deadline's length); only the ones after it get the time left as the
        socket's timeout: setting one costs a system call, and a poll before the receive.
    :raises Truncated: on end of stream first.  :raises TimeoutError: past the deadline.
    """
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    before = sock.gettimeout()
    timed = False  # whether a receive after the first set the time left
    try:
        while got < size:
            if got and deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"read {got} of {size} bytes before the deadline")
                sock.settimeout(remaining)
                timed = True
            n = sock.recv_into(view[got:])
            if n == 0:
                raise Truncated(got, size)
            got += n
    finally:
        if timed:
            sock.settimeout(before)
    return bytes(buf)


def encode_request(op: bytes, name: str | bytes = b"") -> bytes:
    raw = name.encode("utf-8") if isinstance(name, str) else name
    if len(raw) > 0xFFFF:
        raise ValueError("a name cannot exceed 65535 bytes on the wire")
    return REQUEST.pack(MAGIC, op, len(raw)) + raw


def read_request(sock: Any, deadline: float) -> tuple[bytes, bytes]:
    """Server side: read one request and return ``(op, raw name)``.

    The name is returned undecoded: the caller's policy decides what to refuse.  It is read
    whole (at most 64 KiB, by the length field's size) even when it will be refused, so the
    refusal is not lost to a reset caused by unread bytes.
    """
    magic, op, length = REQUEST.unpack(recv_exact(sock, REQUEST.size, deadline))
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r}")
    if op not in (OP_GET, OP_LIST):
        raise ProtocolError(f"unknown op {op!r}")
    return op, recv_exact(sock, length, deadline)


def encode_response(status: Status, length: int) -> bytes:
    return RESPONSE.pack(MAGIC, int(status), length)


def read_response(sock: Any, deadline: float | None = None) -> tuple[Status, int]:
    """Client side: read the response header and return ``(status, body length)``."""
    magic, status, length = RESPONSE.unpack(recv_exact(sock, RESPONSE.size, deadline))
    if magic != MAGIC:
        raise ProtocolError(f"bad magic {magic!r} in response")
    try:
        return Status(status), length
    except ValueError:
        raise ProtocolError(f"unknown status {status}") from None


def format_manifest(entries: list[tuple[str, int, str]]) -> bytes:
    """The LIST body: one ``SIZE SHA256 NAME`` line per file."""
    return "".join(f"{size} {digest} {name}\n" for name, size, digest in entries).encode()


def parse_manifest(body: bytes) -> list[tuple[str, int, str]]:
    """Parse a LIST body into ``(name, size, sha256 hex)``; a malformed line is an error."""
    entries = []
    for number, line in enumerate(body.decode("utf-8").splitlines(), 1):
        size, digest, name = [*line.split(" ", 2), "", ""][:3]
        if not (size.isdigit() and len(digest) == 64 and name and _is_hex(digest)):
            raise ProtocolError(f"list line {number} is not SIZE SHA256 NAME: {line[:80]!r}")
        entries.append((name, int(size), digest))
    return entries


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
