"""Building the line format: text as a reader types it, broken lines and table rows joined.

PDF fonts often map CJK glyphs to Kangxi radicals or compatibility ideographs
(⾎ ⼲ ⼈ ⽢ for 血 干 人 甘), and text copied out of such a PDF keeps them: nobody types
those, so a search would never find the text, and a region or topic rule would not
match it.
"""
from __future__ import annotations

import functools
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


def table_lines(rows: list[list[str]], header: bool | None = None) -> list[str]:
    """One line per table row, its cells joined readably. `header` says whether the first row
    labels the columns; None guesses it (short labels over more than two columns)."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    if header is None:
        first = rows[0]
        header = (len(rows) >= 2 and len(first) > 2 and all(first)
                  and all(len(c) <= MAX_HEADER_CELL_CHARS and not c.replace(".", "").isdigit() for c in first))
    if header and len(rows) >= 2:
        labels = rows[0]
        return [_row_line(cells, labels) for cells in rows[1:]]
    return [_row_line(cells, None) for cells in rows]


def _row_line(cells: list[str], labels: list[str] | None) -> str:
    """标签：值 for a two-cell row, 列名：值；列名：值 under a header row, else cells joined by ' | '."""
    if labels and len(labels) == len(cells):
        return "；".join(f"{label}：{cell}" if label else cell for label, cell in zip(labels, cells) if cell)
    filled = [cell for cell in cells if cell]
    if len(cells) == 2 and len(filled) == 2:
        return f"{filled[0].rstrip(':：')}：{filled[1]}"
    return " | ".join(filled)
