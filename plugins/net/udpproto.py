"""The UDP datagram layout (``RNU1``): see docs/protocols.md.

Every datagram starts with a 24-byte header carrying a session id, a sequence number and
the sender's timestamp, so the receiver counts loss, duplicates and reordering from what
actually arrived.  Data and echo datagrams are padded to ``payload_bytes`` with a fixed
pattern the echo client checks.
"""

from __future__ import annotations

import struct

MAGIC = b"RNU1"
HEADER = struct.Struct(">4sBBHIIQ")  # magic, kind, status, reserved, session, seq, timestamp ns
HEADER_SIZE = HEADER.size  # 24
MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4

ECHO = ord("E")  # client -> server, sent back unchanged
DATA = ord("D")  # client -> server, one-way: counted, never answered
START = ord("S")  # client -> server: opens a one-way session; ``seq`` holds its datagram count
START_ACK = ord("A")  # server -> client; ``status`` 0 ok, 1 refused (reason in the payload)
REPORT_REQ = ord("Q")  # client -> server: what arrived in this session so far?
REPORT = ord("P")  # server -> client: the REPORT_BODY below

# received (distinct sequence numbers), duplicates, reordered, bytes, jitter ns (RFC 3550),
# first and last arrival ns (receiver clock; only their difference means anything)
REPORT_BODY = struct.Struct(">QQQQQQQ")

_PATTERN = bytes(range(256)) * (MAX_DATAGRAM // 256 + 1)


def datagram(
    kind: int, session: int, seq: int, stamp_ns: int, size: int = HEADER_SIZE
) -> bytearray:
    """A datagram of ``size`` bytes: the header, then the fixed padding pattern."""
    buf = bytearray(_PATTERN[:size])
    HEADER.pack_into(buf, 0, MAGIC, kind, 0, 0, session, seq, stamp_ns)
    return buf


def padding(size: int) -> bytes:
    """What follows the header in every datagram of ``size`` bytes: the fixed pattern."""
    return bytes(_PATTERN[HEADER_SIZE:size])


def control(kind: int, session: int, seq: int = 0, status: int = 0, body: bytes = b"") -> bytes:
    return HEADER.pack(MAGIC, kind, status, 0, session, seq, 0) + body
