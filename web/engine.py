"""One shared search engine per app, and request-argument parsing shared by pages and API."""
from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from flask import Flask, current_app

from search.engine import Engine
from search.export import FORMATS
from search.facets import FACETS, Filters
from search.figure_search import figure_query
from search.figure_table import DEFAULT_LIMIT, FigureQuery
from search.index import OutdatedIndexError
from search.querylang import QueryError, SearchRequest

NO_INDEX = "还没有可检索的索引，请先运行 rcsearch index (no index to search: run `rcsearch index`)"
OUTDATED_INDEX = ("索引由旧版 rcsearch 建立，字段与当前版本不同，请运行 rcsearch index 重建 "
                  "(the index was built by an older rcsearch with other fields: run `rcsearch index` to rebuild it)")


def init_app(app: Flask) -> None:
    """Register the engine factory; the engine is created on first use."""
    app.extensions["rcsearch"] = None


def get_engine() -> Engine:
    """The app's engine (gazetteer, topics and dictionary loaded once)."""
    engine = current_app.extensions.get("rcsearch")
    if engine is None:
        engine = Engine(current_app.config["INDEX_DIR"])
        current_app.extensions["rcsearch"] = engine
    return engine


def unavailable_reason(error: FileNotFoundError) -> str:
    """Why the index cannot be searched (open_index raised `error`), and what to run."""
    return OUTDATED_INDEX if isinstance(error, OutdatedIndexError) else NO_INDEX


# A whole number the way JSON Schema counts one (7, 2.0, 1e3), as a query string carries it;
# longer than this it is no page, limit or year anyone means.
WHOLE_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?")
MAX_NUMBER_CHARS = 50


def _whole_number(name: str, value: str) -> int:
    number = Decimal(value) if len(value) <= MAX_NUMBER_CHARS and WHOLE_NUMBER.fullmatch(value) else None
    if number is None or number != number.to_integral_value():
        raise QueryError(f"{name} 必须是整数：{value[:20]!r} ({name} must be a whole number)")
    return int(number)


def _single(args, name: str, default: str) -> str:
    """The value of a parameter that takes one, or its default when it is absent."""
    values = args.getlist(name)
    if len(values) > 1:
        raise QueryError(f"{name} 只能给一次 ({name} may be given only once)")
    return values[0] if values else default


def export_format(args, formats=tuple(FORMATS)) -> str:
    """The `format` an export asks for (one of `formats`: search.export.FORMATS by default);
    QueryError when it names none."""
    value = _single(args, "format", "")
    if value not in formats:
        raise QueryError(f"format 只能是 {'、'.join(formats)} (format must be one of: {', '.join(formats)})")
    return value


def search_request(args) -> SearchRequest:
    """A SearchRequest from query-string arguments; QueryError for values that are not numbers."""
    filters = Filters(**{facet.name: tuple(_whole_number(facet.name, v) if facet.kind is int else v
                                           for v in args.getlist(facet.name) if facet.kind is int or v.strip())
                         for facet in FACETS})
    return SearchRequest(q=_single(args, "q", ""), filters=filters,
                         page=_whole_number("page", _single(args, "page", "1")),
                         limit=_whole_number("limit", _single(args, "limit", "10")),
                         sort=_single(args, "sort", "relevance"),
                         correct=_flag("correct", _single(args, "correct", "true")),
                         places=_flag("places", _single(args, "places", "true")))


def figure_request(args) -> tuple[SearchRequest, FigureQuery]:
    """The search whose passages' figures are asked for (q, filters, correct; relevance or date
    order) and what to take of them (unit, min, max, approx, sort by value, page, limit), from
    query-string arguments; QueryError for values the engine does not take."""
    approx = _single(args, "approx", "")
    sort, query = figure_query(
        sort=_single(args, "sort", "relevance"), unit=_single(args, "unit", "").strip() or None,
        minimum=_single(args, "min", ""), maximum=_single(args, "max", ""),
        approx=_flag("approx", approx) if approx else None,
        page=_whole_number("page", _single(args, "page", "1")),
        limit=_whole_number("limit", _single(args, "limit", str(DEFAULT_LIMIT))))
    return replace(search_request(args), sort=sort, page=1, limit=1), query


FLAGS = {"true": True, "1": True, "false": False, "0": False}


def _flag(name: str, value: str) -> bool:
    if value.lower() not in FLAGS:
        raise QueryError(f"{name} 只能是 true 或 false ({name} must be true or false)")
    return FLAGS[value.lower()]
