"""PDF with a text layer (.pdf): paragraphs rebuilt from where the lines sit on the page.

pdfminer.six's layout analysis gives every text line with its position and font. A
PDF breaks every line and repeats running heads, footers and page numbers on every
page, so: edge lines that repeat on most pages (digits aside) or read as a page number
are dropped; a line that stops short of the right margin ends a paragraph, an indented
line, a larger vertical gap or a change of font size starts one, and a paragraph whose
last line on a page runs to the margin goes on at the top of the next page. Lines are
joined without a space inside CJK text (a phrase cut by a line break is one phrase
again), lines that follow one another on one baseline are a table's cells (one Markdown
row), and radicals and compatibility ideographs that PDF fonts put in place of
ordinary characters are folded (search.readers.lines). Larger or bold lines
become headings, the largest on the first page (or its centred first line) the title.
"""
from __future__ import annotations

import io
import logging
import math
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass

from pdfminer.high_level import extract_pages
from pdfminer.layout import LAParams, LTAnno, LTChar, LTTextLineHorizontal
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

from search.readers import Extracted, IngestError
from search.readers.lines import joined_lines, table_markdown

# pdfminer warns about every font whose metrics it has to guess; the text is right all the same.
logging.getLogger("pdfminer").setLevel(logging.ERROR)

# Running heads and page numbers sit in this share of the page height, at the top and at the bottom.
EDGE = 0.12
EDGE_LINES = 2
# Running heads and footers are set smaller than the text (chromium's, Word's 小五 under 三号 text).
SMALL_PRINT = 0.85
PAGE_NUMBER = re.compile(r"(第\d+页([,，/]?共\d+页)?|共\d+页[,，]?第\d+页|[-—–]\d+[-—–]|\d+(/\d+)?|page\d+(of\d+)?)",
                         re.IGNORECASE)
BOLD_FONT = re.compile(r"bold|heavy|black|semibold|demibold|simhei|heiti", re.IGNORECASE)
# A line within this many characters of the right margin runs to it (CJK line breaking may
# push a character, with the punctuation after it, to the next line).
FULL_LINE_SLACK = 2.0
# An indented line starts a paragraph (Chinese paragraphs indent two characters).
INDENT = 0.8
# A gap between lines larger than this many times the usual line pitch separates paragraphs.
PARAGRAPH_GAP = 1.25
# Lines whose baselines differ by less than this share of their size sit on one baseline.
BASELINE_TOLERANCE = 0.25
# A heading's font is at least this much larger than the body's.
HEADING_SIZE = 1.15
# A gap this many characters wide beside CJK text separates words (a menu, a title in two parts).
WORD_GAP = 0.6
MAX_HEADING_CHARS = 60
SENTENCE_END = "。！？!?"
CLOSERS = "”’」』)）》】\"'"


@dataclass(frozen=True)
class _Line:
    page: int
    text: str
    x0: float
    x1: float
    y: float  # baseline, from the bottom of the page
    size: float
    bold: bool
    row: bool = False  # a table row: text is a Markdown row of the cells on one baseline


@dataclass
class _Paragraph:
    lines: list[_Line]

    @property
    def text(self) -> str:
        return joined_lines(line.text for line in self.lines)

    @property
    def size(self) -> float:
        return self.lines[0].size

    @property
    def bold(self) -> bool:
        return all(line.bold for line in self.lines)


@dataclass(frozen=True)
class _Layout:
    """The body text's measurements, from which paragraph breaks and headings are told."""

    left: float
    right: float
    size: float
    bold: bool
    pitch: float


def read(data: bytes, name: str) -> Extracted:
    """Paragraphs and headings of a PDF's text layer."""
    pages = _pages(data, name)
    lines = _without_furniture(pages, _body_size([line for page in pages for line in page]))
    if not lines:
        raise IngestError(f"{name}: the PDF has no text layer (a scan, or pictures of text): run OCR on it "
                          "(for example ocrmypdf, or 'recognize text' in a PDF editor) and index the result")
    layout = _layout(lines)
    paragraphs = _headings_joined(_paragraphs(_rows(lines, layout), layout), layout)
    # Paragraphs rebuilt from the layout are right when the text flowed to the margin; text that
    # was already broken by hand before it was printed (a pasted newspaper column, a <br> on every
    # line) stops short on every line: ingest's repair of hard line breaks still joins those.
    return Extracted(text="\n".join(_marked(paragraphs, layout)), paragraphs_final=False)


def _pages(data: bytes, name: str) -> list[list[_Line]]:
    """The text lines of each page, in pdfminer's reading order."""
    if b"%PDF-" not in data[:1024]:
        raise IngestError(f"{name}: not a PDF file (it does not start with %PDF-): the file is damaged "
                          "or of another kind; open it and save it again as PDF")
    if b"%%EOF" not in data[-4096:]:
        raise IngestError(f"{name}: the PDF is truncated (its end is missing; it was not completely "
                          "downloaded or copied): get a complete copy of the file")
    return [list(_page_lines(page, number)) for number, page in enumerate(_layouts(data, name))]


def _layouts(data: bytes, name: str):
    """pdfminer's layout of each page, one at a time (a long PDF's characters would not all fit in
    memory at once); IngestError for a PDF that pdfminer cannot read."""
    pages = extract_pages(io.BytesIO(data), laparams=LAParams(all_texts=True))
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except PDFPasswordIncorrect:
            raise IngestError(f"{name}: the PDF is encrypted with a password: save a copy without the password "
                              "(open it with the password and print or export it to a new PDF)") from None
        except PDFEncryptionError as exc:
            raise IngestError(f"{name}: the PDF is encrypted in a way that cannot be read ({exc}): save a copy "
                              "without encryption") from None
        # A damaged PDF fails inside pdfminer with whatever error its broken structure leads to
        # (PDFSyntaxError, KeyError, TypeError, struct.error ...).
        except Exception as exc:  # noqa: BLE001
            raise IngestError(f"{name}: the PDF is damaged and cannot be read ({type(exc).__name__}: {exc}): "
                              "open it in a PDF reader and save or print it to a new PDF") from None
        yield page


def _page_lines(page, number: int):
    """A page's text lines, with their position and font."""
    for element in _walk(page):
        chars = [c for c in element if isinstance(c, LTChar)]
        text = _line_text(element)
        if chars and text:
            sizes = [round(c.size, 1) for c in chars]
            yield _Line(page=number, text=text, x0=element.x0, x1=element.x1, y=element.y0,
                        size=statistics.median(sizes),
                        bold=all(BOLD_FONT.search(c.fontname) for c in chars if not c.get_text().isspace()))


def _walk(element):
    """The horizontal text lines under a layout element, in order."""
    if isinstance(element, LTTextLineHorizontal):
        yield element
        return
    if hasattr(element, "__iter__") and not isinstance(element, LTChar):
        for child in element:
            yield from _walk(child)


def _line_text(line: LTTextLineHorizontal) -> str:
    """A line's text: the PDF's own characters and spaces, and of the spaces pdfminer infers
    from gaps, those between Latin words and wide gaps beside CJK text (a narrow one there is
    letter spacing, as justified text has)."""
    items = list(line)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, LTAnno):
            out.append(item.get_text())
        elif item.get_text() == " " and 0 < i < len(items) - 1:
            before, after = items[i - 1], items[i + 1]
            if isinstance(before, LTChar) and isinstance(after, LTChar) and (
                    not (_wide(before.get_text()) or _wide(after.get_text()))
                    or after.x0 - before.x1 >= WORD_GAP * before.size):
                out.append(" ")
    return " ".join("".join(out).split())


def _wide(char: str) -> bool:
    return bool(char) and unicodedata.east_asian_width(char) in "WF"


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "0", "".join(text.split()))


def _without_furniture(pages: list[list[_Line]], body_size: float) -> list[_Line]:
    """The lines of all pages, less running heads, footers and page numbers: at the edge of a
    page, lines repeated on most pages (digits aside), page numbers and small print, alone on
    their baseline."""
    edges = [_edge_lines(page) for page in pages]
    counts = Counter(key for lines in edges for key in {_furniture_key(line.text) for line in lines})
    repeated = {key for key, n in counts.items() if n >= max(2, math.ceil(len(pages) / 2))}
    candidates = {id(line) for lines in edges for line in lines
                  if _furniture_key(line.text) in repeated or PAGE_NUMBER.fullmatch("".join(line.text.split()))
                  or line.size <= SMALL_PRINT * body_size}
    # Running heads, footers and page numbers stand alone on their baseline, or beside one
    # another; an edge line beside other text is a table's cell (a table may end at the foot
    # of a page, and its numbers repeat as page numbers do).
    furniture = {id(line) for page in pages for line in page if id(line) in candidates
                 and all(id(other) in candidates for other in page if _same_baseline(other, line))}
    return [line for page in pages for line in page if id(line) not in furniture]


def _same_baseline(a: _Line, b: _Line) -> bool:
    return a.page == b.page and abs(a.y - b.y) <= BASELINE_TOLERANCE * min(a.size, b.size)


def _edge_lines(page: list[_Line]) -> list[_Line]:
    """Where running heads and page numbers sit: the lines on the two highest and the two lowest
    baselines of a page, where those lie in the top or bottom EDGE of the span its lines cover."""
    if not page:
        return []
    baselines = sorted({round(line.y) for line in page})
    top, bottom = baselines[-1], baselines[0]
    margin = EDGE * max(top - bottom, 1)
    edge = {y for y in baselines[-EDGE_LINES:] if y >= top - margin} | {y for y in baselines[:EDGE_LINES]
                                                                       if y <= bottom + margin}
    return [line for line in page if round(line.y) in edge]


def _body_size(lines: list[_Line]) -> float:
    """The font size most of the text is set in."""
    weights = Counter()
    for line in lines:
        weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _layout(lines: list[_Line]) -> _Layout:
    size = _body_size(lines)
    body = [line for line in lines if abs(line.size - size) <= 0.1 * size] or lines
    left = Counter(round(line.x0) for line in body).most_common(1)[0][0]
    right = sorted(line.x1 for line in body)[int(0.9 * (len(body) - 1))]
    steps = [a.y - b.y for a, b in zip(body, body[1:]) if a.page == b.page and 0 < a.y - b.y < 3 * size]
    pitch = statistics.median(steps) if steps else 1.5 * size
    bold = Counter(line.bold for line in body).most_common(1)[0][0]
    return _Layout(left=left, right=right, size=size, bold=bold, pitch=pitch)


def _rows(lines: list[_Line], layout: _Layout) -> list[_Line]:
    """The lines, each run of lines that follow one another on one baseline (a table's cells,
    in reading order; the columns of a page are read one after the other) made one table row."""
    rows: list[list[_Line]] = []
    for line in lines:
        previous = rows[-1][-1] if rows else None
        if previous and _same_baseline(previous, line) and line.x0 >= previous.x1 \
                and max(line.size, previous.size) < HEADING_SIZE * layout.size:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [cells[0] if len(cells) == 1 else _row(cells) for cells in rows]


def _row(cells: list[_Line]) -> _Line:
    [text] = table_markdown([[cell.text for cell in cells]], header=False)
    return _Line(page=cells[0].page, text=text, x0=cells[0].x0, x1=cells[-1].x1, y=cells[0].y,
                 size=max(cell.size for cell in cells), bold=all(cell.bold for cell in cells), row=True)


def _paragraphs(lines: list[_Line], layout: _Layout) -> list[_Paragraph]:
    paragraphs = [_Paragraph([lines[0]])]
    for line in lines[1:]:
        if _continues(paragraphs[-1].lines[-1], line, layout):
            paragraphs[-1].lines.append(line)
        else:
            paragraphs.append(_Paragraph([line]))
    return paragraphs


def _continues(previous: _Line, line: _Line, layout: _Layout) -> bool:
    """Whether `line` goes on with the paragraph that `previous` ends so far."""
    if previous.row or line.row:
        return False
    runs_to_margin = previous.x1 >= layout.right - FULL_LINE_SLACK * previous.size
    indented = line.x0 > layout.left + INDENT * line.size
    if not runs_to_margin or indented or previous.bold != line.bold or abs(previous.size - line.size) > 0.1 * line.size:
        return False
    if previous.page != line.page:
        return True
    step = previous.y - line.y
    return 0 < step <= PARAGRAPH_GAP * layout.pitch


def _is_large(paragraph: _Paragraph, layout: _Layout) -> bool:
    return paragraph.size >= HEADING_SIZE * layout.size


def _headings_joined(paragraphs: list[_Paragraph], layout: _Layout) -> list[_Paragraph]:
    """A heading set in large type over two lines (each centred, so each short) is one heading."""
    joined = [paragraphs[0]]
    for paragraph in paragraphs[1:]:
        previous = joined[-1]
        last = previous.lines[-1]
        if (_is_large(previous, layout) and paragraph.size == previous.size and paragraph.lines[0].page == last.page
                and 0 < last.y - paragraph.lines[0].y <= 1.6 * last.size and not _ends_sentence(previous.text)):
            previous.lines.extend(paragraph.lines)
        else:
            joined.append(paragraph)
    return joined


def _ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSERS)[-1:] in SENTENCE_END


def _is_heading(paragraph: _Paragraph, layout: _Layout) -> bool:
    return not paragraph.lines[0].row and ((_is_large(paragraph, layout) or (paragraph.bold and not layout.bold))
            and len(paragraph.text) <= MAX_HEADING_CHARS and not _ends_sentence(paragraph.text))


def _marked(paragraphs: list[_Paragraph], layout: _Layout) -> list[str]:
    """The paragraphs as lines, headings marked with '#' by size (the title with one)."""
    title = _title(paragraphs, layout)
    heading_sizes = sorted({p.size for p in paragraphs if p is not title and _is_heading(p, layout)}, reverse=True)
    lines = []
    for paragraph in paragraphs:
        if paragraph is title:
            lines.append("# " + paragraph.text)
        elif _is_heading(paragraph, layout):
            level = min(2 + heading_sizes.index(paragraph.size), 6)
            lines.append("#" * level + " " + paragraph.text)
        else:
            lines.append(paragraph.text)
    return lines


def _title(paragraphs: list[_Paragraph], layout: _Layout) -> _Paragraph | None:
    """The largest heading on the first page; else the first paragraph when it is centred and short."""
    first_page = [p for p in paragraphs if p.lines[0].page == paragraphs[0].lines[0].page]
    headings = [p for p in first_page if _is_large(p, layout) and _is_heading(p, layout)]
    if headings:
        return max(headings, key=lambda p: p.size)
    first = paragraphs[0]
    line = first.lines[0]
    centre = (layout.left + layout.right) / 2
    centred = line.x0 > layout.left + line.size and abs((line.x0 + line.x1) / 2 - centre) < 2 * line.size
    return first if centred and len(first.lines) == 1 and len(first.text) <= MAX_HEADING_CHARS \
        and not _ends_sentence(first.text) else None
