"""Word (.docx): paragraph styles give the title and headings, table rows are paragraphs.

python-docx reads the document body in order. The title is the document's own
(Title style, else a first paragraph set as a heading or as a title: centred or bold
and short), before the core-properties title, which is often empty or left over
from a template. Headings come from the heading styles or outline levels, or from a
short paragraph set all in bold. Each table row becomes one line, its cells joined
readably. Headers, footers, comments, footnotes and a table of contents are not read.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from search.readers import Extracted, IngestError
from search.readers.lines import fold_ideographs, joined_lines, table_markdown

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
TITLE_STYLES = {"title", "标题"}
TOC_STYLE = re.compile(r"^(toc|目录)\s*\d", re.IGNORECASE)
MAX_HEADING_CHARS = 40
MAX_TITLE_CHARS = 60
SENTENCE_END = "。！？!?；;"
# The text of a paragraph, in order: python-docx's Paragraph.text leaves out tracked
# insertions, fields and inline content controls. Not the tab stops of its properties, not
# the text of a text box anchored in it (Word stores a text box twice), not moved-away text.
PARAGRAPH_TEXT = ("./*[not(self::w:pPr)]//*[self::w:t or self::w:tab or self::w:br or self::w:cr]"
                  "[not(ancestor::w:txbxContent or ancestor::w:moveFrom)]")
# A core-properties title that only names the program or template says nothing.
PLACEHOLDER_TITLE = re.compile(r"^(microsoft word\b.*|文档\s*\d*|document\s*\d*|untitled|无标题.*|标题)$",
                               re.IGNORECASE)


def read(data: bytes, name: str) -> Extracted:
    """The body of a Word file as lines: the title, headings, paragraphs and table rows."""
    document = _open(data, name)
    blocks = [block for block in _blocks(document.element.body, document) if block.text]
    if not blocks:
        raise IngestError(f"{name}: the Word file has no text in its body")
    return Extracted(text="\n".join(_lines(blocks, document.core_properties.title)), paragraphs_final=True)


def _open(data: bytes, name: str):
    if data.startswith(OLE_MAGIC):
        raise IngestError(f"{name}: this is an old Word (.doc) file or a password-protected document, not a "
                          ".docx: open it in Word or WPS, remove any password, and save it as .docx")
    try:
        return docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, PackageNotFoundError,
            XMLSyntaxError) as exc:
        raise IngestError(f"{name}: not a readable .docx (the file is damaged or is not a Word document: "
                          f"{exc}): open it in Word or WPS and save it again as .docx") from None


@dataclass(frozen=True)
class _Block:
    """A paragraph or a table row."""

    text: str
    level: int | None = None  # 0 for the Title style, n for a heading of level n, None for text
    title_like: bool = False  # set as a title would be: centred, or a heading in all but style


def _blocks(container, document):
    """The paragraphs and table rows of a body or a table cell, in order."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            paragraph = Paragraph(child, document)
            if not _is_toc_entry(paragraph):
                yield _Block(_paragraph_text(child), _level(paragraph), _looks_like_title(paragraph))
        elif child.tag == qn("w:tbl"):
            yield from _table_blocks(Table(child, document), document)
        elif child.tag == qn("w:sdt") and not _is_toc(child):
            # Content controls (cover pages, form fields) hold ordinary paragraphs.
            for content in child.iterchildren(qn("w:sdtContent")):
                yield from _blocks(content, document)


def _paragraph_text(p) -> str:
    """A paragraph as one line: line breaks in it joined (without a space inside CJK text)."""
    text = "".join(node.text or "" if node.tag == qn("w:t") else "\t" if node.tag == qn("w:tab") else "\n"
                   for node in p.xpath(PARAGRAPH_TEXT))
    return joined_lines(text.split("\n"))


def _is_toc(sdt) -> bool:
    return bool(sdt.xpath("./w:sdtPr/w:docPartObj/w:docPartGallery[@w:val='Table of Contents']"))


def _is_toc_entry(paragraph: Paragraph) -> bool:
    style = paragraph.style
    return style is not None and bool(TOC_STYLE.match(style.name or ""))


def _level(paragraph: Paragraph) -> int | None:
    """0 for a Title-style paragraph, n for heading level n (style or outline level), else None."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() in TITLE_STYLES:
            return 0
        heading = HEADING_STYLE.match(name)
        if heading:
            return int(heading.group(1))
        style = style.base_style
    outline = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if outline and outline[0].isdigit() and int(outline[0]) < 9:
        return int(outline[0]) + 1
    return 1 if _looks_like_heading(paragraph) else None


def _looks_like_heading(paragraph: Paragraph) -> bool:
    """A short paragraph set all in bold that does not end a sentence: a heading in all but style."""
    text = paragraph.text.strip()
    runs = [run for run in paragraph.runs if run.text.strip()]
    return (bool(runs) and len(text) <= MAX_HEADING_CHARS and text[-1] not in SENTENCE_END
            and all(_bold(run, paragraph) for run in runs))


def _bold(run, paragraph: Paragraph) -> bool:
    for value in (run.bold, run.style.font.bold if run.style is not None else None,
                  paragraph.style.font.bold if paragraph.style is not None else None):
        if value is not None:
            return value
    return False


def _looks_like_title(paragraph: Paragraph) -> bool:
    text = paragraph.text.strip()
    alignment = paragraph.alignment
    if alignment is None and paragraph.style is not None:
        alignment = paragraph.style.paragraph_format.alignment
    return (0 < len(text) <= MAX_TITLE_CHARS and text[-1] not in SENTENCE_END
            and (alignment == WD_ALIGN_PARAGRAPH.CENTER or _looks_like_heading(paragraph)))


def _table_blocks(table: Table, document):
    """A table's rows, one line each; a one-column table (a frame around text) as its paragraphs."""
    rows = [_distinct(row.cells) for row in table.rows]
    if all(len(cells) <= 1 for cells in rows):
        for cell in _distinct(cell for row in table.rows for cell in row.cells):
            yield from _blocks(cell._tc, document)
        return
    texts = [[_cell_text(cell) for cell in cells] for cells in rows]
    # Word marks a header row by repeating it on each page; other tables' headers are guessed.
    header = True if table.rows[0]._tr.xpath("./w:trPr/w:tblHeader") else None
    for line in table_markdown(texts, header):
        yield _Block(line)


def _cell_text(cell) -> str:
    """A table cell's paragraphs on one line, a space between them."""
    return " ".join(filter(None, (_paragraph_text(p._p) for p in cell.paragraphs)))


def _distinct(cells) -> list:
    """The cells, a merged cell (python-docx gives it once per grid column it spans) once."""
    distinct, seen = [], set()
    for cell in cells:
        if cell._tc not in seen:
            seen.add(cell._tc)
            distinct.append(cell)
    return distinct


def _lines(blocks: list[_Block], core_title: str | None) -> list[str]:
    """The blocks in the line format, with the document's title as the first '# ' line."""
    title_at = next((i for i, block in enumerate(blocks) if block.level == 0), None)
    if title_at is None and (blocks[0].level is not None or blocks[0].title_like):
        title_at = 0
    lines = []
    core_title = " ".join((core_title or "").split())
    if title_at is None and core_title and not PLACEHOLDER_TITLE.match(core_title):
        lines.append("# " + fold_ideographs(core_title))
    for i, block in enumerate(blocks):
        if i == title_at:
            lines.append("# " + block.text)
        elif block.level is None:
            lines.append(block.text)
        else:
            lines.append("#" * min(max(block.level, 1) + 1, 6) + " " + block.text)
    return lines
