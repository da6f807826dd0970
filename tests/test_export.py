"""Results taken away: CSV and JSON Lines exports, facet counts as CSV, the export cap, streaming."""
from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest

from search import analysis, facets
from search.cli import cli
from search.export import BOM, spreadsheet_safe
from search.facets import FACETS
from search.index import update_index
from web import create_app

from conftest import client_over

HEADER = ["报告", "标题", "段落号", "小标题", "省", "市", "县", "层级", "主题", "年份", "段落全文", "链接"]
FACET_HEADER = ["维度", "值", "上级", "段落数"]


def export(client, **params):
    return client.get("/api/export", query_string=params)


def csv_rows(response) -> list[list[str]]:
    """A CSV answer as a spreadsheet reads it: UTF-8 after the BOM, then rows."""
    body = response.get_data()
    assert body.startswith(BOM.encode("utf-8")), body[:10]
    return list(csv.reader(io.StringIO(body[len(BOM.encode("utf-8")):].decode("utf-8"), newline="")))


def api_hits(client, **params) -> tuple[int, list[dict]]:
    """Every hit of a search, page after page of /api/search."""
    first = client.get("/api/search", query_string={**params, "limit": 100}).get_json()
    hits = list(first["hits"])
    for page in range(2, -(-first["total"] // 100) + 1):
        hits += client.get("/api/search", query_string={**params, "limit": 100, "page": page}).get_json()["hits"]
    return first["total"], hits


# -- CSV -------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, expected", [
    ({"q": "红十字"}, 126),
    ({"q": "红十字", "city": "石家庄"}, 38),
    ({"q": "红十字", "sort": "date"}, 126),
    ({"q": "志愿者", "province": ["浙江", "河北"], "level": "市级"}, 9),
])
def test_csv_holds_every_passage_of_the_search_in_its_order(client, params, expected):
    response = export(client, format="csv", **params)
    assert (response.status_code, response.mimetype) == (200, "text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="rcsearch.csv"'
    header, *rows = csv_rows(response)
    total, hits = api_hits(client, **params)
    assert header == HEADER
    assert len(rows) == total == len(hits) == expected
    assert all(params["q"] in analysis.compact(row[10]) for row in rows)
    assert [(row[0], int(row[2])) for row in rows] == [(hit["doc_id"], hit["passage"]) for hit in hits]


def test_a_csv_row_is_the_hit_with_its_absolute_permalink(client):
    _, hits = api_hits(client, q="魔豆妈妈")
    _, row = csv_rows(export(client, format="csv", q="魔豆妈妈"))[:2]
    hit = hits[0]
    assert row == [hit["doc_id"], hit["title"], str(hit["passage"]), hit["heading"], hit["province"], hit["city"],
                   hit["county"] or "", hit["level"], "、".join(hit["topics"]), str(hit["year"]), hit["text"],
                   "http://localhost" + hit["permalink"]]
    assert row[:10] == ["001_77d36a74d18f4973", "用爱心凝聚人道力量 用行动弘扬红十字精神", "15",
                        "助力脱贫攻坚,人道救助领域不断拓展", "河北省", "石家庄市", "", "市级",
                        "人道救助", "2021"]
    assert row[11].startswith("http://localhost/p/001_77d36a74d18f4973/")


FORMULA_REPORT = """\
# =HYPERLINK("http://evil.example","点我")公式报告

## @提及 公式小标题

=SUM(A1:A3) 红十字会公式段落一，等号开头。

+86 电话号码，红十字会公式段落二，加号开头。

-1 红十字会公式段落三，减号开头。

@提及 红十字会公式段落四，艾特开头。

红十字会公式段落五，普通开头 =不在开头。
"""


@pytest.fixture(scope="module")
def formulas(tmp_path_factory):
    """A client over one report whose title, heading and passages start like formulas."""
    root = tmp_path_factory.mktemp("formulas")
    (root / "sources").mkdir()
    (root / "sources" / "formula.md").write_text(FORMULA_REPORT, encoding="utf-8")
    assert update_index([root / "sources"], root / "index", workers=1).failed == []
    yield from client_over(root / "index")


def test_formula_cells_are_escaped_and_nothing_else_changes(formulas):
    _, *rows = csv_rows(export(formulas, format="csv", q="公式段落", sort="date"))
    assert [row[10] for row in rows] == [
        "'=SUM(A1:A3) 红十字会公式段落一，等号开头。",
        "'+86 电话号码，红十字会公式段落二，加号开头。",
        "'-1 红十字会公式段落三，减号开头。",
        "'@提及 红十字会公式段落四，艾特开头。",
        "红十字会公式段落五，普通开头 =不在开头。",
    ]
    assert {row[1] for row in rows} == {"'=HYPERLINK(\"http://evil.example\",\"点我\")公式报告"}
    assert {row[3] for row in rows} == {"'@提及 公式小标题"}
    # The JSON Lines export is data, not a spreadsheet: the text as it is.
    lines = export(formulas, format="jsonl", q="\"公式段落一\"").get_data(as_text=True).splitlines()
    assert json.loads(lines[0])["text"] == "=SUM(A1:A3) 红十字会公式段落一，等号开头。"


@pytest.mark.parametrize("cell, shown", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("红十字 =1", "红十字 =1"), ("", ""), (2021, 2021), (-5, -5),
])
def test_spreadsheet_safe_cells(cell, shown):
    assert spreadsheet_safe(cell) == shown


# -- JSON Lines --------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"q": "红十字"},
    {"q": "红十字", "sort": "date"},
    {"q": "石家庄有多少志愿者加入中华骨髓库"},  # relaxed
    {"city": "东阳"},                        # browsing, no query
])
def test_json_lines_are_the_api_hits_page_after_page(client, params):
    response = export(client, format="jsonl", **params)
    assert (response.status_code, response.mimetype) == (200, "application/x-ndjson")
    lines = response.get_data(as_text=True).split("\n")
    assert lines[-1] == ""
    total, hits = api_hits(client, **params)
    assert [json.loads(line) for line in lines[:-1]] == hits and len(hits) == total > 0


# -- streaming ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def thousands(tmp_path_factory):
    """A client over 30 reports of 100 passages each, every passage naming 红十字会."""
    root = tmp_path_factory.mktemp("thousands")
    sources = root / "sources"
    sources.mkdir()
    for r in range(30):
        paragraphs = [f"第{r}号报告第{p}段：红十字会组织志愿者开展应急救护培训{p}场，覆盖社区群众{r * 100 + p}人次，"
                      "并向困难家庭发放救助物资，做到公开透明、规范管理，持续推进人道服务向基层延伸。"
                      "全年募集款物按照捐赠人意愿及时拨付，接受审计和社会监督，信息在官方网站和微信公众号公开，"
                      "群众满意度明显提升，志愿服务队伍不断壮大，基层组织建设得到加强。"
                      for p in range(100)]
        (sources / f"report_{r:03d}.txt").write_text(f"石家庄市红十字会第{r}号工作报告\n\n" + "\n\n".join(paragraphs),
                                                     encoding="utf-8")
    assert len(update_index([sources], root / "index", workers=1).added) == 30
    yield from client_over(root / "index")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_streams_with_flat_memory(thousands, fmt):
    params = {"format": fmt, "q": "红十字会"}
    export(thousands, **params).get_data()  # the index's columns and postings are loaded once, first
    tracemalloc.start()
    try:
        response = export(thousands, **params)
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sent = lines = 0
        for chunk in response.iter_encoded():
            sent += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.is_streamed and not isinstance(response.response, (list, tuple))
    total = thousands.get("/api/search", query_string={"q": "红十字会"}).get_json()["total"]
    assert lines == total + (fmt == "csv") and total == 30 * 101  # each report's title line and passages
    # Holding the 3,000 hits at once would take more than the answer itself; a row at a time,
    # a small fraction of it.
    assert peak - before < sent / 5, (peak - before, sent)


# -- the cap ------------------------------------------------------------------------------

@pytest.fixture
def capped(seed_index):
    app = create_app({"TESTING": True, "INDEX_DIR": str(seed_index), "EXPORT_MAX_ROWS": 20})
    yield app.test_client()
    if app.extensions.get("rcsearch"):
        app.extensions["rcsearch"].close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_more_hits_than_the_cap_is_a_400_that_says_to_narrow_the_search(capped, fmt):
    response = export(capped, format=fmt, q="红十字")
    assert (response.status_code, response.get_json()) == (400, {"error": (
        "共 126 条结果，超过导出上限 20 条：请加关键词或筛选条件缩小检索范围后再导出 "
        "(126 results, more than the export limit of 20: narrow the search)")})
    assert len(csv_rows(export(capped, format="csv", q="博爱送万家"))) == 1 + 5
    page = capped.get("/", query_string={"q": "红十字"}).get_data(as_text=True)
    assert "结果超过 20 条，缩小检索范围后可导出" in page and "导出 CSV" not in page


@pytest.mark.parametrize("params, message", [
    ({"q": "红十字"}, "format must be one of: csv, jsonl, facets-csv"),
    ({"q": "红十字", "format": "xlsx"}, "format must be one of"),
    ({"q": "红十字", "format": ["csv", "jsonl"]}, "format may be given only once"),
    ({"q": "红十字", "format": "csv", "sort": "random"}, "sort must be relevance or date"),
    ({"q": "红十字", "format": "facets-csv", "sort": "random"}, "sort must be relevance or date"),
    ({"q": "红十字", "format": "csv", "city": "火星"}, "unknown city"),
    ({"q": "字" * 501, "format": "jsonl"}, "too long"),
])
def test_bad_export_parameters_get_a_400(client, params, message):
    response = export(client, **params)
    assert response.status_code == 400 and message in response.get_json()["error"]


# -- facet counts -----------------------------------------------------------------------------

def facet_rows(response) -> dict[str, list[tuple]]:
    header, *rows = csv_rows(response)
    assert header == FACET_HEADER
    label = {facet.label: facet.name for facet in FACETS}
    grouped: dict[str, list[tuple]] = {}
    for name, value, parent, count in rows:
        grouped.setdefault(label[name], []).append((value, parent, int(count)))
    return grouped


def buckets(answer) -> dict[str, list[tuple]]:
    return {name: [(str(b["value"]), b["parent"] or "", b["count"]) for b in shown]
            for name, shown in answer["facets"].items() if shown}


@pytest.mark.parametrize("params", [{"q": "红十字"}, {"q": "红十字", "city": "石家庄", "topic": "三献"}, {"year": 2020}])
def test_facet_counts_csv_is_what_the_sidebar_counts(client, params):
    response = export(client, format="facets-csv", **params)
    assert (response.status_code, response.mimetype) == (200, "text/csv")
    assert facet_rows(response) == buckets(client.get("/api/search", query_string=params).get_json())


def test_facet_counts_csv_has_every_value_not_only_those_shown(client, monkeypatch):
    everything = buckets(client.get("/api/search", query_string={"q": "红十字"}).get_json())
    monkeypatch.setattr(facets, "FACET_SIZE", 2)
    answer = client.get("/api/search", query_string={"q": "红十字"}).get_json()
    assert answer["facets_more"]["topic"] == len(everything["topic"]) - 2 > 0
    assert facet_rows(export(client, format="facets-csv", q="红十字")) == everything


def test_facet_counts_csv_names_the_facets_by_their_labels_in_their_order(client):
    _, *rows = csv_rows(export(client, format="facets-csv", q="红十字"))
    assert list(dict.fromkeys(row[0] for row in rows)) == [facet.label for facet in FACETS] == [
        "省份", "城市", "主题", "年份", "机构层级"]


# -- from the search page ------------------------------------------------------------------

def test_the_search_page_links_to_exports_of_the_whole_search(client):
    html = client.get("/", query_string={"q": "红十字", "city": "石家庄", "sort": "date", "page": 2}).get_data(
        as_text=True)
    state = "q=%E7%BA%A2%E5%8D%81%E5%AD%97&amp;city=%E7%9F%B3%E5%AE%B6%E5%BA%84&amp;sort=date"
    for fmt, label in (("csv", "导出 CSV"), ("jsonl", "导出 JSON Lines"), ("facets-csv", "导出统计 CSV")):
        assert f'<a href="/api/export?format={fmt}&amp;{state}" download>{label}</a>' in html


# -- the CLI writes what the API sends ----------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_cli_all_prints_the_api_export(runner, seed_index, client, fmt):
    result = runner.invoke(cli, ["search", "红十字", "--city", "石家庄", "--format", fmt, "--all",
                                 "--base-url", "http://localhost", "--index", str(seed_index)])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == export(client, format=fmt, q="红十字", city="石家庄").get_data()


def test_cli_format_without_all_prints_the_page(runner, seed_index, client):
    result = runner.invoke(cli, ["search", "红十字", "--format", "jsonl", "--limit", "5", "--page", "2",
                                 "--index", str(seed_index)])
    assert result.exit_code == 0, result.output
    page = client.get("/api/search", query_string={"q": "红十字", "limit": 5, "page": 2}).get_json()["hits"]
    assert [json.loads(line) for line in result.output.splitlines()] == page


@pytest.mark.parametrize("args, message", [
    (["--all"], "--all exports every matching passage: add --format csv or --format jsonl"),
    (["--json", "--format", "csv"], "choose one"),
    (["--format", "xlsx"], "'xlsx' is not one of 'csv', 'jsonl'"),
])
def test_cli_export_usage_errors(runner, seed_index, args, message):
    result = runner.invoke(cli, ["search", "红十字", *args, "--index", str(seed_index)])
    assert result.exit_code == 2 and message in result.output, result.output
