"""Results taken away: a search's hits as CSV (for Excel and WPS) or JSON Lines, its facet counts
as CSV, the figures of its passages as CSV or JSON Lines. Each is written a line at a time from
an iterator, so an export of any size streams (Engine.export and figure_search.export_figures
read their rows as they are consumed).

The API (`/api/export`, `/api/figures/export`) and the CLI (`rcsearch search --format`,
`rcsearch figures --format`) write the same bytes.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
from typing import Iterable, Iterator

from search.facets import BY_NAME
from search.results import METADATA, Bucket, FigureHit, Hit
from search.serialize import to_json

# Excel and WPS read a CSV file as UTF-8 only when it starts with a byte order mark.
BOM = "\ufeff"
# The column of each of a passage's region and metadata (results.METADATA: one for each).
METADATA_COLUMNS = {"province": "省", "city": "市", "county": "县", "level": "层级", "topics": "主题",
                    "year": "年份"}
HIT_COLUMNS = ("报告", "标题", "段落号", "小标题", *(METADATA_COLUMNS[name] for name in METADATA),
               "段落全文", "链接")
FACET_COLUMNS = ("维度", "值", "上级", "段落数")
# A figure's region and year: the metadata a FigureHit carries.
FIGURE_METADATA = tuple(name for name in METADATA if name in FigureHit.__annotations__)
FIGURE_COLUMNS = ("数值", "单位", "原文", "所计", "约数", "报告", "标题", "段落号",
                  *(METADATA_COLUMNS[name] for name in FIGURE_METADATA), "链接")
FIGURE_FORMATS = ("csv", "jsonl")
APPROX_CELL = "约"
TOPIC_SEPARATOR = "、"
# OWASP, "CSV Injection": a cell starting with one of these is run as a formula by a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"csv": "text/csv", "jsonl": "application/x-ndjson", "facets-csv": "text/csv"}


def spreadsheet_safe(cell):
    """A cell a spreadsheet shows as text: a string that would start a formula gets a leading
    apostrophe, as OWASP advises (defusedcsv does the same, but also rewrites `|` inside the
    text, which would change a passage's words). Numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """Rows as CSV, a line at a time (CRLF, as Excel writes them), the BOM first, every cell
    spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield BOM
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def hit_row(hit: Hit, base_url: str) -> tuple:
    """A hit's cells in HIT_COLUMNS order; its link is the permalink on the server at base_url."""
    return (hit.doc_id, hit.title, hit.passage, hit.heading, *(_cell(getattr(hit, name)) for name in METADATA),
            hit.text, base_url + hit.permalink)


def _cell(value) -> str | int:
    """A metadata value as a cell: blank when unknown, topics joined."""
    if value is None:
        return ""
    return TOPIC_SEPARATOR.join(value) if isinstance(value, list) else value


def hits_csv(hits: Iterable[Hit], base_url: str) -> Iterator[str]:
    """Hits as CSV: a header row in Chinese (HIT_COLUMNS), then a row per hit in the order given."""
    return csv_lines(itertools.chain([HIT_COLUMNS], (hit_row(hit, base_url) for hit in hits)))


def hits_jsonl(hits: Iterable[Hit]) -> Iterator[str]:
    """Hits as JSON Lines: each line the object /api/search answers for that hit."""
    return _json_lines(hits)


def _json_lines(results: Iterable) -> Iterator[str]:
    for result in results:
        yield json.dumps(to_json(result), ensure_ascii=False) + "\n"


def facets_csv(buckets: dict[str, list[Bucket]]) -> Iterator[str]:
    """Facet counts as CSV: a row per value (the facet's Chinese label, the value, the value it
    nests under, its passages), facets in the order given, values in each facet's order."""
    rows = ((BY_NAME[name].label, bucket.value, bucket.parent or "", bucket.count)
            for name, facet_buckets in buckets.items() for bucket in facet_buckets)
    return csv_lines(itertools.chain([FACET_COLUMNS], rows))


def figure_row(figure: FigureHit, base_url: str) -> tuple:
    """A figure's cells in FIGURE_COLUMNS order: its value a number, 约 when it is inexact, its
    link the permalink of its passage (figure marked) on the server at base_url."""
    return (figure.value, figure.unit, figure.text, figure.subject, APPROX_CELL if figure.approx else "",
            figure.doc_id, figure.title, figure.passage, *(_cell(getattr(figure, name)) for name in FIGURE_METADATA),
            base_url + figure.permalink)


def figures_csv(found: Iterable[FigureHit], base_url: str) -> Iterator[str]:
    """Figures as CSV: a header row in Chinese (FIGURE_COLUMNS), then a row per figure in the order given."""
    return csv_lines(itertools.chain([FIGURE_COLUMNS], (figure_row(figure, base_url) for figure in found)))


def figures_jsonl(found: Iterable[FigureHit]) -> Iterator[str]:
    """Figures as JSON Lines: each line the object /api/figures answers for that figure."""
    return _json_lines(found)
