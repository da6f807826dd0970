"""The OpenAPI 3.1 description served at /openapi.json (also what schemathesis tests against).

Response schemas are generated from the classes the API serializes (`search.serialize`
reads the same fields to write the JSON), so the contract cannot drift from the answers.
"""
from __future__ import annotations

import dataclasses
import types
import typing

from search import figures
from search.export import FACET_COLUMNS, FIGURE_COLUMNS, FIGURE_FORMATS, FORMATS, HIT_COLUMNS
from search.facets import FACETS
from search.figure_table import DEFAULT_LIMIT, MAX_LIMIT as MAX_FIGURE_LIMIT, SEARCH_SORTS as FIGURE_SORTS
from search.querylang import MAX_EXPORT_ROWS, MAX_LIMIT, MAX_QUERY_CHARS, MAX_RESULT_DEPTH
from search.results import DocumentView, FigureResult, SearchResult
from search.serialize import json_fields
from web.answers import Error, Health, Suggestions

PRIMITIVES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def schema_of(tp, components: dict) -> dict:
    """The JSON Schema of a Python type; result classes are added to `components` and referenced."""
    if tp in PRIMITIVES:
        return {"type": PRIMITIVES[tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return {"type": "string", "enum": list(args)}
    if origin in (types.UnionType, typing.Union):
        options = [schema_of(arg, components) for arg in args if arg is not types.NoneType]
        if types.NoneType in args:
            options.append({"type": "null"})
        return {"anyOf": options}
    if origin in (list, tuple):
        return {"type": "array", "items": schema_of(args[0], components)}
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(args[1], components)}
    if dataclasses.is_dataclass(tp) or typing.is_typeddict(tp):
        if tp.__name__ not in components:
            components[tp.__name__] = _object_schema(tp, components)
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    raise TypeError(f"no JSON schema for {tp!r}")


def _object_schema(cls, components: dict) -> dict:
    fields = json_fields(cls)
    properties = {}
    for field in fields:
        # An optional field is left out rather than sent empty: never null.
        schema = schema_of(field.type if field.required else _not_none(field.type), components)
        if field.keys:
            schema = {"type": "object", "properties": {key: schema["additionalProperties"] for key in field.keys},
                      "required": list(field.keys), "additionalProperties": False}
        properties[field.key] = schema
    return {"type": "object", "description": (cls.__doc__ or "").strip().split("\n")[0],
            "properties": properties, "required": [f.key for f in fields if f.required],
            "additionalProperties": False}


def _not_none(tp):
    if typing.get_origin(tp) not in (types.UnionType, typing.Union):
        return tp  # list[X] has arguments too, and is no union to take None out of
    options = [arg for arg in typing.get_args(tp) if arg is not types.NoneType]
    return typing.Union[tuple(options)] if options else tp


def _json(description: str, cls, components: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema_of(cls, components)}}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _export_responses(components: dict, no_index: dict) -> dict:
    text = {"schema": {"type": "string"}}
    return {
        "200": {"description": (
            f"csv: UTF-8 with a byte order mark (Excel and WPS read it), a header row "
            f"({', '.join(HIT_COLUMNS)}), then every hit in the search's order, 链接 an absolute "
            f"permalink, cells that would start a formula (= + - @ tab CR) prefixed with an apostrophe. "
            f"jsonl: one hit per line, the hit objects of /api/search (`Hit`). facets-csv: "
            f"{', '.join(FACET_COLUMNS)}, a row per value of every facet. Streamed."),
            "content": {media: text for media in dict.fromkeys(FORMATS.values())}},
        "400": _json("Bad parameters, or more hits than the export limit (narrow the search)", Error, components),
        "503": no_index,
    }


# A figure filter left empty filters nothing, as a facet's empty value does (an HTML form sends them).
NO_VALUE = {"type": "string", "enum": [""]}
EMPTY = "; empty: no filter"


def _figure_params(search_params: list[dict]) -> list[dict]:
    """/api/figures' parameters: the search's (q, filters, correct), what to take of its figures, the
    order and the page."""
    amount = ("; a number (3000, 1.5e4), or with 万 or 亿 (1.5万) when typed; min may not exceed max "
              "(a 400 says so)")
    return [
        *[param for param in search_params if param["name"] not in ("page", "limit", "sort")],
        _query("unit", {"type": "string", "enum": ["", *sorted(figures.reader().vocabulary.units)]},
               "Only figures counted in this unit (元, 人, 人次, 例 …: 万元 is 元); the unit counts are counted "
               "without it" + EMPTY),
        _query("min", {"anyOf": [{"type": "number"}, NO_VALUE]},
               "Only figures whose value (万/亿 applied; a range's lower end) is at least this" + amount + EMPTY),
        _query("max", {"anyOf": [{"type": "number"}, NO_VALUE]}, "Only figures whose value is at most this" + amount
               + EMPTY),
        _query("approx", {"anyOf": [{"type": "boolean"}, NO_VALUE]},
               "true: only inexact figures (近, 约, 余, 多, 超过 …); false: only exact ones" + EMPTY),
        _query("sort", {"type": "string", "enum": list(FIGURE_SORTS)},
               "relevance or date: the figures of the passages in the order /api/search shows them, each "
               "passage's as it writes them (default relevance); value or -value: by value, ascending or "
               "descending, equal values in that order"),
        _query("page", {"type": "integer", "minimum": 1}, "1-based page"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_FIGURE_LIMIT},
               f"Figures per page (default {DEFAULT_LIMIT})"),
    ]


def _figure_export_responses(components: dict, no_index: dict) -> dict:
    text = {"schema": {"type": "string"}}
    return {
        "200": {"description": (
            f"csv: UTF-8 with a byte order mark, a header row ({', '.join(FIGURE_COLUMNS)}), then every "
            f"figure in the order /api/figures pages them, 数值 a number, 约数 约 for an inexact figure, 链接 "
            f"an absolute permalink of the passage with the figure marked, cells that would start a formula "
            f"prefixed with an apostrophe. jsonl: one figure per line, the objects of /api/figures "
            f"(`FigureHit`). Streamed."),
            "content": {FORMATS[fmt]: text for fmt in FIGURE_FORMATS}},
        "400": _json("Bad parameters, or more figures than the export limit (narrow the search)", Error, components),
        "503": no_index,
    }


def build_spec() -> dict:
    """The whole OpenAPI document."""
    components: dict = {}
    no_index = _json("No index to search, or one built by an older rcsearch (the error says what to run)",
                     Error, components)
    filters = [
        {**_query(facet.name, {"type": "array", "items": {"type": "integer" if facet.kind is int else "string"}},
                  f"{facet.description}; repeatable (OR); an unknown value is a 400 naming the nearest known ones"),
         "style": "form", "explode": True}
        for facet in FACETS
    ]
    search_params = [
        _query("q", {"type": "string", "maxLength": MAX_QUERY_CHARS}, "What to search for (see the query language)"),
        *filters,
        _query("page", {"type": "integer", "minimum": 1},
               f"1-based page; page × limit may not exceed {MAX_RESULT_DEPTH} (a 400 says so)"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
               "Hits per page (default 10)"),
        _query("sort", {"type": "string", "enum": ["relevance", "date"]}, "Order of the hits (default relevance)"),
        _query("correct", {"type": "boolean"},
               "false: search exactly what was typed (default true: a term that finds nothing as typed and is "
               "no word or name is searched as the index word it sounds like, homophone or pinyin, and "
               "`corrected` says so; a word or name is only offered, as `did_you_mean`)"),
        _query("places", {"type": "boolean"},
               "false: search a word that names a place as text only (default true: it also matches the "
               "passages of that place, as its province or city filter selects them, and `understood` says so)"),
    ]
    paths = {
        "/api/search": {"get": {
            "summary": "Search passages", "parameters": search_params,
            "responses": {"200": _json("One page of hits with facet counts", SearchResult, components),
                          "400": _json("Bad parameters", Error, components), "503": no_index}}},
        "/api/export": {"get": {
            "summary": "Export a search",
            "description": ("Every passage the search returns (not one page; at most the server's export "
                            f"limit, {MAX_EXPORT_ROWS} by default) as CSV or JSON Lines, or its facet counts as "
                            "CSV (every value, also those /api/search leaves out)."),
            "parameters": [
                {**_query("format", {"type": "string", "enum": list(FORMATS)},
                          "csv (the hits, for spreadsheets), jsonl (the hits, as JSON Lines) or facets-csv "
                          "(the facet counts)"), "required": True},
                *[param for param in search_params if param["name"] not in ("page", "limit")],
            ],
            "responses": _export_responses(components, no_index)}},
        "/api/figures": {"get": {
            "summary": "Figures of the passages a search returns",
            "description": ("The quantities the passages /api/search returns state (every passage when q and the "
                            "filters are empty): value with 万/亿/千 applied, the unit counted, the span as "
                            "written, what it counts, whether it is inexact, and the passage. Years, dates, "
                            "ordinals, slogans and codes are no figures. Figures are counted and sorted, never "
                            "added up."),
            "parameters": _figure_params(search_params),
            "responses": {"200": _json("One page of figures with the unit counts", FigureResult, components),
                          "400": _json("Bad parameters", Error, components), "503": no_index}}},
        "/api/figures/export": {"get": {
            "summary": "Export the figures of a search",
            "description": ("Every figure /api/figures pages (not one page; at most the server's export limit, "
                            f"{MAX_EXPORT_ROWS} by default) as CSV or JSON Lines."),
            "parameters": [
                {**_query("format", {"type": "string", "enum": list(FIGURE_FORMATS)},
                          "csv (for spreadsheets) or jsonl (JSON Lines)"), "required": True},
                *[param for param in _figure_params(search_params) if param["name"] not in ("page", "limit")],
            ],
            "responses": _figure_export_responses(components, no_index)}},
        "/api/suggest": {"get": {
            "summary": "Completions",
            "parameters": [_query("q", {"type": "string"}, "What has been typed so far")],
            "responses": {"200": _json("Indexed words starting with q", Suggestions, components),
                          "503": no_index}}},
        "/api/documents/{doc_id}": {"get": {
            "summary": "One report",
            "parameters": [{"name": "doc_id", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "The report's id (its file name without extension; may hold `/`)"}],
            "responses": {"200": _json("The report and its passages", DocumentView, components),
                          "404": _json("No such report", Error, components), "503": no_index}}},
        "/healthz": {"get": {
            "summary": "Health",
            "responses": {"200": _json("The index is being served", Health, components),
                          "503": _json("No index, or an outdated one: the reason says what to run",
                                       Health, components)}}},
    }
    return {"openapi": "3.1.0",
            "info": {"title": "rcsearch", "version": "1.0.0",
                     "description": "Full-text search over Chinese Red Cross work reports."},
            "paths": paths, "components": {"schemas": components}}


SPEC = build_spec()
