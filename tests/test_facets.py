"""Regions, topics and years on passages; filters and disjunctive facet counts; stats."""
import json
import random

import pytest

from search.cli import cli
from search.engine import Engine
from search.facets import Filters
from search.lookups import document
from search.querylang import QueryError, SearchRequest


def region(hit):
    return (hit["province"], hit["city"], hit["county"]) if isinstance(hit, dict) else (hit.province, hit.city, hit.county)


SUB_ARTICLES_004 = [
    ("深化改革强化服务", ("浙江省", "绍兴市", None)),
    ("浙江省红十字(东阳)大众卫生与供水救援队(东阳市农商银行", ("浙江省", "金华市", "东阳市")),
    ("永昌村位于杭州市富阳区", ("浙江省", "杭州市", "富阳区")),
    ("长兴县水口乡是一个以农家乐", ("浙江省", "湖州市", "长兴县")),
]


@pytest.mark.parametrize("doc_id, expected", [
    ("000_ce03444764b2e6d0", {("四川省", None, None)}),
    ("001_77d36a74d18f4973", {("河北省", "石家庄市", None)}),
    ("002_3ac1844f279ecb35", {("云南省", "昭通市", None)}),
    ("003_70a6b03952082b08", {("陕西省", "西安市", None)}),
])
def test_every_passage_of_a_seed_has_the_design_region(engine, doc_id, expected):
    view = document(engine, doc_id)
    assert {region(p) for p in view.passages} == expected


def test_every_passage_shows_one_region_and_metadata_in_its_hit_and_its_report(engine):
    """A passage's region, level, topics and year read the same in the results and in the
    document view (the export row writes the hit's): one reading of the stored fields."""
    hits = list(engine.export(SearchRequest()).hits)
    views = {hit.doc_id: document(engine, hit.doc_id) for hit in hits}
    shown = [(h.doc_id, h.passage, h.province, h.city, h.county, h.level, h.topics, h.year) for h in hits]
    stored = [(h.doc_id, p["passage"], p["province"], p["city"], p["county"], p["level"], p["topics"],
               views[h.doc_id].year) for h in hits for p in views[h.doc_id].passages if p["passage"] == h.passage]
    assert shown == stored
    assert {h.level for h in hits} == {"省级", "市级", "县级"} and {h.county for h in hits} > {None}


def test_report_with_sub_articles_gets_each_authors_region(engine):
    passages = document(engine, "004_e76b8004cd219140").passages
    regions = [region(p) for p in passages]
    assert regions[0] == ("浙江省", None, None)
    starts = []
    for text, _ in SUB_ARTICLES_004:
        first = next(i for i, p in enumerate(passages) if text in p["text"])
        starts.append(first - 1 if passages[first - 1]["role"] == "heading" else first)
    assert starts == sorted(starts)
    assert set(regions[:starts[0]]) == {("浙江省", None, None)}
    bounds = starts + [len(passages)]
    for (text, expected), start, end in zip(SUB_ARTICLES_004, bounds, bounds[1:]):
        assert set(regions[start:end]) == {expected}, text


def test_passages_keep_the_places_they_mention(find):
    hit = next(h for h in find("永昌村").hits if "永昌村位于" in h.text)
    assert hit.county == "富阳区"


def every_hit(find, q="", **filters) -> set[tuple[str, int]]:
    """(doc, passage) of every hit, all pages."""
    first = find(q, limit=100, **filters)
    pages = [first] + [find.engine.search(SearchRequest(q=q, limit=100, page=n, filters=Filters(**{
        k: tuple(v) if isinstance(v, (list, tuple)) else (v,) for k, v in filters.items()})))
        for n in range(2, (first.total - 1) // 100 + 2)]
    hits = {(h.doc_id, h.passage) for page in pages for h in page.hits}
    assert len(hits) == first.total
    return hits


def stored_passages(engine, keep) -> set[tuple[str, int]]:
    """(doc, passage) of every stored passage that `keep(passage fields)` accepts: the
    expectation, read from what each passage stores, not through the filter machinery."""
    views = [document(engine, doc_id) for doc_id in SEED_IDS]
    return {(view.doc_id, p["passage"]) for view in views for p in view.passages
            if keep({**p, "year": view.year})}


SEED_IDS = ["000_ce03444764b2e6d0", "001_77d36a74d18f4973", "002_3ac1844f279ecb35", "003_70a6b03952082b08",
            "004_e76b8004cd219140"]
DONATIONS = {"无偿献血", "造血干细胞捐献", "遗体器官捐献"}


@pytest.mark.parametrize("filters, keep", [
    ({"city": "石家庄"}, lambda p: p["city"] == "石家庄市"),
    ({"city": "石家庄市"}, lambda p: p["city"] == "石家庄市"),
    ({"city": "东阳"}, lambda p: p["county"] == "东阳市"),
    ({"city": "金华"}, lambda p: p["city"] == "金华市"),
    ({"province": "浙江"}, lambda p: p["province"] == "浙江省"),
    ({"province": "浙江省"}, lambda p: p["province"] == "浙江省"),
    ({"city": ["石家庄", "西安"]}, lambda p: p["city"] in ("石家庄市", "西安市")),
    ({"province": "四川", "topic": "疫情防控"}, lambda p: p["province"] == "四川省" and "疫情防控" in p["topics"]),
    ({"topic": "三献"}, lambda p: bool(DONATIONS & set(p["topics"]))),
    ({"year": 2023}, lambda p: p["year"] == 2023),
])
def test_filters_select_exactly_their_passages(find, engine, filters, keep):
    expected = stored_passages(engine, keep)
    assert expected and every_hit(find, **filters) == expected


@pytest.mark.parametrize("filters, message", [
    ({"city": "意大利"}, "未知的城市：意大利。没有相近的名称"),
    ({"city": "石家"}, "未知的城市：石家。相近的有：石家庄"),
    ({"province": "浙江市"}, "未知的省份：浙江市。相近的有：浙江"),
    ({"topic": "献血"}, "未知的主题：献血。相近的有：无偿献血"),
])
def test_an_unknown_filter_value_is_an_error_naming_the_nearest_known_ones(find, filters, message):
    with pytest.raises(QueryError) as error:
        find("", **filters)
    assert str(error.value).startswith(message)


def test_an_unknown_filter_value_is_a_400_in_the_api(client):
    answer = client.get("/api/search", query_string={"q": "救助", "city": "意大利"})
    assert answer.status_code == 400
    assert answer.get_json()["error"].startswith("未知的城市：意大利")


def test_dongyang_filter_finds_only_the_dongyang_sub_article(find):
    result = find("", limit=100, city="东阳")
    assert {region(h) for h in result.hits} == {("浙江省", "金华市", "东阳市")}
    assert result.total == len(result.hits) == 20


def test_inline_filter_syntax(find):
    inline = find("救助 city:昭通", limit=100)
    explicit = find("救助", limit=100, city="昭通")
    assert inline.total == explicit.total > 0
    assert {h.doc_id[:3] for h in inline.hits} == {"002"}
    assert find("topic:无偿献血", limit=100).total == find("", limit=100, topic="无偿献血").total


def test_three_donations_alias_is_the_union_of_its_topics(find):
    alias = find("", limit=100, topic="三献").total
    union = find("", limit=100, topic=["无偿献血", "造血干细胞捐献", "遗体器官捐献"]).total
    assert alias == union > 0


def test_an_edited_alias_selects_its_new_topics_on_every_page(seed_index, tmp_path):
    """A running server reads topics.toml again when it changes: the hits a page shows are
    those the edited alias selects, as a server started afresh shows them, never the page
    computed under the alias as it was."""
    import os
    import shutil

    from search.index import TOPICS_FILE
    from search.engine import Engine

    topics = tmp_path / "topics.toml"
    shutil.copy(TOPICS_FILE, topics)
    request = SearchRequest(q="红十字", filters=Filters(topic=("三献",)))
    with Engine(seed_index, topics_file=topics) as running:
        running.search(request)
        topics.write_text(topics.read_text(encoding="utf-8").replace(
            '"三献" = ["无偿献血", "造血干细胞捐献", "遗体器官捐献"]', '"三献" = ["遗体器官捐献"]'), encoding="utf-8")
        os.utime(topics, ns=(topics.stat().st_atime_ns, topics.stat().st_mtime_ns + 10**9))
        edited = running.search(request)
    with Engine(seed_index, topics_file=topics) as restarted:
        fresh = restarted.search(request)
    assert [(h.doc_id, h.passage, h.topics) for h in edited.hits] == [(h.doc_id, h.passage, h.topics) for h in fresh.hits]
    assert all("遗体器官捐献" in h.topics for h in fresh.hits) and fresh.total == len(fresh.hits) > 0


def test_facet_counts_ignore_their_own_selection(find):
    plain = find("红十字")
    selected = find("红十字", city="石家庄")
    counts = lambda result, name: [(b.value, b.count) for b in result.facets[name]]
    assert counts(selected, "city") == counts(plain, "city")
    assert counts(selected, "province") != counts(plain, "province")
    assert [b.value for b in selected.facets["city"] if b.selected] == ["石家庄市"]


FACET_QUERIES = ["", "红十字", "救助", "志愿者", "应急 培训", "红十字 -石家庄",
                 # Three and more terms: strict for some selections, relaxed for others.
                 "红十字会 志愿者 服务", "造血干细胞 捐献 志愿者", "应急 培训 志愿者",
                 "石家庄有多少志愿者加入中华骨髓库", "西安急救知识培训了多少人", "造血干细胞 OR 无偿献血 志愿者 培训",
                 # A place read as one (by its region too); words never found together, falling back.
                 "石家庄 救灾", "四川 基层组织 志愿者", "魔豆妈妈 公益直播间", "意大利 石家庄"]


@pytest.mark.parametrize("seed", range(60))
def test_every_facet_count_equals_the_total_its_selection_returns(find, seed):
    rng = random.Random(seed)
    q = rng.choice(FACET_QUERIES)
    base = find(q)
    chosen = {}
    for name in rng.sample(["province", "city", "topic", "year", "level"], rng.randint(0, 2)):
        if base.facets[name]:
            chosen[name] = rng.choice(base.facets[name]).value
    result = find(q, **chosen)
    for name, buckets in result.facets.items():
        for bucket in buckets:
            # Disjunctive: a value's count is what replacing this facet's selection by it returns.
            assert bucket.count == find(q, **{**chosen, name: bucket.value}).total, (q, chosen, name, bucket)


@pytest.mark.parametrize("q", ["红十字会 志愿者 服务", "造血干细胞 捐献 志愿者"])
def test_buckets_count_relaxed_where_selecting_them_relaxes(find, q):
    """Unselected, the query finds enough passages holding every term; under some values it
    does not, and selecting one of those relaxes to most terms: its bucket says so beforehand."""
    base = find(q)
    assert not base.relaxed
    selections = {(name, b.value, b.count): find(q, **{name: b.value})
                  for name, buckets in base.facets.items() for b in buckets}
    assert {result.relaxed for result in selections.values()} == {True, False}
    assert all(count == result.total for (_, _, count), result in selections.items())


def test_buckets_count_what_a_fallback_returns(find):
    """No passage holds both words: each value's count is what its passages holding the word
    left (the rarer first) return, and selecting one returns them."""
    base = find("魔豆妈妈 公益直播间")
    assert base.relaxed and base.missing
    counts = {(name, b.value): b.count for name, buckets in base.facets.items() for b in buckets}
    assert counts[("city", "石家庄市")] == find("魔豆妈妈 公益直播间", city="石家庄").total == 1
    assert all(count == find("魔豆妈妈 公益直播间", **{name: value}).total for (name, value), count in counts.items())


def test_browse_by_year_sorted_by_date(client):
    answer = client.get("/api/search", query_string={"sort": "date", "limit": 100, "topic": "三献"}).get_json()
    years = [h["year"] for h in answer["hits"]]
    assert answer["total"] == len(years) and len(set(years)) == 3
    assert years == sorted(years, reverse=True)


def test_stats_counts_reports_and_passages(runner, seed_index):
    result = runner.invoke(cli, ["stats", "--json", "--index", str(seed_index)])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["reports"] == 5
    provinces = {row["value"]: row["reports"] for row in stats["facets"]["province"]}
    assert provinces == {"四川省": 1, "河北省": 1, "云南省": 1, "陕西省": 1, "浙江省": 1}
    cities = {row["value"]: row["reports"] for row in stats["facets"]["city"]}
    assert cities == {"石家庄市": 1, "昭通市": 1, "西安市": 1, "绍兴市": 1, "金华市": 1, "杭州市": 1, "湖州市": 1}
    years = {row["value"]: row["reports"] for row in stats["facets"]["year"]}
    assert years == {2020: 3, 2021: 1, 2023: 1}
    text = runner.invoke(cli, ["stats", "--index", str(seed_index)])
    assert "5 reports" in text.output


@pytest.mark.parametrize("doc_id, levels", [
    ("000_ce03444764b2e6d0", {"省级"}),   # 四川省 only
    ("001_77d36a74d18f4973", {"市级"}),   # 石家庄市
    ("004_e76b8004cd219140", {"省级", "市级", "县级"}),  # the province's opening; 绍兴市; 东阳市, 富阳区, 长兴县
])
def test_the_level_is_the_most_specific_part_of_a_passages_region(engine, doc_id, levels):
    passages = document(engine, doc_id).passages
    assert {p["level"] for p in passages} == levels
    expected = {(p["county"] and "县级") or (p["city"] and "市级") or (p["province"] and "省级") or "全国"
                for p in passages}
    assert expected == levels


@pytest.mark.parametrize("how", ["api", "inline", "inline alias", "short", "cli"])
def test_the_level_facet_filters_everywhere(find, engine, client, runner, seed_index, how):
    county = stored_passages(engine, lambda p: p["level"] == "县级")
    assert county
    if how == "api":
        answer = client.get("/api/search", query_string={"level": "县级", "limit": 100}).get_json()
        found = {(h["doc_id"], h["passage"]) for h in answer["hits"]}
    elif how == "cli":
        result = runner.invoke(cli, ["search", "--level", "县级", "--limit", "100", "--json", "--index", str(seed_index)])
        found = {(h["doc_id"], h["passage"]) for h in json.loads(result.output)["hits"]}
    else:
        q = {"inline": "level:县级", "inline alias": "层级:县级"}.get(how)
        found = every_hit(find, q) if q else every_hit(find, level="县")
    assert found == county


def test_level_buckets_come_in_their_order_and_count_like_the_others(find):
    result = find("红十字")
    assert [b.value for b in result.facets["level"]] == ["省级", "市级", "县级"]
    assert all(b.count == find("红十字", level=b.value).total for b in result.facets["level"])


def test_an_unknown_level_names_the_nearest_levels(find):
    with pytest.raises(QueryError, match="未知的机构层级：乡级。相近的有：省级、市级、县级"):
        find("", level="乡级")


def test_stats_and_overview_count_every_facet(runner, seed_index, client):
    stats = json.loads(runner.invoke(cli, ["stats", "--json", "--index", str(seed_index)]).output)
    assert list(stats["facets"]) == ["province", "city", "topic", "year", "level"]
    assert [row["value"] for row in stats["facets"]["level"]] == ["省级", "市级", "县级"]
    assert sum(row["passages"] for row in stats["facets"]["level"]) == stats["passages"]
    page = client.get("/overview").get_data(as_text=True)
    assert "按机构层级" in page and "县级" in page


def test_the_cli_says_how_many_more_values_a_facet_has(runner, seed_index):
    result = runner.invoke(cli, ["search", "红十字", "--index", str(seed_index)])
    topics = next(line for line in result.output.splitlines() if line.startswith("主题 (topic): "))
    shown = topics.count(" (") - 1
    total = len(json.loads(runner.invoke(cli, ["search", "红十字", "--json", "--index", str(seed_index)]).output)
                ["facets"]["topic"])
    assert shown == 10 and topics.endswith(f" … and {total - 10} more")


CLICKS = [{"q": "红十字"}, {"q": "红十字", "city": "石家庄"}, {"q": "红十字", "city": "西安"},
          {"q": "红十字", "province": "浙江", "city": "西安"}, {"q": "红十字", "topic": "救护培训"},
          {"q": "红十字", "page": 2}, {"q": "应急 培训 志愿者", "province": "四川"}, {"q": "应急 培训 志愿者"},
          {"q": "魔豆妈妈 公益直播间", "city": "石家庄"}, {"q": "魔豆妈妈 公益直播间"}, {"q": "石家庄 救灾"},
          {"q": "石家庄 救灾", "province": "河北"}, {"q": "红十字"}]


def test_a_searched_engine_answers_each_click_as_a_fresh_one(engine, seed_index):
    """Counts, matches and orders are kept between searches (the next page, the next click):
    each answer of an engine that has answered the others equals a fresh engine's."""
    def answer(searcher, params):
        request = SearchRequest(q=params["q"], page=params.get("page", 1), filters=Filters(
            **{name: (value,) for name, value in params.items() if name not in ("q", "page")}))
        result = searcher.search(request)
        return (result.total, result.relaxed, [(h.doc_id, h.passage) for h in result.hits],
                {name: [(b.value, b.count, b.selected) for b in buckets] for name, buckets in result.facets.items()})
    warm = [answer(engine, params) for params in CLICKS + CLICKS[::-1]]
    fresh = []
    for params in CLICKS + CLICKS[::-1]:
        with Engine(seed_index) as new:
            fresh.append(answer(new, params))
    assert warm == fresh
    assert len({str(a[3]["province"]) for a in fresh}) > 3
