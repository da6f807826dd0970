"""A place typed is a place (issue 22): words naming places, exact matches first, never an
empty page while a word exists, and what the search understood.

Over reports composed for it: a county report that never repeats its county after the
headline (我县, 全县), a city report that says 我市 and 全市, a provincial report whose meeting
was held in one of its cities, a report whose folder alone names its city, the two 朝阳 (a
district of 北京 and a city of 辽宁), 和平区 (an everyday word), a city report that names a
county of its own and says 和平 as a word, and a report on organ donation whose heading
holds the phrase its text holds only in part.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from search import analysis, enrich
from search.analysis import Lexicon
from search.engine import Engine
from search.facets import Filters
from search.index import update_index
from search.querylang import SearchRequest, parse_query
from search.results import Offer, Understood
from search.terms import PLACE, Term, named_places, places_named, reads_as_place

REPORTS = {
    "长兴县红十字会2023年工作总结.txt": """长兴县红十字会2023年工作总结

一、应急救护培训

全年我县举办救护员培训班42期，培训持证救护员1860人，全县中小学实现救护培训全覆盖。

二、人道救助

县红十字会走访困难家庭530户，发放救助金86万元，帮助群众渡过难关。
""",
    "衢州市红十字会2022年度工作报告.txt": """衢州市红十字会2022年度工作报告

全市红十字系统围绕中心工作，扎实推进各项业务。

我市组织应急救援队开展水域救援演练12次，参训队员460人。

市红十字会募集救灾款物320万元，及时支援受灾乡镇恢复生产。
""",
    "甘肃省红十字会2021年工作报告.txt": """甘肃省红十字会2021年工作报告

全省红十字志愿者开展救护培训进社区活动，培训群众3.2万人。

全省造血干细胞捐献工作会议在天水召开，总结交流各地经验。
""",
    "宁波/2020/年度总结.txt": """红十字会2020年度工作总结

本会全年开展博爱送万家活动，慰问困难群众900户。

本会志愿服务队参与疫情防控值守，累计服务3000小时。
""",
    "北京市朝阳区红十字会志愿服务纪实.txt": """北京市朝阳区红十字会志愿服务纪实

区红十字会组建志愿服务队18支，在社区开展急救科普。
""",
    "辽宁省朝阳市红十字会工作简报.txt": """辽宁省朝阳市红十字会工作简报

市红十字会志愿服务队深入农村，发放过冬物资。
""",
    "天津市和平区红十字会工作总结.txt": """天津市和平区红十字会工作总结

区红十字会在社区开展救护培训，志愿者参与人数创新高。
""",
    "湖州市红十字会国际人道法宣传.txt": """湖州市红十字会开展国际人道法宣传

活动倡导珍爱和平、尊重生命，志愿者向市民讲解红十字运动基本原则。

长兴县、安吉县红十字会派员参加，交流救护培训经验。
""",
    "器官捐献工作情况.md": """# 器官捐献工作情况

## 人体器官捐献宣传

器官捐献志愿登记持续增长，器官捐献宣传走进高校，器官捐献知识讲座举办20场，器官捐献协调员队伍扩大。

## 典型事迹

今年一名市民完成人体器官捐献，挽救了三名患者的生命。

遗体器官捐献登记人数达到120人。
""",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    root = tmp_path_factory.mktemp("places")
    for name, text in REPORTS.items():
        path = root / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    summary = update_index([root / "src"], root / "index", workers=1)
    assert summary.failed == [] and len(summary.added) == len(REPORTS)
    with Engine(root / "index") as engine:
        yield engine


def search(engine, q="", limit=20, places=True, **filters):
    return engine.search(SearchRequest(q=q, limit=limit, places=places,
                                       filters=Filters(**{k: (v,) for k, v in filters.items()})))


def found(result) -> list[tuple[str, int]]:
    return [(h.doc_id, h.passage) for h in result.hits]


# -- which words are places ----------------------------------------------------------------

GAZETTEER = enrich.Gazetteer.load()


@pytest.mark.parametrize("word, read", [
    ("石家庄", True), ("石家庄市", True), ("四川", True),   # a city, in short and full; a province
    ("长兴", True), ("东阳", True), ("仙桃", True),         # county-level short names
    ("石首", True),   # jieba tags it a common noun, and finds it 30,746 times: still a place
    ("朝阳", True),   # a prefecture-level city (辽宁) besides districts: read, as all of them
    ("和平", False), ("新华", False), ("城关", False), ("长安", False), ("合作", False),  # everyday words
    ("和平区", True),  # typed in full it is the place
])
def test_a_word_is_read_as_a_place_unless_it_is_an_everyday_word_naming_only_counties(word, read):
    assert named_places(word, GAZETTEER) and reads_as_place(word, GAZETTEER) == read


@pytest.mark.parametrize("word, places", [
    ("朝阳", [("city", "朝阳区"), ("city", "朝阳市")]),  # 北京's and 长春's district, 辽宁's city
    ("吉林", [("province", "吉林省")]),                  # the province holds the city of its name
    ("北京", [("province", "北京市")]),
    ("長興", [("city", "长兴县")]),                     # traditional characters are folded first
    ("救灾", []), ("志愿者", []),
])
def test_a_place_name_means_every_place_the_filters_resolve_it_to(word, places):
    text = parse_query(word).clauses[0][0].text
    assert [(t.facet, t.text) for t in named_places(text, GAZETTEER)] == places


def test_phrases_and_excluded_words_are_never_read_as_places():
    named = places_named(parse_query('"长兴" 救护培训 -湖州 衢州'), Lexicon({}, frozenset()), GAZETTEER)
    assert named.read == (Term("衢州市", PLACE, "衢州", facet="city"),) and named.offered == ()


# -- a typed place finds what its filter finds ---------------------------------------------

@pytest.mark.parametrize("typed, word, facet, value", [
    ("长兴", "救护培训", "city", "长兴县"),      # a county report that says 我县, 全县
    ("长兴县", "救护培训", "city", "长兴县"),
    ("長興", "救護培訓", "city", "长兴县"),       # traditional characters
    ("衢州", "水域救援", "city", "衢州"),         # a city report that says 我市
    ("衢州", "救灾", "city", "衢州"),
    ("甘肃", "救护培训", "province", "甘肃"),     # a province
    ("宁波", "博爱送万家", "city", "宁波"),       # only its folder names the city
    ("宁波", "疫情防控", "city", "宁波"),
])
def test_a_typed_place_finds_first_what_its_filter_finds(engine, typed, word, facet, value):
    typed_form = search(engine, f"{typed} {word}")
    filter_form = search(engine, word, **{facet: value})
    assert filter_form.total >= 1 and not filter_form.relaxed
    # First, in its order; then (few found: relaxed to most words) passages of other places.
    assert found(typed_form)[:filter_form.total] == found(filter_form)
    assert all(h.missing for h in typed_form.hits[filter_form.total:]) or not typed_form.relaxed
    assert [(u.term, u.facet) for u in typed_form.understood] == [(analysis.compact(typed), facet)]


def test_passages_of_the_place_come_before_passages_of_others_that_name_it(engine):
    result = search(engine, "长兴 救护培训")
    assert [(h.doc_id, h.passage, h.county) for h in result.hits] == [
        ("长兴县红十字会2023年工作总结", 3, "长兴县"), ("长兴县红十字会2023年工作总结", 2, "长兴县"),  # its heading
        ("湖州市红十字会国际人道法宣传", 3, None)]  # names 长兴县 in its text
    assert result.understood == [Understood("长兴", "city", "长兴县", "救护培训")]


def test_a_place_alone_finds_the_passages_that_name_it_not_every_passage_of_it(engine):
    """A region match gives context: the one word must be in the passage itself (the report's
    headline, and another report's passage)."""
    result = search(engine, "长兴")
    assert found(result) == [("长兴县红十字会2023年工作总结", 1), ("湖州市红十字会国际人道法宣传", 3)]
    assert result.understood == [Understood("长兴", "city", "长兴县", "")]


def test_a_provincial_report_is_not_narrowed_to_the_city_of_its_meeting(engine):
    result = search(engine, "天水 造血干细胞")
    assert result.understood == []  # no passage is 天水's: the venue named no author
    assert found(result) == [("甘肃省红十字会2021年工作报告", 3)]  # the text names 天水
    assert found(search(engine, "甘肃 造血干细胞")) == found(result)


def test_a_name_of_several_places_means_all_of_them(engine):
    result = search(engine, "朝阳 志愿服务队")
    assert {u.value for u in result.understood} == {"朝阳区", "朝阳市"}
    assert {h.doc_id for h in result.hits} == {"北京市朝阳区红十字会志愿服务纪实", "辽宁省朝阳市红十字会工作简报"}


def test_an_everyday_word_is_searched_as_a_word_and_its_place_only_offered(engine):
    result = search(engine, "和平 志愿者")
    assert result.understood == []
    # 珍爱和平 …志愿者; then 和平区's passage, whose headline holds the word.
    assert found(result) == [("湖州市红十字会国际人道法宣传", 2), ("天津市和平区红十字会工作总结", 2)]
    assert result.offers == [Offer("city", "和平区", 1, "和平", "志愿者")]
    assert found(search(engine, "志愿者", city="和平区")) == [("天津市和平区红十字会工作总结", 2)]
    assert search(engine, "和平区 志愿者").understood == [Understood("和平区", "city", "和平区", "志愿者")]


def test_the_reading_can_be_switched_off_and_is_then_offered(engine):
    result = search(engine, "宁波 博爱送万家", places=False)
    assert result.understood == [] and result.relaxed and result.missing == ["宁波"]
    assert found(result) == [("宁波/2020/年度总结", 2)]  # holds 博爱送万家, not 宁波
    assert result.offers == [Offer("city", "宁波市", 1, "宁波", "博爱送万家")]


# -- exact before approximate --------------------------------------------------------------

def test_the_typed_string_in_a_passage_comes_before_a_heading_or_a_synonym(engine):
    """The passage under the heading scores above the one holding the phrase (the phrase in
    its heading, 器官捐献 four times in its text); the passages holding the phrase come first
    all the same, then it, then those holding a synonym only."""
    hits = search(engine, "人体器官捐献").hits
    assert [(h.passage, h.text[:8]) for h in hits] == [
        (2, "人体器官捐献宣传"), (5, "今年一名市民完成"),  # the phrase (a heading is a passage too)
        (3, "器官捐献志愿登记"),                          # the phrase in its heading only
        (6, "遗体器官捐献登记"), (1, "器官捐献工作情况")]  # synonyms
    assert hits[2].score > hits[1].score


def test_pages_and_the_export_keep_the_tiers(engine):
    paged = [found(engine.search(SearchRequest(q="人体器官捐献", limit=2, page=n))) for n in (1, 2, 3)]
    paged = [hit for page in paged for hit in page]
    exported = engine.export(SearchRequest(q="人体器官捐献"))
    assert paged == [(h.doc_id, h.passage) for h in exported.hits] == found(search(engine, "人体器官捐献"))


# -- never empty while a word exists -------------------------------------------------------

def test_a_word_found_nowhere_is_dropped_and_said(engine):
    result = search(engine, "水域救援 潜水艇")
    assert (result.relaxed, result.missing) == (True, ["潜水艇"])
    assert [(h.doc_id, h.missing) for h in result.hits] == [("衢州市红十字会2022年度工作报告", ["潜水艇"])]


def test_the_commoner_word_is_dropped_first(engine):
    """No passage holds both: 志愿者 is in two passages, 博爱送万家 in one."""
    result = search(engine, "志愿者 博爱送万家")
    assert (result.relaxed, result.missing) == (True, ["志愿者"])
    assert found(result) == [("宁波/2020/年度总结", 2)]


def test_a_place_no_passage_names_finds_its_passages_rather_than_nothing(engine):
    result = search(engine, "宁波")
    assert (result.relaxed, result.missing) == (True, [])
    assert found(result) == [("宁波/2020/年度总结", n) for n in (1, 2, 3)]


def test_nothing_is_empty_only_when_no_word_finds_anything_and_then_offers_what_works(engine):
    nothing = search(engine, "潜水艇 航空母舰")
    assert (nothing.total, nothing.relaxed, nothing.offers, nothing.missing) == (0, False, [], [])
    filtered = search(engine, "水域救援", city="宁波")
    assert (filtered.total, filtered.relaxed) == (0, False)
    assert filtered.offers == [Offer("city", "宁波", 1, None, "水域救援")]


def test_the_page_says_what_the_results_lack_and_never_relaxed_above_nothing(engine, tmp_path):
    from web import create_app
    app = create_app({"TESTING": True, "INDEX_DIR": str(engine.index_dir)})
    client = app.test_client()
    lacking = client.get("/?q=水域救援 潜水艇").get_data(as_text=True)
    assert "以下结果不含「潜水艇」" in lacking
    empty = client.get("/?q=潜水艇 航空母舰").get_data(as_text=True)
    assert "共 0 条结果" in empty and "relaxed" not in empty and "大部分词语" not in empty
    offered = client.get("/?q=水域救援&city=宁波").get_data(as_text=True)
    assert "去掉“城市：宁波”</a>（1 条）" in offered
    region_only = client.get("/?q=宁波").get_data(as_text=True)  # no passage names it: its region holds it
    assert "未找到与检索词完全一致的段落，以下段落在正文、小标题、报告标题或地区中含有各个词" in region_only
    app.extensions["rcsearch"].close()


def test_the_page_says_which_place_it_understood_with_a_filter_and_a_text_only_link(engine):
    from web import create_app
    app = create_app({"TESTING": True, "INDEX_DIR": str(engine.index_dir)})
    client = app.test_client()
    html = client.get("/?q=长兴 救护培训").get_data(as_text=True)
    assert "地区：<strong>长兴县</strong> · 来自搜索词「长兴」" in html
    assert 'href="/?q=%E6%95%91%E6%8A%A4%E5%9F%B9%E8%AE%AD&amp;city=%E9%95%BF%E5%85%B4%E5%8E%BF">设为筛选条件</a>' in html
    assert "&amp;places=false\">「长兴」只按文字搜索</a>" in html
    offered = client.get("/?q=和平 志愿者").get_data(as_text=True)
    assert "也可按地区筛选：" in offered and "和平区</a>（「和平」，1 条）" in offered
    app.extensions["rcsearch"].close()
