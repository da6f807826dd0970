"""Hostile and malformed requests, hostile content: never a 500, never a stack trace, never markup.

The apps here run with TESTING on, so an exception no handler expects is not
turned into a 500 but raised into the test: every request below that returns
at all went through the normal code paths, none through the generic 500 handler.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import facets
from search.enrich import Gazetteer
from search.topics import TOPICS_FILE, TopicRules
from search.index import update_index
from search.querylang import MAX_LIMIT, MAX_QUERY_CHARS, MAX_RESULT_DEPTH, MAX_TERMS
from web import create_app

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
HYPOTHESIS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                      database=None)


@pytest.fixture(scope="module")
def api(seed_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(seed_index)}).test_client()


def assert_answered(response, *, allowed=(200, 400)):
    """200 or a 400 that says what is wrong, as JSON; never a trace."""
    assert response.status_code in allowed, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    body = response.get_json()
    if response.status_code >= 400:
        assert set(body) == {"error"} and body["error"].strip()
    assert "Traceback" not in response.get_data(as_text=True)
    return body


# -- arbitrary input -----------------------------------------------------------------

# Any Unicode a URL can carry (lone surrogates cannot be UTF-8 encoded, so no client sends them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
LONG_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=400, max_size=600)
NUMBERISH = st.one_of(st.integers(-10**12, 10**12).map(str), TEXT, st.sampled_from(["", " ", "1e3", "0x10", "٣", "１０"]))
FILTER_VALUES = st.lists(st.one_of(TEXT, st.sampled_from(["石家庄", "浙江", "东阳", "三献", "应急救援", "2021"])),
                         max_size=4)


@st.composite
def search_params(draw):
    params: list[tuple[str, str]] = [("q", draw(st.one_of(TEXT, LONG_TEXT, st.sampled_from(
        ['"', "-", "OR", "city:", "year:x", "(", "（", "造血干细胞 OR", '"急救知识', "-石家庄"]))))]
    for name in ("city", "province", "topic"):
        params += [(name, v) for v in draw(FILTER_VALUES)]
    params += [("year", v) for v in draw(st.lists(NUMBERISH, max_size=3))]
    for name in ("page", "limit"):
        if draw(st.booleans()):
            params.append((name, draw(NUMBERISH)))
    if draw(st.booleans()):
        params.append(("sort", draw(st.one_of(st.sampled_from(["relevance", "date", "RELEVANCE"]), TEXT))))
    return params


@st.composite
def figure_params(draw):
    """A search's parameters, and what the figure view takes of its figures."""
    params = draw(search_params())
    for name, values in (("unit", st.one_of(TEXT, st.sampled_from(["人", "元", "万元", ""]))),
                         ("min", st.one_of(NUMBERISH, st.sampled_from(["1.5万", "2亿", "1e999", "-0", "万"]))),
                         ("max", NUMBERISH), ("approx", st.one_of(TEXT, st.sampled_from(["true", "false", ""]))),
                         ("sort", st.sampled_from(["value", "-value", "VALUE"]))):
        if draw(st.booleans()):
            params.append((name, draw(values)))
    return params + [("view", "figures")]


def _query_string(params):
    from urllib.parse import urlencode
    return urlencode(params)


@HYPOTHESIS
@given(params=search_params())
def test_any_search_request_is_answered_with_results_or_a_clear_400(api, params):
    body = assert_answered(api.get("/api/search?" + _query_string(params)))
    if "hits" in body:
        assert body["total"] >= len(body["hits"]) and body["limit"] >= len(body["hits"])


@HYPOTHESIS
@given(params=search_params())
def test_any_search_page_request_is_a_page_not_a_trace(api, params):
    response = api.get("/?" + _query_string(params))
    assert response.status_code in (200, 400), response.status_code
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and "<!doctype html>" in html.lower()


@HYPOTHESIS
@given(params=figure_params())
def test_any_figures_request_is_answered_with_figures_or_a_clear_400(api, params):
    body = assert_answered(api.get("/api/figures?" + _query_string(params)))
    if "figures" in body:
        assert body["total"] >= len(body["figures"]) and sum(u["count"] for u in body["units"]) >= body["total"]
    page = api.get("/?" + _query_string(params))
    assert page.status_code in (200, 400) and page.mimetype == "text/html"
    assert "Traceback" not in page.get_data(as_text=True)


@HYPOTHESIS
@given(q=st.one_of(TEXT, LONG_TEXT))
def test_any_suggest_request_is_answered(api, q):
    body = assert_answered(api.get("/api/suggest?" + _query_string([("q", q)])), allowed=(200,))
    assert all(set(s) == {"text", "marked", "passages"} for s in body["suggestions"])


@HYPOTHESIS
@given(doc_id=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
def test_any_document_id_is_a_report_or_a_404(api, doc_id):
    from urllib.parse import quote
    # An id starting or ending with "/" makes an empty path segment, which Werkzeug
    # answers with a redirect to the path without it.
    allowed = (200, 404, 308) if "/" in doc_id else (200, 404)
    api_response = api.get("/api/documents/" + quote(doc_id, safe=""))
    assert api_response.status_code in allowed
    if api_response.status_code == 404:
        assert set(api_response.get_json()) == {"error"}
    page = api.get("/doc/" + quote(doc_id, safe=""))
    assert page.status_code in allowed and "Traceback" not in page.get_data(as_text=True)


# -- schemathesis against the app's own contract ---------------------------------------

# The schema is loaded from the app itself at import; the engine (and so the index
# directory) is only needed at the first search, after the fixture below has set it.
CONTRACT_APP = create_app({"TESTING": True, "INDEX_DIR": "/nonexistent"})
CONTRACT = schemathesis.openapi.from_wsgi("/openapi.json", CONTRACT_APP)


@pytest.fixture(scope="module")
def contract_index(seed_index):
    CONTRACT_APP.config["INDEX_DIR"] = str(seed_index)


NAMES = facets.Names(Gazetteer.load(), TopicRules.load(TOPICS_FILE))


def _known(facet: facets.Facet, value) -> bool:
    try:
        return bool(facet.resolve(str(value), NAMES))
    except ValueError:
        return False


@CONTRACT.hook("map_query")
def within_the_contract_descriptions(context, query):
    """The rules of the contract that OpenAPI cannot express (they are in the parameters'
    descriptions): page × limit may not exceed MAX_RESULT_DEPTH, a city, province or topic
    must be one the engine knows, and a figure range's min may not exceed its max. A deeper
    page that the schema allows is moved to the deepest one, an unknown name replaced by a
    known one and a reversed range turned round; the 400s for all three are tested
    elsewhere (tests/test_figure_search.py for the range)."""
    if not query:
        return query
    low, high = query.get("min"), query.get("max")
    if all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in (low, high)) and low > high:
        query = {**query, "min": high, "max": low}
    page, limit = query.get("page"), query.get("limit") or 10
    numbers = all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in (page, limit))
    if numbers and limit >= 1 and page * limit > MAX_RESULT_DEPTH:
        query = {**query, "page": max(1, MAX_RESULT_DEPTH // int(limit))}
    for facet in facets.FACETS:
        values, known = query.get(facet.name), (facet.known(NAMES) or [None])[0]
        if known is None or values is None:
            continue
        if isinstance(values, list):
            query = {**query, facet.name: [v if _known(facet, v) else known for v in values]}
        elif not _known(facet, values):
            query = {**query, facet.name: known}
    return query


@CONTRACT.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_api_honours_its_openapi_contract(contract_index, case):
    """Every check schemathesis has: status codes, content types, response schemas, accepted
    and rejected data, unsupported methods …"""
    case.call_and_validate()


SELECTED = lambda body: [b["value"] for facet in body["facets"].values() for b in facet if b.get("selected")]


@pytest.mark.parametrize("path, parameters, status, shows", [
    ("/api/search", {"query": {"q": "造血干细胞"}}, 200, lambda body: body["hits"][0]["snippet"].count("<mark>") > 0),
    ("/api/search", {"query": {"q": "红十字", "city": ["石家庄"], "topic": ["三献"], "year": [2021]}}, 200,
     lambda body: SELECTED(body) == ["石家庄市", "无偿献血", "造血干细胞捐献", "遗体器官捐献", 2021]),
    ("/api/search", {"query": {"q": "石家庄有多少志愿者加入中华骨髓库"}}, 200, lambda body: body["relaxed"] is True),
    ("/api/search", {"query": {"q": "监车会"}}, 200, lambda body: body["did_you_mean"] == "监事会"),
    ("/api/search", {"query": {"q": "石家庄 救灾"}}, 200, lambda body: body["understood"][0]["value"] == "石家庄市"),
    ("/api/search", {"query": {"q": "石家庄 救灾", "places": "false"}}, 200,
     lambda body: body["offers"][0]["term"] == "石家庄" and body["hits"][0]["missing"] == body["missing"] == ["石家庄"]),
    ("/api/search", {"query": {"q": "意大利", "city": ["石家庄"]}}, 200,
     lambda body: body["offers"] == [{"facet": "city", "value": "石家庄", "total": 1}]),
    ("/api/search", {"query": {"q": "。，、"}}, 200, lambda body: body["notice"].startswith("查询中没有可检索的词")),
    ("/api/search", {"query": {"q": "红", "page": "0"}}, 400, lambda body: "page" in body["error"]),
    ("/api/figures", {"query": {"q": "志愿者", "unit": "人", "sort": "-value"}}, 200,
     lambda body: {f["unit"] for f in body["figures"]} == {"人"} and body["units"][0] == {"value": "人", "count": 21}),
    ("/api/figures", {"query": {"approx": True, "min": 10000}}, 200,
     lambda body: body["figures"] and all(f["approx"] and f["value"] >= 10000 for f in body["figures"])),
    ("/api/figures", {"query": {"min": 5, "max": 3}}, 400, lambda body: "min (5) is above max (3)" in body["error"]),
    ("/api/suggest", {"query": {"q": "造血"}}, 200, lambda body: body["suggestions"][0]["text"] == "造血干细胞"),
    ("/api/documents/{doc_id}", {"path_parameters": {"doc_id": "004_e76b8004cd219140"}}, 200,
     lambda body: {p["city"] for p in body["passages"]} >= {None, "绍兴市", "金华市"}),
    ("/api/documents/{doc_id}", {"path_parameters": {"doc_id": "nope"}}, 404, lambda body: "nope" in body["error"]),
    ("/healthz", {}, 200, lambda body: body == {"status": "ok", "index": True}),
])
def test_answers_with_every_optional_part_match_the_contract(contract_index, path, parameters, status, shows):
    """Answers random generation rarely reaches (real reports, selected buckets, a relaxed
    query, a correction, a notice) checked against the generated response schemas."""
    response = CONTRACT[path]["GET"].Case(**parameters).call_and_validate()
    assert response.status_code == status and shows(response.json())


# -- limits: kept, each with a clear message ---------------------------------------------

@pytest.mark.parametrize("params, status, message", [
    ({"q": "字" * MAX_QUERY_CHARS}, 200, None),
    ({"q": "字" * (MAX_QUERY_CHARS + 1)}, 400, "too long"),
    ({"q": "红", "limit": "1"}, 200, None),
    ({"q": "红", "limit": str(MAX_LIMIT)}, 200, None),
    ({"q": "红", "limit": "0"}, 400, "limit must be between 1 and 100"),
    ({"q": "红", "limit": str(MAX_LIMIT + 1)}, 400, "limit must be between 1 and 100"),
    ({"q": "红", "limit": "-5"}, 400, "limit must be between 1 and 100"),
    ({"q": "红", "page": str(MAX_RESULT_DEPTH // 10), "limit": "10"}, 200, None),
    ({"q": "红", "page": str(MAX_RESULT_DEPTH // 10 + 1), "limit": "10"}, 400, "page too deep"),
    ({"q": "红", "page": "-1"}, 400, "page must be 1 or more"),
    ({"q": "红", "page": "9" * 40}, 400, "page too deep"),
    ({"q": "红", "limit": "9" * 40}, 400, "limit must be between 1 and 100"),
    ({"q": "红", "page": "½"}, 400, "page must be a whole number"),
    ({"q": "红", "year": "２〇２１"}, 400, "year must be a whole number"),
    ({"q": "year:二〇二一"}, 400, "year must be a number"),
    ({"q": " ".join(f"词{i}" for i in range(MAX_TERMS + 1))}, 400, "too many terms"),
    ({"q": " ".join(f"词{i}" for i in range(MAX_TERMS))}, 200, None),
])
def test_limits_answer_with_a_clear_400(api, params, status, message):
    body = assert_answered(api.get("/api/search", query_string=params), allowed=(status,))
    if message:
        assert message in body["error"]


def test_thousands_of_ors_are_refused_not_run(api):
    thousands = " OR ".join(f"词{i}" for i in range(3000))
    assert "too long" in assert_answered(api.get("/api/search", query_string={"q": thousands}), allowed=(400,))["error"]
    as_many_as_fit = " OR ".join(["红"] * 125)[:MAX_QUERY_CHARS]
    assert "too many terms" in assert_answered(api.get("/api/search", query_string={"q": as_many_as_fit}),
                                               allowed=(400,))["error"]


PATHOLOGICAL = {
    "one character 500 times": "红" * 500,
    "one letter 500 times": "a" * 500,
    "one digit 500 times": "9" * 500,
    "500 ASCII symbols": ("!@#$%^&*()_+-=[]{}|;':,./<>?~`\\" * 20)[:500],
    "500 CJK punctuation marks": ("。，、；：？！…—·「」『』【】〔〕（）《》〈〉" * 25)[:500],
    "500 quotes": '"' * 500,
    "500 minus signs": "-" * 500,
    "alternating quotes and words": ('"红 ' * 125)[:500],
    "a 500-character word run": ("造血干细胞石家庄志愿者红十字博爱送万家魔豆妈妈" * 25)[:500],
    "control characters": "".join(chr(c) for c in range(32)) * 15,
    "bidi and zero-width marks": ("\u202e红\u200b十\u2066字\ufeff" * 80)[:500],
    "filter syntax only": ("city: province: topic: year: " * 20)[:500],
}


@pytest.mark.parametrize("q", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_queries_are_answered(api, q):
    assert_answered(api.get("/api/search", query_string={"q": q}))
    assert api.get("/", query_string={"q": q}).status_code in (200, 400)
    assert_answered(api.get("/api/suggest", query_string={"q": q}), allowed=(200,))


# -- error handlers ---------------------------------------------------------------------

@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/nothing-here", 404),
    ("GET", "/api", 404),
    ("POST", "/api/search", 405),
    ("DELETE", "/api/documents/001_77d36a74d18f4973", 405),
    ("PUT", "/healthz", 405),
    ("POST", "/openapi.json", 405),
])
def test_api_errors_are_json(api, method, path, status):
    response = api.open(path, method=method)
    assert_answered(response, allowed=(status,))
    if status == 405:
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/no-such-page", 404),
    ("GET", "/doc/", 404),
    ("POST", "/", 405),
    ("POST", "/overview", 405),
])
def test_page_errors_are_plain_pages(api, method, path, status):
    response = api.open(path, method=method)
    assert response.status_code == status and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert str(status) in html and "Traceback" not in html and 'href="/"' in html


@pytest.fixture
def failing_app(seed_index):
    """A production-mode app (TESTING off) with two routes that fail unexpectedly."""
    app = create_app({"INDEX_DIR": str(seed_index)})

    def explode():
        raise RuntimeError("secret internal detail /etc/rcsearch")

    app.add_url_rule("/api/explode", "api_explode", explode)
    app.add_url_rule("/explode", "explode", explode)
    return app


def test_an_unexpected_exception_is_logged_and_answered_generically(failing_app, caplog):
    client = failing_app.test_client()
    api_answer = client.get("/api/explode")
    page = client.get("/explode")
    assert api_answer.status_code == page.status_code == 500
    assert set(api_answer.get_json()) == {"error"} and "internal server error" in api_answer.get_json()["error"]
    assert page.mimetype == "text/html"
    for response in (api_answer, page):
        body = response.get_data(as_text=True)
        assert "secret internal detail" not in body and "Traceback" not in body and "RuntimeError" not in body
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    logged = [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]
    assert len(logged) == 2 and "secret internal detail" in str(logged[0].exc_info[1])


# -- hostile content ------------------------------------------------------------------------

HOSTILE_MD = """\
# 恶意标题<script>alert('title')</script>红十字会

恶意正文甲 <script>alert(1)</script> 红十字会组织应急救护培训。

<img src=x onerror="alert(2)"> 恶意图片乙 红十字志愿者开展救灾。

[恶意链接丙](javascript:alert(3)) 与 [大写协议](JaVaScRiPt:alert(33)) 与 [实体协议](&#106;avascript:alert(34))

<a href="javascript:alert(4)" onclick="alert(5)">恶意原始链接丁</a> 红十字会募捐。

<div onmouseover="alert(6)" style="background:url(javascript:alert(7))">恶意悬停戊</div>。

<iframe src="javascript:alert(8)"></iframe><svg onload=alert(9)></svg><object data="x"></object>。

<style>body { display: none }</style>恶意样式己 <form action="javascript:alert(10)"><button formaction="javascript:alert(11)">提交</button></form>。

恶意尖括号庚 a<b && c>d "引号" 'single' &amp; &lt;script&gt;。
"""

HOSTILE_TXT = """\
恶意纯文本报告<script>alert('t')</script>

恶意纯文本甲 <script>alert(1)</script> 红十字会组织应急救护培训。

<img src=x onerror=alert(2)> 恶意纯文本乙 <a href="javascript:alert(3)">链接</a> 红十字志愿者开展救灾。
"""

HOSTILE_WORDS = ["恶意正文甲", "恶意图片乙", "恶意链接丙", "恶意原始链接丁", "恶意悬停戊", "恶意样式己", "恶意尖括号庚",
                 "恶意纯文本甲", "恶意纯文本乙"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An index of one seed and two hostile reports, and a client over it."""
    root = tmp_path_factory.mktemp("hostile")
    sources = root / "sources"
    sources.mkdir()
    shutil.copy(SEEDS / "001_77d36a74d18f4973.txt", sources)
    (sources / "hostile_md.md").write_text(HOSTILE_MD, encoding="utf-8")
    (sources / "hostile_txt.txt").write_text(HOSTILE_TXT, encoding="utf-8")
    summary = update_index([sources], root / "index", workers=1)
    assert summary.failed == [] and len(summary.added) == 3
    # On disk, in the source folder, but never indexed: must never be served.
    (sources / "not_indexed_secret.txt").write_text("秘密内容 不应被读取", encoding="utf-8")
    app = create_app({"TESTING": True, "INDEX_DIR": str(root / "index")})
    return app.test_client(), root


class _Markup(HTMLParser):
    """Every tag, attribute and inline script/style of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.inline: list[str] = []
        self._open = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._open = tag if tag in ("script", "style") else None

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        if self._open and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag):
        self._open = None


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"}


def assert_no_active_content(html: str):
    """No script but the app's own static ones, no on*= handler, no javascript: URL, no frames."""
    parser = _Markup()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in ("iframe", "object", "embed", "frame", "svg", "form") or (tag == "form" and
                                                                                  attrs.get("action") == "/"), tag
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in URL_ATTRIBUTES:
                assert not re.match(r"\s*(javascript|vbscript|data):", value, re.IGNORECASE), (tag, name, value)
            assert "javascript:" not in value.lower(), (tag, name, value)
    assert parser.inline == [], parser.inline
    assert "<script>alert" not in html.lower()


@pytest.mark.parametrize("word", HOSTILE_WORDS)
def test_hostile_text_is_found_and_escaped_in_snippets(hostile, word):
    client, _ = hostile
    body = assert_answered(client.get("/api/search", query_string={"q": word}), allowed=(200,))
    exact = [hit for hit in body["hits"] if word in hit["text"]]
    assert exact and f"<mark>{word}</mark>" in exact[0]["snippet"], body["hits"]
    for hit in body["hits"]:
        without_marks = hit["snippet"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in without_marks and ">" not in without_marks, hit["snippet"]
    page = client.get("/", query_string={"q": word})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_no_active_content(html)
    assert f"<mark>{word}</mark>" in html


def test_hostile_markup_in_plain_text_is_shown_as_text(hostile):
    client, _ = hostile
    hit = client.get("/api/search", query_string={"q": "恶意纯文本甲"}).get_json()["hits"][0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit["snippet"]
    assert "<script>alert(1)</script>" in hit["text"]  # the API's plain text is the text itself
    html = client.get(f"/doc/{hit['doc_id']}", query_string={"q": "恶意纯文本甲"}).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # visible to the reader, not executed
    assert_no_active_content(html)


@pytest.mark.parametrize("doc_id", ["hostile_md", "hostile_txt"])
@pytest.mark.parametrize("q", ["", "恶意", "script", "alert", "javascript", "onerror", "lt", "amp", "href"])
def test_document_view_of_hostile_reports_is_sanitized(hostile, doc_id, q):
    client, _ = hostile
    response = client.get(f"/doc/{doc_id}", query_string={"q": q} if q else None)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_no_active_content(html)
    assert "恶意" in html


def test_markdown_view_keeps_the_readable_text_of_hostile_markup(hostile):
    client, _ = hostile
    html = client.get("/doc/hostile_md").get_data(as_text=True)
    for word in ("恶意正文甲", "恶意链接丙", "恶意原始链接丁", "恶意悬停戊", "恶意尖括号庚"):
        assert word in html, word


def test_suggestions_from_hostile_text_are_json_data_only(hostile):
    client, _ = hostile
    for prefix in ("恶意", "scr", "ale", "java", "on", "<", "<scr"):
        response = client.get("/api/suggest", query_string={"q": prefix})
        body = assert_answered(response, allowed=(200,))
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        for suggestion in body["suggestions"]:
            text, marked = suggestion["text"], suggestion["marked"]
            assert "<" not in text and ">" not in text and "javascript:" not in text
            # The marked form is HTML-safe: only <mark> is markup in it.
            assert re.sub(r"</?mark>", "", marked) == html.escape(text)
    # The hostile words are indexed and suggested, as data.
    suggested = lambda q: [s["text"] for s in client.get("/api/suggest", query_string={"q": q}).get_json()["suggestions"]]
    assert "script" in suggested("scr") and "onerror" in suggested("on")


def test_document_api_returns_hostile_source_as_json_text(hostile):
    client, _ = hostile
    response = client.get("/api/documents/hostile_md")
    body = assert_answered(response, allowed=(200,))
    assert "<script>alert(1)</script>" in body["source"]
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"


# -- document ids never reach the filesystem ----------------------------------------------------

TRAVERSALS = [
    "..", "...", "../not_indexed_secret", "..%2Fnot_indexed_secret", "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2fnot_indexed_secret", "..%5Cnot_indexed_secret", "%2Fetc%2Fpasswd", "%252e%252e%252f",
    "not_indexed_secret", "not_indexed_secret.txt", "sources%2Fnot_indexed_secret", "..%2Fsources%2Fnot_indexed_secret",
    "%00", "hostile_md%00.txt", "%EF%BC%8E%EF%BC%8E%EF%BC%8Fsecret", "C:%5C..%5Csecret", "~root", "x" * 5000,
    "current", "gen-", ".lock", "%2F" * 3,
]

_OPENED: list[str] | None = None


def _audit(event, args):
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.mark.parametrize("doc_id", TRAVERSALS)
def test_document_ids_are_looked_up_in_the_index_only(hostile, doc_id):
    global _OPENED
    client, root = hostile
    client.get("/api/documents/001_77d36a74d18f4973")  # the searcher is open before we watch
    _OPENED = []
    try:
        responses = [client.get(f"/api/documents/{doc_id}"), client.get(f"/doc/{doc_id}"),
                     client.get(f"/p/{doc_id}/0123456789ab")]
        opened = list(_OPENED)
    finally:
        _OPENED = None
    for response in responses:
        assert response.status_code == 404, (doc_id, response.status_code)
        body = response.get_data(as_text=True)
        assert "秘密内容" not in body and "root:" not in body
    index_dir = os.path.realpath(root / "index")
    strays = [path for path in opened if not os.path.realpath(path).startswith(index_dir + os.sep)
              or "secret" in path or "passwd" in path]
    assert strays == [], strays


# -- security headers ------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path", [
    ("GET", "/"), ("GET", "/?q=恶意正文甲"), ("GET", "/doc/hostile_md"), ("GET", "/overview"),
    ("GET", "/api/search?q=红"), ("GET", "/api/search?limit=0"), ("GET", "/api/suggest?q=红"),
    ("GET", "/api/documents/hostile_md"), ("GET", "/api/documents/nope"), ("GET", "/openapi.json"),
    ("GET", "/healthz"), ("GET", "/static/app.js"), ("GET", "/static/style.css"), ("GET", "/nope"),
    ("GET", "/api/export?format=csv&q=恶意"), ("GET", "/api/export?format=xlsx"), ("GET", "/p/hostile_md/nope"),
    ("GET", "/static/copy.js"),
    ("POST", "/api/search"), ("HEAD", "/"), ("OPTIONS", "/api/search"),
])
def test_security_headers_on_every_response(hostile, method, path):
    client, _ = hostile
    headers = client.open(path, method=method).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


def test_security_headers_on_the_generic_500(failing_app):
    headers = failing_app.test_client().get("/explode").headers
    assert "unsafe-inline" not in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>", '<img src=x onerror="alert(1)">', '<a href=" JavaScript:alert(1)">x</a>',
    '<iframe src="/"></iframe>', '<script src="https://evil.example/x.js"></script>', '<div onclick=x>y</div>',
    '<form action="javascript:alert(1)"></form>', '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
])
def test_the_active_content_check_is_not_blind(html):
    with pytest.raises(AssertionError):
        assert_no_active_content(f"<!doctype html><p>{html}</p>")
