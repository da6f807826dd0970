"""Figure search: the figures of the passages a search returns, as /api/figures, the 数字 view,
`rcsearch figures` and the figure export show them.

A search selects its passages as Engine.select does for a page of results (query, filters,
corrections); the figure table (figure_table) joins them with their figures, filters those
by unit, value and exactness, and orders them as the passages are ordered (ordering:
relevance or date), or by value. Figures are never added up: a 累计 figure and a 新增 one
cannot be summed, so the answer counts and sorts them only.
"""
from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Iterator

import numpy as np

from search import figures, ordering
from search.engine import Engine, Selection
from search.figure_table import (DEFAULT_LIMIT, MAX_LIMIT, SEARCH_SORTS, FigureQuery, FigureRow, every_figure,
                                 figure_page)
from search.querylang import MAX_EXPORT_ROWS, QueryError, SearchRequest, check_paging
from search.results import (FigureHit, FigureResult, UnitCount, figure_mark, figure_url, metadata,
                            passage_permalink)

# An amount as a query string or a terminal carries it: a JSON number, with 万 or 亿 if need be.
AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?([万亿])?")
AMOUNT_MULTIPLIERS = {None: 1, "万": 10_000, "亿": 100_000_000}
MAX_AMOUNT_CHARS = 50


def figure_query(sort: str = "relevance", unit: str | None = None, minimum: str | None = None,
                 maximum: str | None = None, approx: bool | None = None, page: int = 1,
                 limit: int = DEFAULT_LIMIT) -> tuple[str, FigureQuery]:
    """What a figure search asks of the figures, from what a user typed: the order its passages
    go in (relevance or date) and the FigureQuery. QueryError, saying what to change, for a
    sort, unit or amount the engine does not know."""
    if sort not in SEARCH_SORTS:
        raise QueryError(f"sort 只能是 {'、'.join(SEARCH_SORTS)} (sort must be one of: {', '.join(SEARCH_SORTS)})")
    if unit is not None and unit not in figures.reader().vocabulary.units:
        raise QueryError(f"没有这个单位：{unit[:20]}。单位是数字计数所用的量词或计量单位，如 人、元、例、份 "
                         f"(unknown unit: {unit[:20]!r})")
    by_value = sort in ("value", "-value")
    return ("relevance" if by_value else sort,
            FigureQuery(unit, amount("min", minimum), amount("max", maximum), approx, sort if by_value else None,
                        page, limit))


def amount(name: str, written: str | None) -> float | None:
    """A bound of the value range as typed (3000, 1.5万, 2e4), or None when none was typed."""
    if written is None or not written.strip():
        return None
    text = written.strip()
    match = AMOUNT.fullmatch(text) if len(text) <= MAX_AMOUNT_CHARS else None
    try:
        value = float(Decimal(text.rstrip("万亿")) * AMOUNT_MULTIPLIERS[match[3]]) if match else None
    except InvalidOperation:
        value = None
    if value is None or not np.isfinite(value):
        raise QueryError(f"{name} 必须是数字，如 3000、1.5万：{text[:20]!r} ({name} must be a number such as 3000 "
                         f"or 1.5万)")
    return value


def amount_text(value: float) -> str:
    """A figure's value as a table shows it: thousands grouped, no trailing zeros (43,900; 69.7)."""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}".rstrip("0").rstrip(".")


def search_figures(engine: Engine, request: SearchRequest, query: FigureQuery) -> FigureResult:
    """One page of the figures of the passages `request` returns (its page and limit aside),
    as `query` filters, orders and pages them, and the unit counts."""
    selection = _selection(engine, request)
    page = figure_page(selection.view, selection.searcher, selection.hits, query, _order(selection, request.sort))
    return FigureResult(page.total, [figure_hit(row) for row in page.rows],
                        [UnitCount(unit, count) for unit, count in page.units])


def export_figures(engine: Engine, request: SearchRequest, query: FigureQuery,
                   max_rows: int = MAX_EXPORT_ROWS) -> Iterator[FigureHit]:
    """Every figure search_figures pages (not one page), in its order, read as consumed;
    QueryError, before anything is read, when there are more than max_rows."""
    selection = _selection(engine, request)
    total, rows = every_figure(selection.view, selection.searcher, selection.hits, query,
                               _order(selection, request.sort), chunk=MAX_LIMIT)
    if total > max_rows:
        raise QueryError(f"共 {total} 个数字，超过导出上限 {max_rows} 个：请加关键词、筛选条件或数值范围后再导出 "
                         f"({total} figures, more than the export limit of {max_rows}: narrow the search)")
    return (figure_hit(row) for row in rows)


def _selection(engine: Engine, request: SearchRequest) -> Selection:
    check_paging(replace(request, page=1, limit=1))  # only its sort applies
    return engine.select(request)


def _order(selection: Selection, sort: str):
    """The search's order (ordering.order) for some of its passages."""
    return lambda docs, depth: ordering.order(selection.searcher, selection.view, selection.matching, docs, sort,
                                              depth).docs


def figure_hit(row: FigureRow) -> FigureHit:
    """A figure of the table as the API shows it, with links to it in its passage."""
    fields, figure = row.fields, row.figure
    doc_id, passage = fields["doc_id"], fields["passage"]
    return FigureHit(
        value=figures.plain_number(figure.value), unit=figure.unit, text=figure.text, subject=figure.subject,
        approx=figure.approx is not None, doc_id=doc_id, passage=passage, title=fields.get("title", ""),
        **metadata(fields, FigureHit), url=figure_url(doc_id, passage, figure.start, figure.end),
        mark=figure_mark(figure.start, figure.end, passage),
        permalink=f"{passage_permalink(doc_id, fields['text'])}?mark={figure_mark(figure.start, figure.end)}")
