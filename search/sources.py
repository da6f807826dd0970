"""Sources: which files under the source folders are reports, and the id each is known by.

A report's id is its path under the source folder without the suffix, so same-named files
in different folders stay apart. Hidden files, Office lock files and editor backups are
skipped silently; a file whose id no link could carry (control characters, bytes that are
not UTF-8, an absurd length) is refused by name with the reason.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from search import readers


class SourceError(ValueError):
    """A source folder or file that does not exist or cannot be read: a usage error, nothing is changed."""


@dataclass(frozen=True)
class SourceFile:
    """A report file and its document id: its path under the source folder, without the suffix
    (`001_77d3`, `2021/工作报告（定稿）`), so same-named files in different folders stay apart."""

    doc_id: str
    path: Path
    label: str  # how summaries name it: the path under the source folder, with its suffix
    root: Path  # the source folder it was found in (the file itself when given directly)


# What people keep beside their reports without meaning them as reports: Office lock files
# (~$报告.docx), editor backups and swap files, system thumbnails.
IGNORED_NAMES = re.compile(r"^(~\$.*|.*~|.*\.sw[a-p]|#.*#|thumbs\.db|desktop\.ini)$", re.IGNORECASE)


# An id is whatever the file name held (spaces, brackets, dots, folders with `/`) and it is
# only ever looked up in the index; but every page, permalink and download names it in a
# link, which cannot carry control characters, bytes that are not text, or an absurd length.
MAX_DOC_ID_CHARS = 1000
NOT_IN_DOC_IDS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NOT_TEXT = re.compile(r"[\ud800-\udfff]")  # how Python keeps a file name's bytes that are not UTF-8


def id_refusal(doc_id: str) -> str | None:
    """Why a file cannot be a report, by its id (its path under the source folder): what
    no link to its page, permalink and download could name; None when nothing is wrong."""
    if control := NOT_IN_DOC_IDS.search(doc_id):
        return (f"its name holds a control character (U+{ord(control.group()):04X}), which no link to its page "
                "can carry: rename the file")
    if NOT_TEXT.search(doc_id):
        return ("its name is not UTF-8 text (written by a system in another encoding, such as GBK), which no "
                "link to its page can carry: rename the file")
    if len(doc_id) > MAX_DOC_ID_CHARS:
        return (f"its path under the source folder is longer than {MAX_DOC_ID_CHARS} characters, which no link "
                "to its page can carry: shorten it")
    return None


def shown_name(name: str) -> str:
    """A file name as a terminal or log can show it: control characters and bytes that are
    not UTF-8 as escapes (\\t, \\x01, \\xb1)."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return NOT_IN_DOC_IDS.sub(lambda found: repr(found.group())[1:-1], text)


def is_ignored(relative: Path) -> bool:
    """Whether a path under a source folder is skipped silently: hidden files and folders
    (.git/, .DS_Store), lock files and backups."""
    return any(part.startswith(".") for part in relative.parts) or bool(IGNORED_NAMES.match(relative.name))


def check_sources(sources: Iterable[Path]) -> None:
    """Raise SourceError unless every source exists and can be read (a mistyped path must
    never look like a folder whose reports were all deleted)."""
    for source in sources:
        if not source.exists():
            raise SourceError(f"{source}: no such file or folder")
        if not os.access(source, os.R_OK | (os.X_OK if source.is_dir() else 0)):
            raise SourceError(f"{source}: cannot be read (permission denied)")


def source_files(sources: Iterable[Path], failed: list[tuple[str, str]]) -> list[SourceFile]:
    """Report files under the source folders (or given directly); unusable ones are added to
    `failed` as (path under the source folder, reason)."""
    seen: dict[str, SourceFile] = {}
    for source in sources:
        if source.is_dir():
            found = sorted((p for p in source.rglob("*") if not p.is_dir()), key=lambda p: p.relative_to(source).parts)
            paths = [(p, p.relative_to(source)) for p in found if not is_ignored(p.relative_to(source))]
        else:
            paths = [(source, Path(source.name))]
        root = source if source.is_dir() else source.parent
        for path, relative in paths:
            label = relative.as_posix()
            refused = readers.refusal(path)
            if refused:
                if path.name.lower() != "readme" and path.is_file():
                    failed.append((label, refused))
                continue
            doc_id = relative.with_suffix("").as_posix()
            refused = id_refusal(doc_id)
            if refused:
                failed.append((label, refused))
            elif doc_id in seen:
                failed.append((label, f"same document id as {seen[doc_id].label} ({seen[doc_id].path})"))
            else:
                seen[doc_id] = SourceFile(doc_id, path, label, root)
    return list(seen.values())


def not_a_file_reason(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return f"broken symbolic link (points to {os.readlink(path)}, which does not exist)"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot read file ({exc.strerror or exc})"
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device or special file"
    return f"not a regular file ({kind})"
