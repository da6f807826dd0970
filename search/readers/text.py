"""Plain text and Markdown (.txt, .md): decoded, line breaks as the file has them."""
from __future__ import annotations

import charset_normalizer

from search.readers import Extracted, IngestError


def read(data: bytes, name: str) -> Extracted:
    """The decoded text with Unix line ends; ingest repairs its hard line breaks."""
    text = decode(data, name).replace("\r\n", "\n").replace("\r", "\n")
    return Extracted(text=text, paragraphs_final=False)


def decode(data: bytes, name: str) -> str:
    """Text of a source file: UTF-8 (BOM or not), GB18030/GBK or Big5, detected."""
    if not data.strip():
        raise IngestError(f"{name}: empty file")
    if b"\x00" in data[:4096]:
        raise IngestError(f"{name}: binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(data):
            # A file cut inside its last character: keep everything before it.
            return data[:exc.start].decode("utf-8-sig")
    match = charset_normalizer.from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    if match is None or match.chaos > 0.3:
        raise IngestError(f"{name}: cannot detect the text encoding (not UTF-8, GB18030 or Big5)")
    return str(match)
