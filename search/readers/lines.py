"""Building the line format: text as a reader types it, broken lines joined, tables as Markdown rows.

PDF fonts often map CJK glyphs to Kangxi radicals or compatibility ideographs
(⾎ ⼲ ⼈ ⽢ for 血 干 人 甘), and text copied out of such a PDF keeps them: nobody types
those, so a search would never find the text, and a region or topic rule would not
match it.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import Iterable

import opencc

from search.analysis import DATA_DIR

# NFKC maps each Kangxi radical, and each CJK compatibility ideograph, to one unified
# ideograph (NFKC over the whole text would also turn "，" into ",").
KANGXI_RADICALS = (0x2F00, 0x2FDF)
COMPATIBILITY_IDEOGRAPHS = ((0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
# The CJK Radicals Supplement, which NFKC leaves almost untouched.
RADICALS_FILE = DATA_DIR / "cjk_radicals.txt"
MAX_HEADER_CELL_CHARS = 20
# Markdown tables: cells split at a '|' that is not escaped; a delimiter row is dashes (and
# alignment colons) between pipes.
CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
DELIMITER_ROW = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)+\|?$")


def fold_ideographs(text: str) -> str:
    """`text` with radicals and compatibility ideographs replaced by the unified ideographs."""
    return text.translate(_fold_table())


@functools.cache
def _fold_table() -> dict[int, str]:
    # A simplified-Chinese font draws 户 for ⼾ and 黄 for ⻩ as well as 戶 and 黃, and the
    # reports are in simplified Chinese: a radical becomes the simplified form of its ideograph.
    to_simplified = opencc.OpenCC("t2s").convert
    table = {code: to_simplified(folded) for code, folded in _nfkc(*KANGXI_RADICALS)}
    for low, high in COMPATIBILITY_IDEOGRAPHS:
        table.update(_nfkc(low, high))
    for line in RADICALS_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            radical, ideograph = line.split("\t")
            table[ord(radical)] = ideograph
    return table


def _nfkc(low: int, high: int) -> list[tuple[int, str]]:
    """(code, NFKC form) for the characters in [low, high] that NFKC maps to one other character."""
    pairs = []
    for code in range(low, high + 1):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded != chr(code):
            pairs.append((code, folded))
    return pairs


def joined_lines(lines: Iterable[str]) -> str:
    """The lines of one paragraph as one line, white space collapsed: a space between Latin
    words, none inside CJK text (a phrase a line break cut is one phrase again)."""
    text = ""
    for line in lines:
        line = " ".join(line.split())
        if not line:
            continue
        if text[-1:].isascii() and text[-1:].isalnum() and line[0].isascii() and line[0].isalnum():
            text += " "
        text += line
    return fold_ideographs(text)


def table_markdown(rows: list[list[str]], header: bool | None = None) -> list[str]:
    """A table in the line format: one Markdown row (`| a | b |`) per row, and a delimiter row
    under the first when it labels the columns. `header` says whether it does; None guesses it
    (short labels over more than two columns)."""
    rows = [[" ".join(cell.split()) for cell in row] for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    if header is None:
        first = rows[0]
        header = (len(first) > 2 and all(first)
                  and all(len(c) <= MAX_HEADER_CELL_CHARS and not c.replace(".", "").isdigit() for c in first))
    lines = [_markdown_row(row) for row in rows]
    if header and len(rows) >= 2:
        lines.insert(1, _markdown_row(["---"] * len(rows[0])))
    return lines


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def is_table_row(line: str) -> bool:
    """Whether a line of the line format is a Markdown table row (`| a | b |`)."""
    return line.startswith("|") and len(table_cells(line)) >= 2


def table_at(lines: list[str], start: int, min_rows: int = 1) -> tuple[list[str], int] | None:
    """The passages of the Markdown table that starts at lines[start] (stripped lines), and the
    index of the line after it; None when no table starts there. A table is a run of at least
    `min_rows` rows that start with '|', or a header row with '|' over a delimiter row
    (`|---|---|`) and the rows under it; the delimiter row is what makes the row above it the
    header."""
    first = lines[start]
    header = (start + 1 < len(lines) and "|" in first and bool(DELIMITER_ROW.match(lines[start + 1]))
              and len(table_cells(first)) == len(table_cells(lines[start + 1])))
    if not (header or is_table_row(first)):
        return None
    rows = [table_cells(first)]
    end = start + 2 if header else start + 1
    while end < len(lines) and (is_table_row(lines[end]) or header and "|" in lines[end]):
        if not DELIMITER_ROW.match(lines[end]):
            rows.append(table_cells(lines[end]))
        end += 1
    if not header and len(rows) < min_rows:
        return None
    return table_passages(rows, header), end


def table_cells(line: str) -> list[str]:
    """The cells of a Markdown table row, `\\|` read as a character of a cell."""
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [cell.strip().replace("\\|", "|") for cell in CELL_SEPARATOR.split(text)]


def table_passages(rows: list[list[str]], header: bool) -> list[str]:
    """The text of each row of a table as a passage: 列名：值；列名：值 under a header row,
    标签：值 for a two-cell row, else the cells joined by ' | '."""
    labels = rows[0] if header and len(rows) >= 2 else None
    texts = [_row_text(cells, labels) for cells in (rows[1:] if labels else rows)]
    return [text for text in texts if text]


def _row_text(cells: list[str], labels: list[str] | None) -> str:
    if labels and len(labels) == len(cells):
        return "；".join(f"{label}：{cell}" if label else cell for label, cell in zip(labels, cells) if cell)
    filled = [cell for cell in cells if cell]
    if len(cells) == 2 and len(filled) == 2:
        return f"{filled[0].rstrip(':：')}：{filled[1]}"
    return " | ".join(filled)
