"""Saved web pages (.html, .htm): the article, not the page.

trafilatura finds the article in the page, leaving out navigation, breadcrumbs,
share bars, related links, comments, footers and scripts, and, through htmldate,
its publication date; it parses the string it is given and fetches nothing. The
title is the article's <h1> where the page has one, else trafilatura's, without
the site name a <title> appends. The page is decoded with the charset it declares
(GB2312 and GBK read as their superset GB18030), else a detected one.

htmldate reads dates from metadata, markup and URLs, but not Chinese dates in the
text (2024年1月26日), and when it searches the text it turns a bare year into
January 1st: it does not search the text here, and a labelled Chinese date
(发布时间：2024年1月26日, or the date before 来源) is taken when it finds none.
"""
from __future__ import annotations

import re

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import set_date_params

from search.furniture import without_channel_tag
from search.readers import Extracted, IngestError
from search.readers.lines import joined_lines, table_markdown
from search.readers.text import decode

DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Labels browsers read as GBK (WHATWG Encoding Standard); GB18030 decodes all of it and more.
GBK_LABELS = {"gb2312", "gbk", "x-gbk", "gb_2312", "gb_2312-80", "chinese", "csgb2312", "csiso58gb231280",
              "iso-ir-58", "gb18030"}
# Separators between a headline and the site or channel names a <title> appends.
TITLE_SEPARATOR = re.compile(r"(\s*(?:_|\||｜|\s[-–—]\s|(?<![-–—A-Za-z0-9])[-–](?![-–A-Za-z0-9]))\s*)")
MAX_SITE_NAME_CHARS = 20
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# trafilatura's elements that start a line of their own.
BLOCK_TAGS = {"p", "head", "list", "item", "quote", "lb", "table", "row", "cell", "code"}
CHINESE_DATE = r"((?:19|20)\d{2})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|[-/.](\d{1,2})[-/.](\d{1,2}))"
LABELLED_DATE = re.compile(rf"(?:发布|发表|更新)?(?:时间|日期)\s*[:：]\s*{CHINESE_DATE}"
                           rf"|{CHINESE_DATE}(?:\s*\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?\s*(?:来源|作者|编辑)")


def read(data: bytes, name: str) -> Extracted:
    """The article of a saved web page: headline, headed paragraphs, list items, table rows, date."""
    page = decode_page(data, name)
    article = trafilatura.bare_extraction(page, with_metadata=True, include_comments=False, include_tables=True,
                                          date_extraction_params=set_date_params(extensive=False))
    lines = _body_lines(article.body) if article is not None and article.body is not None else []
    tree = trafilatura.load_html(page)
    title = _title(tree, article.title) if lines else None
    lines = _after_headline(lines, title)
    if not lines:
        raise IngestError(f"{name}: no article text found in this web page (a page that loads its text "
                          "with JavaScript saves without it): open the page in a browser and save it as PDF")
    date = article.date if article.date and DATE.match(article.date) else _labelled_date(tree)
    return Extracted(text="\n".join(([f"# {title}"] if title else []) + lines), paragraphs_final=True, date=date)


def decode_page(data: bytes, name: str) -> str:
    """A page's text: UTF-16 by its byte order mark, else in the charset its <meta> declares,
    else as a text file is decoded."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    declared = DECLARED_CHARSET.search(data[:4096])
    if declared and not data.startswith(b"\xef\xbb\xbf"):
        label = declared.group(1).decode("ascii").lower()
        try:
            return data.decode("gb18030" if label in GBK_LABELS else label)
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown or wrong declaration: detect instead
    return decode(data, name)


def _body_lines(body) -> list[str]:
    """trafilatura's article tree in the line format: head -> '#' lines, p, list items, table rows."""
    lines = []
    for element in body:
        if element.tag == "table":
            lines.extend(_table_lines(element))
            continue
        if element.tag == "head":
            rend = element.get("rend", "")
            level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
            texts = ["#" * max(level, 2) + " " + joined_lines(_lines(element))]
        else:
            texts = _lines(element)
        lines.extend(line for line in texts if _says_something(line))
    return lines


def _says_something(line: str) -> bool:
    """False for a line of separators alone (the | between menu links)."""
    return any(char.isalnum() for char in line.lstrip("# "))


def _table_lines(table) -> list[str]:
    """A table's rows, one line each; a one-column table (a page laid out in a table) as its lines."""
    rows = [list(row.iter("cell")) for row in table.iter("row")]
    if all(len(cells) <= 1 for cells in rows):
        return [line for cells in rows for cell in cells for line in _lines(cell) if _says_something(line)]
    header = any(cell.get("role") == "head" for cell in rows[0])
    return table_markdown([[" ".join(_lines(cell)) for cell in cells] for cells in rows], header)


def _lines(element) -> list[str]:
    """The lines of an element's text: each paragraph, list item or heading in it, and each
    <br> (trafilatura's <lb/>, with which old sites separate paragraphs), starts a line.
    trafilatura's fallback for a page it cannot make out separates blocks with line breaks;
    elsewhere it has turned the line breaks of the page's source into spaces."""
    parts: list[str] = []
    _collect(element, parts)
    return [line for line in (joined_lines([line]) for line in "".join(parts).split("\n")) if line]


def _collect(node, parts: list[str]) -> None:
    block = node.tag in BLOCK_TAGS
    parts.append("\n" if block else "")
    parts.append(node.text or "")
    for child in node:
        _collect(child, parts)
        parts.append(child.tail or "")
    parts.append("\n" if block else "")


def _after_headline(lines: list[str], title: str | None) -> list[str]:
    """The lines after the headline where the text holds it (what precedes it, when trafilatura
    had to take a whole page, is the site's header and menus), without repeats of it."""
    # The headline may stand in the text under a channel tag (【基层动态】…).
    texts = [without_channel_tag(line.lstrip("# ")) for line in lines]
    headline = without_channel_tag(title or "")
    start = texts.index(headline) + 1 if headline in texts else 0
    return [line for line, text in zip(lines[start:], texts[start:]) if text != headline]


def _labelled_date(tree: HtmlElement | None) -> str | None:
    """The first date in the page labelled as the publication date (发布时间：…, … 来源：…)."""
    match = LABELLED_DATE.search(" ".join(tree.text_content().split())) if tree is not None else None
    if not match:
        return None
    year, month, day = [int(g) for g in match.groups() if g]
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else None


def _title(tree: HtmlElement | None, extracted: str | None) -> str | None:
    """The article's headline: an <h1> that the page's <title> starts with, or its only <h1>
    (not the site's logo); else trafilatura's title; without appended site names."""
    if tree is None:
        return extracted
    page_title, site_names = _without_site_names(" ".join(tree.findtext(".//title", "").split()))
    headlines = [text for text in (joined_lines([h1.text_content()]) for h1 in tree.iter("h1"))
                 if text and text not in site_names]
    for headline in headlines:
        if len(headline) >= 4 and page_title.startswith(headline):
            return headline
    if len(headlines) == 1:
        return headlines[0]
    return _without_site_names(extracted)[0] if extracted else page_title or None


def _without_site_names(title: str) -> tuple[str, set[str]]:
    """A <title> less the site and channel names after the headline (标题_频道_某省红十字会,
    标题 - 新华网), and those names."""
    parts = TITLE_SEPARATOR.split(title)  # headline, separator, name, separator, name ...
    dropped = set()
    while len(parts) > 1 and len(parts[-1]) <= MAX_SITE_NAME_CHARS and len(parts[-1]) < max(map(len, parts[:-2:2])):
        dropped.add(parts[-1])
        del parts[-2:]
    return "".join(parts), dropped
