"""The query language and the request around it: what a user may ask, and its limits.

A query is plain words (each must occur), "phrases" (exactly as typed: no synonyms),
-exclusions, `OR` between two words, and `facet:value` filters inline (city:石家庄,
城市:石家庄). Parsing knows no index: it turns text into a ParsedQuery or raises a
QueryError whose message tells the user what to change. A SearchRequest adds the facet
filters, page, limit and sort the user chose; query_text writes a parsed query back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from search import analysis
from search.facets import BY_NAME, FACETS, FILTER_NAMES, Facet, Filters

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_LIMIT = 100
MAX_RESULT_DEPTH = 10_000
# An export streams, so memory does not limit it; the cap keeps a runaway export from holding a
# server thread for minutes (100k rows take about 10 s) while a collection of 100k passages still
# exports whole, and stays far below a spreadsheet's 1,048,576 rows.
MAX_EXPORT_ROWS = 200_000
FILTER_SYNTAX = re.compile(r"^(%s)[:：](.+)$" % "|".join(sorted(map(re.escape, FILTER_NAMES), key=len, reverse=True)))
QUERY_TOKENS = re.compile(r'-?"[^"]*(?:"|$)|\S+')
UNSEARCHABLE = "查询中没有可检索的词（只有符号或运算符）。请输入中文、字母或数字。"


class QueryError(ValueError):
    """Input the engine cannot answer; the message tells the user what to change."""


@dataclass(frozen=True)
class Alternative:
    text: str
    exact: bool


@dataclass(frozen=True)
class ParsedQuery:
    """A query as typed: required clauses (each a set of OR'ed alternatives), exclusions, inline filters."""

    clauses: tuple[tuple[Alternative, ...], ...] = ()
    excluded: tuple[Alternative, ...] = ()
    filters: Filters = field(default_factory=Filters)
    unsearchable: bool = False  # something was typed, but nothing in it can be searched (only symbols)

    @property
    def empty(self) -> bool:
        return not self.clauses


@dataclass(frozen=True)
class SearchRequest:
    """Everything a search needs from the user."""

    q: str = ""
    filters: Filters = field(default_factory=Filters)
    page: int = 1
    limit: int = 10
    sort: str = "relevance"
    correct: bool = True  # False: search exactly what was typed, never a correction
    places: bool = True   # False: a word that names a place is searched as text only


def parse_query(text: str, lexicon: analysis.Lexicon | None = None) -> ParsedQuery:
    """Split user input into clauses: words (AND), "phrases", -exclusions, OR, field:value filters."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"查询过长：最多 {MAX_QUERY_CHARS} 个字符 (query too long: at most {MAX_QUERY_CHARS} characters)")
    clauses: list[list[Alternative]] = []
    excluded: list[Alternative] = []
    filters: dict[str, list] = {facet.name: [] for facet in FACETS}
    # OR joins the two words beside it only; beside an exclusion or a filter it joins nothing.
    after_word = pending_or = False
    for raw in QUERY_TOKENS.findall(text):
        if raw == "OR" or raw == "|":
            pending_or = pending_or or after_word
            continue
        negative = raw.startswith("-") and len(raw) > 1
        body = raw[1:] if negative else raw
        match = FILTER_SYNTAX.match(body) if not negative else None
        if match:
            facet = BY_NAME[FILTER_NAMES[match.group(1)]]
            filters[facet.name].append(parse_filter_value(facet, match.group(2)))
            after_word = pending_or = False
            continue
        alternative = _alternative(body)
        if alternative is None:
            continue
        if negative:
            excluded.append(alternative)
        elif pending_or:
            clauses[-1].append(alternative)
        else:
            clauses.append([alternative])
        after_word, pending_or = not negative, False
    if sum(len(c) for c in clauses) + len(excluded) > MAX_TERMS:
        raise QueryError(f"查询词过多：最多 {MAX_TERMS} 个 (too many terms: at most {MAX_TERMS})")
    inline = Filters(**{name: tuple(values) for name, values in filters.items()})
    return ParsedQuery(tuple(tuple(c) for c in clauses), tuple(excluded), inline,
                       unsearchable=bool(text.strip()) and not (clauses or excluded or inline.any()))


def parse_filter_value(facet: Facet, value: str):
    """A filter value as typed, in its facet's type; QueryError when it is not one (year=abc)."""
    try:
        return facet.parse(value)
    except ValueError:
        raise QueryError(f"{facet.label}必须是数字：{value[:20]} ({facet.name} must be a number)") from None


def _alternative(raw: str) -> Alternative | None:
    exact = raw.startswith('"')
    text = analysis.compact(raw.strip('"'))
    if not exact:
        text = text.strip("\"'“”‘’()（）《》【】[]<>,，.。!！?？;；:：、")
    if not analysis.has_word_char(text):
        return None
    return Alternative(text, exact)


def query_text(parsed: ParsedQuery) -> str:
    """A parsed query written back in the query language (what a corrected search searched)."""
    words = [" OR ".join(f'"{a.text}"' if a.exact else a.text for a in clause) for clause in parsed.clauses]
    words += [f'-"{a.text}"' if a.exact else f"-{a.text}" for a in parsed.excluded]
    words += [f"{name}:{value}" for name, values in parsed.filters.items() for value in values]
    return " ".join(words)


def check_paging(request: SearchRequest) -> None:
    """QueryError for a page, limit or sort the engine does not serve."""
    if not 1 <= request.limit <= MAX_LIMIT:
        raise QueryError(f"limit 必须在 1 到 {MAX_LIMIT} 之间 (limit must be between 1 and {MAX_LIMIT})")
    if request.page < 1:
        raise QueryError("page 必须是正整数 (page must be 1 or more)")
    if request.page * request.limit > MAX_RESULT_DEPTH:
        raise QueryError(f"页码过大：只能浏览前 {MAX_RESULT_DEPTH} 条结果 (page too deep: only the first {MAX_RESULT_DEPTH} results can be paged)")
    if request.sort not in ("relevance", "date"):
        raise QueryError("sort 只能是 relevance 或 date (sort must be relevance or date)")
