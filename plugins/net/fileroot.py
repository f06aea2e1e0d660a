"""The file server's root: which names it serves, how it opens them, and generated files.

Only regular files under the root are served.  A name is checked as text first (no
``..``, no absolute path, no NUL or other control byte, no backslash, bounded length),
then opened one component at a time with ``O_NOFOLLOW`` from the root's descriptor.  A
name with a symlink on the way is resolved, refused if its resolution leaves the root,
and opened the same way, so a symlink swapped in after the check makes the open fail
instead of leaving the root.  Nothing outside the root is opened, let alone read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from .fileproto import MAX_COMPONENT_BYTES, MAX_NAME_BYTES

_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(Exception):
    """A name the server will not serve; the message is the reason sent to the client."""


class NotFound(Exception):
    """A valid name with no file behind it."""


def check_name(raw: bytes) -> str:
    """Return ``raw`` decoded if it is an acceptable relative name, else raise Refused."""
    if not raw:
        raise Refused("empty name")
    if len(raw) > MAX_NAME_BYTES:
        raise Refused(f"name longer than {MAX_NAME_BYTES} bytes")
    if b"\x00" in raw:
        raise Refused("NUL byte in name")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("name is not UTF-8") from None
    if "\\" in name:
        raise Refused("backslash in name")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise Refused("control character in name")
    if name.startswith("/"):
        raise Refused("absolute path")
    for part in name.split("/"):
        if part == "..":
            raise Refused("'..' in name")
        if part in ("", "."):
            raise Refused("empty or '.' path component")
        if len(part.encode()) > MAX_COMPONENT_BYTES:
            raise Refused(f"path component longer than {MAX_COMPONENT_BYTES} bytes")
    return name


class FileRoot:
    """Opens files strictly under ``path`` (resolved once, at creation)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.realpath(path)
        if not os.path.isdir(self.path):
            raise NotADirectoryError(f"{path}: not a directory")

    def open(self, raw: bytes) -> tuple[int, int]:
        """Open the file named ``raw``; return ``(fd, size)``.  The caller closes ``fd``.

        :raises Refused: the name breaks the policy, leaves the root or is not a regular file.
        :raises NotFound: no such file under the root.
        """
        name = check_name(raw)
        # The name's own components first: with no symlink on the way (nearly every
        # request) that is the whole open, without resolving the root's path again.
        opened = self._open_beneath(name.split("/"), name)
        if opened is not None:
            return opened
        target = os.path.realpath(os.path.join(self.path, name))
        if os.path.commonpath([self.path, target]) != self.path or target == self.path:
            raise Refused("name resolves outside the root")
        parts = os.path.relpath(target, self.path).split(os.sep)
        if any(part in ("", ".", "..") for part in parts):  # a second wall behind the first
            raise Refused("name resolves outside the root")
        opened = self._open_beneath(parts, name)
        if opened is None:  # resolved, yet a symlink again: one was swapped in meanwhile
            raise Refused("cannot open safely (the name changed while being opened)")
        return opened

    def _open_beneath(self, parts: list[str], name: str) -> tuple[int, int] | None:
        """Open ``parts`` one component at a time from the root, following no symlink;
        None when one of them is a symlink (for :meth:`open` to resolve)."""
        dirfd = os.open(self.path, _DIR_FLAGS)
        try:
            for part in parts[:-1]:
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=dirfd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, dirfd):
                        return None
                    raise
                os.close(dirfd)
                dirfd = fd
            # Look before opening: a device or FIFO under the root is refused unopened.
            before = os.stat(parts[-1], dir_fd=dirfd, follow_symlinks=False)
            if stat.S_ISLNK(before.st_mode):
                return None
            if not stat.S_ISREG(before.st_mode):
                raise Refused("not a regular file")
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dirfd)
        except FileNotFoundError:
            raise NotFound(name) from None
        except (NotADirectoryError, IsADirectoryError):
            raise Refused("not a regular file") from None
        except OSError as exc:  # ELOOP: a component became a symlink after the look
            raise Refused(f"cannot open safely ({exc.strerror})") from None
        finally:
            os.close(dirfd)
        after = os.fstat(fd)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            raise Refused("file changed while being opened")
        return fd, after.st_size

    def manifest(self, limit: int = 100_000) -> list[tuple[str, int, str]]:
        """``(name, size, sha256)`` of every servable regular file, sorted by name."""
        entries: list[tuple[str, int, str]] = []
        for dirpath, dirnames, filenames in os.walk(self.path):
            dirnames.sort()
            for filename in sorted(filenames):
                name = os.path.relpath(os.path.join(dirpath, filename), self.path)
                try:
                    fd, size = self.open(name.encode())
                except (Refused, NotFound, UnicodeEncodeError):
                    continue  # not servable: not listed
                with os.fdopen(fd, "rb") as f:
                    digest = hashlib.sha256()
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                entries.append((name, size, digest.hexdigest()))
                if len(entries) >= limit:
                    return entries
        return entries


def _is_link(part: str, dirfd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(part, dir_fd=dirfd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def generate_files(root: Path, count: int, size: int) -> list[tuple[str, int, str]]:
    """Write ``count`` files of ``size`` random bytes; return their ``(name, size, sha256)``.

    Digests are taken from the bytes as generated, not read back, so a later corruption on
    disk or on the wire shows as a mismatch.
    """
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    width = max(4, len(str(count - 1)))
    for index in range(count):
        name = f"file-{index:0{width}d}.bin"
        digest = hashlib.sha256()
        with open(root / name, "wb") as f:
            left = size
            while left:
                block = os.urandom(min(left, 1 << 20))
                digest.update(block)
                f.write(block)
                left -= len(block)
        entries.append((name, size, digest.hexdigest()))
    return entries
