"""Regions, topics and years on passages; filters and disjunctive facet counts; stats."""
import json
import random

import pytest

from search.cli import cli
from search.query import document


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


@pytest.mark.parametrize("filters, docs", [
    ({"city": "石家庄"}, {"001"}),
    ({"city": "石家庄市"}, {"001"}),
    ({"city": "东阳"}, {"004"}),
    ({"city": "金华"}, {"004"}),
    ({"province": "浙江"}, {"004"}),
    ({"province": "浙江省"}, {"004"}),
    ({"city": ["石家庄", "西安"]}, {"001", "003"}),
    ({"province": "四川", "topic": "疫情防控"}, {"000"}),
    ({"topic": "三献"}, {"000", "001", "002", "003", "004"}),
    ({"year": 2023}, {"002"}),
    ({"city": "意大利"}, set()),
])
def test_filters_select_exactly_their_passages(find, filters, docs):
    result = find("", limit=100, **filters)
    assert {h.doc_id[:3] for h in result.hits} == docs
    assert result.total == len(result.hits) or result.total > 100


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


def test_facet_counts_ignore_their_own_selection(find):
    plain = find("红十字")
    selected = find("红十字", city="石家庄")
    counts = lambda result, name: [(b.value, b.count) for b in result.facets[name]]
    assert counts(selected, "city") == counts(plain, "city")
    assert counts(selected, "province") != counts(plain, "province")
    assert [b.value for b in selected.facets["city"] if b.selected] == ["石家庄市"]


FACET_QUERIES = ["", "红十字", "救助", "志愿者", "应急 培训"]


@pytest.mark.parametrize("seed", range(12))
def test_every_facet_count_equals_the_total_its_selection_returns(find, seed):
    rng = random.Random(seed)
    q = rng.choice(FACET_QUERIES)
    base = find(q)
    chosen = {}
    for name in rng.sample(["province", "city", "topic", "year"], rng.randint(0, 2)):
        if base.facets[name]:
            chosen[name] = rng.choice(base.facets[name]).value
    result = find(q, **chosen)
    for name, buckets in result.facets.items():
        for bucket in buckets:
            # Disjunctive: a value's count is what replacing this facet's selection by it returns.
            assert bucket.count == find(q, **{**chosen, name: bucket.value}).total, (q, chosen, name, bucket)


def test_browse_by_year_sorted_by_date(client):
    answer = client.get("/api/search", query_string={"sort": "date", "limit": 100}).get_json()
    years = [h["year"] for h in answer["hits"]]
    assert answer["total"] == 0 or years == sorted(years, reverse=True)


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
