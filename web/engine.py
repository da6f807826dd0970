"""One shared search engine per app, and request-argument parsing shared by pages and API."""
from __future__ import annotations

from flask import Flask, current_app

from search.query import Engine, Filters, QueryError, SearchRequest


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


def _int(args, name: str, default: int) -> int:
    value = args.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise QueryError(f"{name} 必须是整数：{value[:20]!r} ({name} must be a whole number)") from None


def search_request(args) -> SearchRequest:
    """A SearchRequest from query-string arguments; QueryError for values that are not numbers."""
    years = []
    for value in args.getlist("year"):
        if value.strip():
            try:
                years.append(int(value))
            except ValueError:
                raise QueryError(f"year 必须是整数：{value[:20]!r} (year must be a whole number)") from None
    filters = Filters(*(tuple(v for v in args.getlist(name) if v.strip()) for name in ("city", "province", "topic")),
                      tuple(years))
    return SearchRequest(q=args.get("q", ""), filters=filters, page=_int(args, "page", 1),
                         limit=_int(args, "limit", 10), sort=args.get("sort", "relevance") or "relevance")
