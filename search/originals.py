"""A report's original file, for download: opened once, checked, and sent as that open file.

Checking a path and then opening it again to send it leaves a moment in which a symbolic
link swapped in serves a file from outside the source folder. Here the file is opened one
path component at a time below its source folder, none of them followed if it is a link
(O_NOFOLLOW against directory descriptors), and the content hashed is the content of that
open file, which is what gets sent: whatever is swapped in afterwards is never read.
"""
from __future__ import annotations

import hashlib
import os
import stat
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

# Opened without following a link, and without waiting on a FIFO that a writer never opens.
_NO_LINK = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class Original:
    """A report's file, open at its start (the caller sends it and closes it)."""

    name: str
    file: BinaryIO
    size: int
    digest: str  # sha256 of its content: the hash it was indexed with


def open_original(path: str | None, root: str | None, digest: str | None) -> Original | None:
    """The file a report was indexed from, opened, while it is a regular file reached from its
    source folder `root` without a symbolic link and its content still has the sha256
    `digest`; None otherwise (gone, changed, replaced by a link or anything not a file)."""
    if not path or not root or not digest:
        return None
    try:
        parts = PurePath(path).relative_to(root).parts
    except ValueError:
        return None
    if not parts or ".." in parts:
        return None
    try:
        file = _open_below(root, parts)
    except OSError:
        return None
    try:
        info = os.fstat(file.fileno())
        if stat.S_ISREG(info.st_mode) and hashlib.file_digest(file, "sha256").hexdigest() == digest:
            file.seek(0)
            return Original(parts[-1], file, info.st_size, digest)
    except OSError:
        pass
    file.close()
    return None


def downloadable_name(path: str | None, root: str | None, digest: str | None) -> str | None:
    """The file name a report's original is offered under, while open_original would send it."""
    original = open_original(path, root, digest)
    if original is None:
        return None
    original.file.close()
    return original.name


def _open_below(root: str, parts: tuple[str, ...]) -> BinaryIO:
    """Open root/parts[0]/…/parts[-1], following no link below root."""
    with ExitStack() as folders:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        folders.callback(os.close, folder)
        for part in parts[:-1]:
            folder = os.open(part, _NO_LINK | os.O_DIRECTORY, dir_fd=folder)
            folders.callback(os.close, folder)
        descriptor = os.open(parts[-1], _NO_LINK, dir_fd=folder)
    try:
        return os.fdopen(descriptor, "rb")  # non-blocking changes nothing for a regular file
    except BaseException:
        os.close(descriptor)
        raise
