"""Server-rendered pages (they work without JavaScript)."""
from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from whoosh.reading import SegmentReader

from search.engine import Engine
from search.index import update_index
from search.lookups import overview
from search.querylang import MAX_RESULT_DEPTH

from conftest import client_over


def test_search_page_shows_results_with_marks(client):
    html = client.get("/?q=博爱送万家").get_data(as_text=True)
    assert "共 " in html and "条结果" in html
    assert "<mark>博爱送万家</mark>" in html


def test_empty_search_page_has_a_focused_box(client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="q"' in html and "autofocus" in html


def test_malformed_query_gives_a_message_not_a_stack_trace(client):
    response = client.get("/?q=" + "字" * 600)
    assert response.status_code == 400
    assert "查询过长" in response.get_data(as_text=True)


def test_document_page_highlights_and_anchors(client):
    html = client.get("/doc/001_77d36a74d18f4973?q=魔豆妈妈").get_data(as_text=True)
    assert "<mark>魔豆妈妈</mark>" in html
    assert 'id="p1"' in html


def marks(html: str) -> set[str]:
    return set(re.findall(r"<mark>(.*?)</mark>", html))


@pytest.mark.parametrize("q, marked", [
    ("wuchangxianxue", {"无偿献血"}),        # pinyin: searched, and so marked, as what it spells
    ("造血肝细胞", {"造血干细胞", "骨髓"}),  # a homophone typo: its correction and the correction's synonym
])
def test_the_document_page_marks_the_terms_its_search_searched(client, q, marked):
    """The report a result links to marks what the result's snippet marked: the engine's terms
    for the search, corrections and synonyms included, not the letters typed."""
    answer = client.get("/api/search", query_string={"q": q}).get_json()
    page = client.get(answer["hits"][0]["url"].split("#")[0], query_string={"q": q}).get_data(as_text=True)
    assert marks(page) == {mark for hit in answer["hits"] for mark in marks(hit["snippet"])} == marked


def test_the_document_page_marks_the_place_a_word_was_read_as(client):
    """石家庄 was read as 石家庄市: the page marks the full name where the report says it, as the
    snippets do, and the words searched beside it."""
    answer = client.get("/api/search", query_string={"q": "石家庄 救灾"}).get_json()
    assert answer["understood"] == [{"term": "石家庄", "facet": "city", "value": "石家庄市"}]
    page = client.get("/doc/001_77d36a74d18f4973", query_string={"q": "石家庄 救灾"}).get_data(as_text=True)
    assert marks(page) == {"石家庄市", "石家庄", "救灾"}  # 石家庄 alone where the report says no more
    text_only = client.get("/doc/001_77d36a74d18f4973", query_string={"q": "石家庄 救灾", "places": "false"})
    assert marks(text_only.get_data(as_text=True)) == {"石家庄", "救灾"}


def test_the_document_page_of_an_exact_search_marks_what_was_typed_only(client):
    page = client.get("/doc/001_77d36a74d18f4973", query_string={"q": "wuchangxianxue", "correct": "false"})
    assert "无偿献血" in page.get_data(as_text=True) and marks(page.get_data(as_text=True)) == set()


@pytest.fixture
def topics_client(topics_index):
    yield from client_over(topics_index)


def test_each_passage_of_the_document_page_shows_its_topics_and_the_words_that_gave_them(topics_client):
    html = topics_client.get("/doc/topics_report").get_data(as_text=True)
    lines = re.findall(r'id="p(\d+)"[^<]*>(?:(?!id="p\d).)*?<p class="topic-line"[^>]*>(.*?)</p>', html, re.S)
    assert [(int(number), re.sub(r"<[^>]+>", "", line).split()) for number, line in lines] == [
        (2, ["主题", "无偿献血", "本段：无偿献血"]),
        (3, ["主题", "无偿献血", "本段：无偿献血、献血者、献血量、毫升", "小标题：无偿献血", "相邻段落：献血点、献血者"]),
        (4, ["主题", "无偿献血", "本段：献血点、献血者", "小标题：无偿献血", "相邻段落：无偿献血、献血者、献血量、毫升",
             "志愿服务", "本段：志愿者、志愿服务"]),
        (5, ["主题", "志愿服务", "本段：志愿服务"]),
        (6, ["主题", "志愿服务", "本段：志愿服务队、注册志愿者、志愿服务", "小标题：志愿服务"]),
    ]
    # Each topic links to the search for its passages; the line says where its words are kept.
    volunteering = "/?topic=%E5%BF%97%E6%84%BF%E6%9C%8D%E5%8A%A1"
    assert re.findall(r'<a class="topic" href="([^"]+)">志愿服务</a>', html) == [volunteering] * 3
    assert html.count('title="依据的词来自 search/data/topics.toml：主题有误或缺漏时，在那里调整这些词"') == 5


def test_a_byline_shows_under_the_article_it_signs_not_in_the_next_headline(client):
    html = client.get("/doc/004_e76b8004cd219140").get_data(as_text=True)
    assert re.findall(r'<div class="para byline" id="p\d+"><p>(.*?)</p>', html) == ["屠丽敏", "顾彩祥"]
    assert re.findall(r'<h2 id="p\d+">(打造.*?)</h2>', html) == ["打造“群众身边的红十字会”<br>行业联合建会 打造“群众身边的红十字会”"]


def test_unknown_document_is_404(client):
    assert client.get("/doc/nope").status_code == 404


def test_overview_page_lists_facets(client):
    html = client.get("/overview").get_data(as_text=True)
    assert "5 篇报告" in html


class _FacetTree(HTMLParser):
    """The region facet as a user reads it: [(province, count, [(city, count), …]), …]."""

    def __init__(self):
        super().__init__()
        self.tree, self.depth, self.span, self.entry = [], 0, None, []

    def handle_starttag(self, tag, attrs):
        self.depth += tag == "ul"
        self.span = dict(attrs).get("class") if tag == "span" else None

    def handle_endtag(self, tag):
        self.depth -= tag == "ul"

    def handle_data(self, data):
        if self.span == "label":
            self.entry = [data]
        elif self.span == "count":
            value, count = self.entry[0], int(data)
            if self.depth == 1:
                self.tree.append((value, count, []))
            else:
                self.tree[-1][2].append((value, count))
        self.span = None


def facet_tree(html: str) -> list:
    parser = _FacetTree()
    parser.feed(html[html.index('<ul class="tree">'):html.index("</section>", html.index('<ul class="tree">'))])
    return parser.tree


def test_region_facet_is_a_province_city_tree(client):
    tree = facet_tree(client.get("/?q=红十字").get_data(as_text=True))
    # Each seed's city under its province (DESIGN's table), 四川 at province level only.
    assert [(province, [city for city, _ in cities]) for province, _, cities in tree] == [
        ("河北省", ["石家庄市"]),
        ("浙江省", ["杭州市", "绍兴市", "湖州市", "金华市"]),
        ("陕西省", ["西安市"]),
        ("云南省", ["昭通市"]),
        ("四川省", []),
    ]
    # The counts are the API's, in its order (most passages first).
    facets = client.get("/api/search", query_string={"q": "红十字"}).get_json()["facets"]
    assert [(value, count) for value, count, _ in tree] == [(b["value"], b["count"]) for b in facets["province"]]
    shown = {city: (province, count) for province, _, cities in tree for city, count in cities}
    assert shown == {b["value"]: (b["parent"], b["count"]) for b in facets["city"]}


def test_selected_filters_are_chips_with_remove_and_clear_links(client):
    html = client.get("/?q=红十字&city=石家庄&topic=志愿服务").get_data(as_text=True)
    assert "城市：石家庄" in html and "主题：志愿服务" in html
    assert 'href="/?q=%E7%BA%A2%E5%8D%81%E5%AD%97&amp;topic=%E5%BF%97%E6%84%BF%E6%9C%8D%E5%8A%A1"' in html
    assert "清除全部" in html
    assert 'class="on" aria-current="true"' in html


def test_empty_state_offers_what_would_work_a_filter_dropped_and_a_correction(client):
    html = client.get("/?q=监车会&city=石家庄").get_data(as_text=True)
    assert "没有找到与“<strong>监车会</strong>”相关的段落" in html
    assert "去掉“城市：石家庄”" not in html  # without it the word finds nothing either
    assert "您是不是要找" in html and "造血干细胞" in html
    html = client.get("/?q=意大利&city=石家庄").get_data(as_text=True)
    assert "没有找到与“<strong>意大利</strong>”相关的段落" in html
    assert 'href="/?q=%E6%84%8F%E5%A4%A7%E5%88%A9">去掉“城市：石家庄”</a>（1 条）' in html


def test_sort_and_pagination_links_keep_the_search(client):
    html = client.get("/?q=红十字&sort=date&page=2").get_data(as_text=True)
    assert '<strong aria-current="page">2</strong>' in html
    assert 'rel="prev" href="/?q=%E7%BA%A2%E5%8D%81%E5%AD%97&amp;sort=date&amp;page=1"' in html
    assert '<strong aria-current="true">日期</strong>' in html


def test_result_links_carry_the_search_to_the_document_and_back(client):
    html = client.get("/?q=魔豆妈妈&city=石家庄").get_data(as_text=True)
    link = "/doc/001_77d36a74d18f4973?q=%E9%AD%94%E8%B1%86%E5%A6%88%E5%A6%88&amp;city=%E7%9F%B3%E5%AE%B6%E5%BA%84#p"
    assert link in html
    doc = client.get("/doc/001_77d36a74d18f4973?q=魔豆妈妈&city=石家庄").get_data(as_text=True)
    assert 'href="/?q=%E9%AD%94%E8%B1%86%E5%A6%88%E5%A6%88&amp;city=%E7%9F%B3%E5%AE%B6%E5%BA%84">← 返回搜索结果' in doc
    assert 'value="魔豆妈妈"' in doc


def test_browse_with_filters_only(client):
    html = client.get("/?city=东阳").get_data(as_text=True)
    assert "浙江省 › 金华市 › 东阳市" in html
    assert "共 20 条结果 · 1 篇报告" in html


def test_document_has_a_table_of_contents(client):
    html = client.get("/doc/000_ce03444764b2e6d0").get_data(as_text=True)
    toc = html[html.index('class="toc"'):html.index("</nav>", html.index('class="toc"'))]
    assert "全面从严治党 深推改革发展" in toc and 'href="#p' in toc


def test_overview_shows_build_time_and_charts(client):
    html = client.get("/overview").get_data(as_text=True)
    assert "索引于" in html and "来自 5 个文件" in html
    assert html.count("<svg") >= 5


# -- the pager stops at the last page there is ----------------------------------------------

DEEP_REPORTS, DEEP_PASSAGES = 10, 1010  # 10,100 passages hold 志愿者: more than MAX_RESULT_DEPTH


@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    """A client over a collection where one word has more hits than paging reaches."""
    root = tmp_path_factory.mktemp("deep")
    (root / "sources").mkdir()
    for report in range(DEEP_REPORTS):
        paragraphs = "\n\n".join(f"志愿者第{report}组第{n}次服务。" for n in range(DEEP_PASSAGES))
        (root / "sources" / f"deep{report}.txt").write_text(f"志愿服务记录{report}\n\n{paragraphs}\n", encoding="utf-8")
    summary = update_index([root / "sources"], root / "index", workers=1)
    assert summary.failed == [] and len(summary.added) == DEEP_REPORTS
    yield from client_over(root / "index")


def pager(html: str) -> tuple[str, dict[str, int]]:
    """The current page and every pager link, by its text."""
    nav = html[html.index('<nav class="pager"'):html.index("</nav>", html.index('<nav class="pager"'))]
    current = re.search(r'<strong aria-current="page">(\d+)</strong>', nav).group(1)
    links = {text.strip(): int(parse_qs(urlsplit(href.replace("&amp;", "&")).query)["page"][0])
             for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', nav)}
    return current, links


@pytest.mark.parametrize("page, links", [
    (98, {"‹ 上一页": 97, "95": 95, "96": 96, "97": 97, "99": 99, "100": 100, "下一页 ›": 99}),
    (100, {"‹ 上一页": 99, "97": 97, "98": 98, "99": 99}),
])
def test_the_pager_stops_at_the_last_page_there_is(deep, page, links):
    response = deep.get("/", query_string={"q": "志愿者", "limit": 100, "page": page})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"共 {DEEP_REPORTS * DEEP_PASSAGES} 条结果" in html
    assert pager(html) == (str(page), links)
    for target in set(links.values()):
        assert deep.get("/", query_string={"q": "志愿者", "limit": 100, "page": target}).status_code == 200


def test_the_page_after_the_last_is_refused(deep):
    assert 100 * 100 == MAX_RESULT_DEPTH
    response = deep.get("/", query_string={"q": "志愿者", "limit": 100, "page": 101})
    assert response.status_code == 400 and "页码过大" in response.get_data(as_text=True)


# -- highlighting marks the text, then escapes it ---------------------------------------------

SYMBOLS_TEXT = """符号测试报告

红十字会收到 Johnson & Johnson 捐赠，另有 a<b 与 "标题" 字样。

红十字会的 amp 放大器、lt 标记与 quot 引文都要标出。
"""
SYMBOLS_MD = SYMBOLS_TEXT.replace("符号测试报告", "# 符号测试报告")


@pytest.fixture(scope="module")
def symbols(tmp_path_factory):
    root = tmp_path_factory.mktemp("symbols")
    (root / "sources").mkdir()
    (root / "sources" / "symbols_txt.txt").write_text(SYMBOLS_TEXT, encoding="utf-8")
    (root / "sources" / "symbols_md.md").write_text(SYMBOLS_MD, encoding="utf-8")
    assert update_index([root / "sources"], root / "index", workers=1).failed == []
    yield from client_over(root / "index")


def paragraphs(html: str) -> list[str]:
    """Each paragraph's text as HTML (without its permalink)."""
    return re.findall(r'<div class="para" id="p\d+">(.*?)(?:<a class="permalink"[^>]*>¶</a>)?</div>', html, re.DOTALL)


SYMBOLS_ESCAPED = "红十字会收到 Johnson &amp; Johnson 捐赠，另有 a&lt;b 与 &quot;标题&quot; 字样。"


@pytest.mark.parametrize("doc_id", ["symbols_txt", "symbols_md"])
@pytest.mark.parametrize("q, marked", [
    ("amp", "红十字会的 <mark>amp</mark> 放大器、lt 标记与 quot 引文都要标出。"),
    ("lt", "红十字会的 amp 放大器、<mark>lt</mark> 标记与 quot 引文都要标出。"),
    ("quot", "红十字会的 amp 放大器、lt 标记与 <mark>quot</mark> 引文都要标出。"),
    ("34", "红十字会的 amp 放大器、lt 标记与 quot 引文都要标出。"),
])
def test_document_page_marks_terms_never_entities(symbols, doc_id, q, marked):
    html = symbols.get(f"/doc/{doc_id}", query_string={"q": q}).get_data(as_text=True)
    assert paragraphs(html) == [f"<p>{SYMBOLS_ESCAPED}</p>", f"<p>{marked}</p>"]


@pytest.mark.parametrize("doc_id", ["symbols_txt", "symbols_md"])
def test_document_page_marks_terms_next_to_symbols(symbols, doc_id):
    html = symbols.get(f"/doc/{doc_id}", query_string={"q": "Johnson"}).get_data(as_text=True)
    assert paragraphs(html)[0] == ("<p>红十字会收到 <mark>Johnson</mark> &amp; <mark>Johnson</mark> 捐赠，"
                                   "另有 a&lt;b 与 &quot;标题&quot; 字样。</p>")


@pytest.mark.parametrize("q, snippets", [
    ("amp", ["红十字会的 <mark>amp</mark> 放大器、lt 标记与 quot 引文都要标出。"]),
    ("标题", ['红十字会收到 Johnson &amp; Johnson 捐赠，另有 a&lt;b 与 "<mark>标题</mark>" 字样。']),
    ("Johnson", ['红十字会收到 <mark>Johnson</mark> &amp; <mark>Johnson</mark> 捐赠，另有 a&lt;b 与 "标题" 字样。']),
])
def test_snippets_mark_terms_never_entities(symbols, q, snippets):
    hits = symbols.get("/api/search", query_string={"q": q}).get_json()["hits"]
    assert sorted(hit["doc_id"] for hit in hits) == ["symbols_md", "symbols_txt"]
    assert {hit["snippet"] for hit in hits} == set(snippets)
    page = symbols.get("/", query_string={"q": q}).get_data(as_text=True)
    assert page.count(snippets[0]) == 2


# -- the overview is computed once per index version -------------------------------------------

def test_overview_is_computed_once_per_index_version_without_reading_reports(tmp_path, monkeypatch):
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "a.txt").write_text("甲报告\n\n石家庄市红十字会开展应急救护培训。\n", encoding="utf-8")
    built_before = time.time()
    update_index([tmp_path / "sources"], tmp_path / "index", workers=1)
    built_after = time.time()
    engine = Engine(tmp_path / "index")
    engine.view()
    stored_reads = []
    original = SegmentReader.stored_fields
    monkeypatch.setattr(SegmentReader, "stored_fields",
                        lambda reader, docnum: stored_reads.append(docnum) or original(reader, docnum))
    first = overview(engine)
    assert (first.reports, first.passages, stored_reads) == (1, 2, [])  # no report's text was loaded
    assert overview(engine) is first
    assert built_before <= first.built_at <= built_after

    (tmp_path / "sources" / "b.txt").write_text("乙报告\n\n杭州市红十字会开展救灾。\n", encoding="utf-8")
    update_index([tmp_path / "sources"], tmp_path / "index", workers=1)
    second = overview(engine)
    assert (second.reports, second.passages) == (2, 4) and overview(engine) is second
    assert second.built_at >= first.built_at
    engine.close()
