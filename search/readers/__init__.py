"""Readers: one per file format, each turning a file's bytes into rcsearch's line format.

A reader is a module of this package with ``read(data: bytes, name: str) -> Extracted``;
it raises IngestError, with a message that says what is wrong and what to do, for a
file it cannot read. Ingest structures what every reader returns the same way, so
adding a format is adding one module and one line to READERS.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path, PurePath


class IngestError(Exception):
    """A source file that cannot be indexed; the message says why."""


@dataclass(frozen=True)
class Extracted:
    """What a reader makes of a file, in rcsearch's line format."""

    text: str                 # one block per line; a line "#"*n + " " + text is a heading of level n;
                              # a reader that knows the title emits it as the first "# " line; a
                              # table is Markdown rows ("| a | b |"), a delimiter row ("|---|---|")
                              # under its header row: each row is the report's own text
    paragraphs_final: bool    # True when every line is a whole paragraph (docx, html):
                              # ingest then does no hard-line-break repair
    date: str | None = None   # 'YYYY-MM-DD' publication date found in the file's metadata or page


# Suffix -> reader module. A module is imported the first time a file of its format is
# read: the server, which reads no source file, never loads the parsers.
READERS = {
    ".txt": "text", ".md": "text",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html", ".htm": "html",
}
SUPPORTED_SUFFIXES = tuple(READERS)
# Formats whose text keeps the file's own line breaks (the others' lines are whole paragraphs).
LINE_BROKEN_FORMATS = ("txt", "md", "pdf")

SAVE_AS = "open it in Word or WPS and save it as .docx (or export it as PDF)"
REFUSED = {
    ".doc": "an old binary Word file (.doc)",
    ".dot": "an old binary Word template (.dot)",
    ".docm": "a Word file with macros (.docm)",
    ".dotx": "a Word template (.dotx)",
    ".wps": "a WPS Writer file (.wps)",
    ".wpt": "a WPS Writer template (.wpt)",
    ".rtf": "a Rich Text file (.rtf)",
    ".odt": "an OpenDocument text file (.odt)",
    ".pages": "an Apple Pages file (.pages)",
    ".xls": "a spreadsheet (.xls)",
    ".xlsx": "a spreadsheet (.xlsx)",
    ".et": "a WPS spreadsheet (.et)",
    ".ppt": "a presentation (.ppt)",
    ".pptx": "a presentation (.pptx)",
    ".dps": "a WPS presentation (.dps)",
}
SCANNED = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def refusal(path: PurePath | str) -> str | None:
    """Why a file of this type is not read (no file name in it), or None when a reader reads it."""
    suffix = PurePath(path).suffix.lower()
    if suffix in READERS:
        return None
    if suffix in REFUSED:
        return f"{REFUSED[suffix]} cannot be read: {SAVE_AS}"
    if suffix in SCANNED:
        return ("an image has no text to index: run OCR on it and save the text as .docx, "
                "or as a PDF with a text layer")
    kind = f"type {suffix}" if suffix else "type (no file name extension)"
    return f"unsupported file {kind}: rcsearch reads {', '.join(SUPPORTED_SUFFIXES)}"


def extract(data: bytes, name: str) -> Extracted:
    """The line-format text of a file's bytes, read by the reader of its suffix (`name` is the
    file name, used for the suffix and in messages)."""
    suffix = Path(name).suffix.lower()
    if suffix not in READERS:
        raise IngestError(f"{name}: {refusal(name)}")
    reader = importlib.import_module(f"{__name__}.{READERS[suffix]}")
    return reader.read(data, name)


def from_stored(text: str, fmt: str, date: str | None) -> Extracted:
    """The Extracted a reader made of a file, rebuilt from what the index stores: its text,
    format (suffix without the dot) and date."""
    return Extracted(text=text, paragraphs_final=fmt not in LINE_BROKEN_FORMATS, date=date)
