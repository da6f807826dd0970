"""The HTTP JSON API: contract, errors, security headers."""
from __future__ import annotations

import shutil

import pytest
from whoosh.filedb.filestore import FileStorage

from search import snippets
from search.engine import Engine
from search.index import current_generation, update_index
from search.querylang import SearchRequest
from search.results import passage_anchor
from web.engine import NO_INDEX, OUTDATED_INDEX

from conftest import SEEDS, client_over


def search(client, **params):
    return client.get("/api/search", query_string=params)


def test_search_answer_has_the_documented_shape(client):
    answer = search(client, q="造血干细胞").get_json()
    assert set(answer) >= {"query", "total", "total_reports", "page", "limit", "took_ms", "hits", "facets"}
    hit = answer["hits"][0]
    assert set(hit) == {"doc_id", "title", "passage", "heading", "text", "snippet", "score", "province",
                        "city", "county", "level", "topics", "year", "url", "permalink"}
    assert hit["url"] == f"/doc/{hit['doc_id']}#p{hit['passage']}"
    assert hit["permalink"] == f"/p/{hit['doc_id']}/{passage_anchor(hit['text'])}"
    assert set(answer["facets"]) == {"province", "city", "topic", "year", "level"}
    # Every bucket has one shape, whatever facet it belongs to.
    assert {tuple(sorted(b)) for buckets in answer["facets"].values() for b in buckets} == {
        ("count", "parent", "selected", "value")}


def test_paging_walks_through_all_hits(client):
    first = search(client, q="红十字", limit=5, page=1).get_json()
    second = search(client, q="红十字", limit=5, page=2).get_json()
    keys = {(h["doc_id"], h["passage"]) for h in first["hits"]} | {(h["doc_id"], h["passage"]) for h in second["hits"]}
    assert len(keys) == 10 and first["total"] == second["total"] > 10


@pytest.mark.parametrize("params", [{"q": "红十字"}, {"q": "红十字", "sort": "date"}, {"province": "河北"}])
def test_any_page_at_any_size_is_a_slice_of_one_order(client, params):
    # A page far down asked first, then the top, then a page of another size: one order.
    keys = lambda answer: [(h["doc_id"], h["passage"]) for h in answer["hits"]]
    third = keys(search(client, **params, limit=7, page=3).get_json())
    whole = keys(search(client, **params, limit=100, page=1).get_json())
    second = keys(search(client, **params, limit=9, page=2).get_json())
    assert len(whole) > 21 and third == whole[14:21] and second == whole[9:18]


@pytest.mark.parametrize("params, message", [
    ({"q": "红", "limit": "0"}, "limit"),
    ({"q": "红", "limit": "101"}, "limit"),
    ({"q": "红", "limit": "abc"}, "limit"),
    ({"q": "红", "page": "0"}, "page"),
    ({"q": "红", "page": "99999999"}, "page too deep"),
    ({"q": "红", "page": "1e9"}, "page"),
    ({"q": "红", "sort": "random"}, "sort"),
    ({"q": "红", "year": "twenty"}, "year"),
    ({"q": "字" * 501}, "too long"),
    ({"q": "石家庄 救灾", "places": "maybe"}, "places must be true or false"),
])
def test_bad_parameters_get_400_with_a_message(client, params, message):
    response = search(client, **params)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_security_headers_on_every_response(client):
    for path in ("/", "/api/search?q=红十字", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"]


def test_healthz_and_openapi(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok", "index": True})
    spec = client.get("/openapi.json").get_json()
    assert "/api/search" in spec["paths"]


def test_a_corrected_answer_matches_its_openapi_schema(client):
    import jsonschema_rs  # schemathesis's validator

    spec = client.get("/openapi.json").get_json()
    answer = client.get("/api/search", query_string={"q": "造血肝细胞"}).get_json()
    assert answer["corrected"] == [{"from": "造血肝细胞", "to": "造血干细胞"}]
    schema = spec["paths"]["/api/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema_rs.validate(schema | {"components": spec["components"]}, answer)


def test_document_api_and_path_traversal(client):
    doc = client.get("/api/documents/001_77d36a74d18f4973").get_json()
    assert doc["title"] == "用爱心凝聚人道力量 用行动弘扬红十字精神"
    assert doc["passages"][0]["passage"] == 1
    for bad in ("..%2F..%2Fetc%2Fpasswd", "nope", "%00"):
        assert client.get(f"/api/documents/{bad}").status_code == 404


@pytest.fixture
def topics_client(topics_index):
    yield from client_over(topics_index)


def words(*pairs: str) -> list[dict]:
    """TopicWord answers from "word@where" strings."""
    return [dict(zip(("word", "where"), pair.split("@"))) for pair in pairs]


def test_the_document_api_gives_each_passages_topics_with_the_words_that_gave_them(topics_client):
    import jsonschema_rs  # schemathesis's validator

    answer = topics_client.get("/api/documents/topics_report").get_json()
    assert [(p["text"][:6], p["topics"], p["topic_evidence"]) for p in answer["passages"]] == [
        ("某区红十字会", [], {}),
        ("一、无偿献血", ["无偿献血"], {"无偿献血": words("无偿献血@text")}),  # a heading is what it names
        ("全年组织无偿", ["无偿献血"], {"无偿献血": words(
            "无偿献血@text", "献血者@text", "献血量@text", "毫升@text", "无偿献血@heading", "献血点@neighbours",
            "献血者@neighbours")}),
        ("全年有320", ["无偿献血", "志愿服务"], {
            "无偿献血": words("献血点@text", "献血者@text", "无偿献血@heading", "无偿献血@neighbours",
                              "献血者@neighbours", "献血量@neighbours", "毫升@neighbours"),
            "志愿服务": words("志愿者@text", "志愿服务@text")}),
        ("二、志愿服务", ["志愿服务"], {"志愿服务": words("志愿服务@text")}),
        ("区红十字志愿", ["志愿服务"], {"志愿服务": words(
            "志愿服务队@text", "注册志愿者@text", "志愿服务@text", "志愿服务@heading")}),
        ("三、今后打算", [], {}),
        ("明年我们将继", [], {}),
    ]
    spec = topics_client.get("/openapi.json").get_json()
    schema = spec["paths"]["/api/documents/{doc_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    jsonschema_rs.validate(schema["schema"] | {"components": spec["components"]}, answer)
    assert spec["components"]["schemas"]["TopicWord"]["properties"]["where"] == {
        "type": "string", "enum": ["text", "heading", "title", "neighbours"]}


def test_suggest_completes_indexed_words(client):
    suggestions = client.get("/api/suggest", query_string={"q": "造血"}).get_json()["suggestions"]
    assert suggestions == [{"text": "造血干细胞", "marked": "<mark>造血</mark>干细胞", "passages": 11},
                           {"text": "造血干细胞捐献", "marked": "<mark>造血</mark>干细胞捐献", "passages": 8}]


# -- took_ms is the time of the whole search ---------------------------------------------------

class StandingClock:
    """A clock that moves only when something moves it."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowEngine(Engine):
    """The real engine, on a clock that passes ten seconds for a did-you-mean."""

    def did_you_mean(self, q):
        self.clock.now += 10.0
        return super().did_you_mean(q)


@pytest.mark.parametrize("q, took_ms, correction", [
    ("红十字", 3000.0, None),         # three snippets
    ("监车会", 10000.0, "监事会"),  # no hit: a did-you-mean
])
def test_took_ms_covers_snippets_and_did_you_mean(engine, monkeypatch, q, took_ms, correction):
    clock, cut = StandingClock(), snippets.snippet

    def slow_snippet(*args):  # a second for every snippet cut
        clock.now += 1.0
        return cut(*args)

    monkeypatch.setattr(snippets, "snippet", slow_snippet)
    slow = SlowEngine(engine.index_dir, engine.gazetteer, clock=clock)
    result = slow.search(SearchRequest(q=q, limit=3))
    slow.close()
    assert (result.took_ms, result.did_you_mean) == (took_ms, correction)


# -- an index no search can use: 503 with the reason and what to run --------------------------------

@pytest.fixture
def outdated(tmp_path):
    """A client over an index as an older rcsearch left it: one of today's fields is missing."""
    (tmp_path / "sources").mkdir()
    shutil.copy(SEEDS / "001_77d36a74d18f4973.txt", tmp_path / "sources")
    update_index([tmp_path / "sources"], tmp_path / "index", workers=1)
    with FileStorage(str(current_generation(tmp_path / "index"))).open_index().writer() as writer:
        writer.remove_field("places")
    yield from client_over(tmp_path / "index")


@pytest.fixture
def no_index(tmp_path):
    yield from client_over(tmp_path / "never-built")


API_PATHS = ["/api/search?q=红十字", "/api/search?city=石家庄", "/api/suggest?q=红",
             "/api/documents/001_77d36a74d18f4973"]
PAGE_PATHS = ["/?q=红十字", "/doc/001_77d36a74d18f4973", "/overview"]


@pytest.mark.parametrize("index, reason, status, cause", [
    ("outdated", OUTDATED_INDEX, "outdated index", "built by an older rcsearch"),
    ("no_index", NO_INDEX, "no index", "no index"),
])
def test_an_index_that_cannot_be_searched_is_a_503_that_says_what_to_run(request, index, reason, status, cause):
    client = request.getfixturevalue(index)
    assert cause in reason and "run `rcsearch index`" in reason
    for path in API_PATHS:
        response = client.get(path)
        assert (response.status_code, response.get_json()) == (503, {"error": reason}), path
    for path in PAGE_PATHS:
        response = client.get(path)
        page = response.get_data(as_text=True)
        assert (response.status_code, response.mimetype) == (503, "text/html"), path
        assert reason in page and "Traceback" not in page, path
    health = client.get("/healthz")
    assert (health.status_code, health.get_json()) == (503, {"status": status, "index": False, "reason": reason})
    assert client.get("/").status_code == 200  # the empty search page needs no index



def test_the_answer_says_which_place_it_understood_and_what_switching_it_off_offers(client):
    """石家庄 救灾 finds 救灾 in 石家庄's report, which never says 石家庄 beside it; without the
    reading the words are found together nowhere: the answer says what its results lack, and
    offers the place as a filter with what that finds."""
    read = search(client, q="石家庄 救灾").get_json()
    assert read["understood"] == [{"term": "石家庄", "facet": "city", "value": "石家庄市"}]
    assert [(h["doc_id"][:3], h["city"]) for h in read["hits"]] == [("001", "石家庄市")] * 2
    assert "offers" not in read and "missing" not in read and not read["relaxed"]
    words = search(client, q="石家庄 救灾", places="false").get_json()
    assert "understood" not in words and words["relaxed"] and words["missing"] == ["石家庄"]
    assert {tuple(h["missing"]) for h in words["hits"]} == {("石家庄",)}
    assert words["offers"] == [{"facet": "city", "value": "石家庄市", "total": 2, "term": "石家庄"}]
    assert search(client, q="救灾", city="石家庄市").get_json()["total"] == 2
