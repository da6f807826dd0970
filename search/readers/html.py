"""Saved web pages (.html, .htm): the article, not the page.

trafilatura finds the article in the page, leaving out navigation, breadcrumbs,
share bars, related links, comments, footers and scripts, and, through htmldate,
its publication date; it parses the string it is given and fetches nothing. The
title is the article's <h1> where the page has one, else trafilatura's, without
the site name a <title> appends. The page is decoded with the charset it declares
(GB2312 and GBK read as their superset GB18030), else a detected one.
"""
from __future__ import annotations

import re

import trafilatura
from lxml.html import HtmlElement

from search.readers import Extracted, IngestError
from search.readers.lines import joined_lines, table_lines
from search.readers.text import decode

DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Labels browsers read as GBK (WHATWG Encoding Standard); GB18030 decodes all of it and more.
GBK_LABELS = {"gb2312", "gbk", "x-gbk", "gb_2312", "gb_2312-80", "chinese", "csgb2312", "csiso58gb231280",
              "iso-ir-58", "gb18030"}
# Separators between a headline and the site or channel names a <title> appends.
TITLE_SEPARATOR = re.compile(r"(\s*(?:_|\||｜|\s[-–—]\s|(?<![-–—A-Za-z0-9])[-–](?![-–A-Za-z0-9]))\s*)")
MAX_SITE_NAME_CHARS = 20
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read(data: bytes, name: str) -> Extracted:
    """The article of a saved web page: headline, headed paragraphs, list items, table rows, date."""
    page = decode_page(data, name)
    article = trafilatura.bare_extraction(page, with_metadata=True, include_comments=False, include_tables=True)
    lines = _body_lines(article.body) if article is not None and article.body is not None else []
    title = _title(trafilatura.load_html(page), article.title) if lines else None
    lines = [line for line in lines if line.lstrip("# ") != title]
    if not lines:
        raise IngestError(f"{name}: no article text found in this web page (a page that loads its text "
                          "with JavaScript saves without it): open the page in a browser and save it as PDF")
    date = article.date if article.date and DATE.match(article.date) else None
    return Extracted(text="\n".join(([f"# {title}"] if title else []) + lines), paragraphs_final=True, date=date)


def decode_page(data: bytes, name: str) -> str:
    """A page's text, in the charset its <meta> declares, else as a text file is decoded."""
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
        if element.tag == "head":
            rend = element.get("rend", "")
            level = int(rend[1]) if re.fullmatch(r"h[1-6]", rend) else 2
            lines.append("#" * max(level, 2) + " " + _text(element))
        elif element.tag == "list":
            lines.extend(_text(item) for item in element.iter("item"))
        elif element.tag == "table":
            rows = [[_text(cell) for cell in row.iter("cell")] for row in element.iter("row")]
            header = any(cell.get("role") == "head" for cell in next(element.iter("row")).iter("cell"))
            lines.extend(table_lines(rows, header))
        else:
            lines.append(_text(element))
    return [line for line in lines if line.lstrip("# ")]


def _text(element) -> str:
    # trafilatura marks a <br> as an empty <lb/>: give it the line break it stands for.
    for lb in element.iter("lb"):
        lb.text = "\n"
    return joined_lines("".join(element.itertext()).split("\n"))


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
