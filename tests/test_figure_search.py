"""Figures searched: /api/figures and its export, the document page marking a figure, the 数字
view of the search page and `rcsearch figures`, over reports composed here."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from search.cli import cli
from search.export import BOM
from search.index import update_index

from conftest import client_over

REPORTS = {
    "石家庄.txt": "石家庄市红十字会2021年工作总结\n\n全市新增注册志愿者3671人，募集善款1220.6万元。\n\n"
                 "组建两支应急救援队，近3万人参加救护员培训。\n",
    "绍兴.txt": "绍兴市红十字会2020年工作报告\n\n全市共培训救护员4.39万人，发放救助金50万元。\n\n"
               "采集造血干细胞血样3220份、配型成功捐献24例。\n",
    # Markdown moves characters (the bold marks), and 5支 stands twice in one passage.
    "长兴.md": "# 长兴县红十字会2022年工作总结\n\n## 一、应急救护\n\n**全县**组建应急救护队5支，水上救援队5支，"
              "志愿者1200余人。\n",
    # A title a spreadsheet would run as a formula.
    "通报.txt": "=SUM(1)红十字会工作通报\n\n全区发放慰问金8万元。\n",
}
SJZ = {"doc_id": "石家庄", "title": "石家庄市红十字会2021年工作总结", "province": "河北省", "city": "石家庄市",
       "county": None, "level": "市级", "year": 2021}
SX = {"doc_id": "绍兴", "title": "绍兴市红十字会2020年工作报告", "province": "浙江省", "city": "绍兴市",
      "county": None, "level": "市级", "year": 2020}
CX = {"doc_id": "长兴", "title": "长兴县红十字会2022年工作总结", "province": "浙江省", "city": "湖州市",
      "county": "长兴县", "level": "县级", "year": 2022}
TB = {"doc_id": "通报", "title": "=SUM(1)红十字会工作通报", "province": None, "city": None, "county": None,
      "level": "全国", "year": None}
URL_IDS = {"石家庄": "%E7%9F%B3%E5%AE%B6%E5%BA%84", "绍兴": "%E7%BB%8D%E5%85%B4", "长兴": "%E9%95%BF%E5%85%B4",
           "通报": "%E9%80%9A%E6%8A%A5"}


def figure(report, passage, start, end, value, unit, text, subject, approx=False):
    """A figure as /api/figures answers it."""
    return {"value": value, "unit": unit, "text": text, "subject": subject, "approx": approx, "passage": passage,
            **report, "url": f"/doc/{URL_IDS[report['doc_id']]}?mark={passage}:{start}-{end}#p{passage}"}


F = {
    "3671人": figure(SJZ, 2, 9, 14, 3671, "人", "3671人", "新增注册志愿者"),
    "1220.6万元": figure(SJZ, 2, 19, 27, 12206000, "元", "1220.6万元", "募集善款"),
    "两支": figure(SJZ, 3, 2, 4, 2, "支", "两支", "应急救援队"),
    "近3万人": figure(SJZ, 3, 10, 14, 30000, "人", "近3万人", "参加救护员培训", approx=True),
    "4.39万人": figure(SX, 2, 8, 14, 43900, "人", "4.39万人", "培训救护员"),
    "50万元": figure(SX, 2, 20, 24, 500000, "元", "50万元", "发放救助金"),
    "3220份": figure(SX, 3, 9, 14, 3220, "份", "3220份", "采集造血干细胞血样"),
    "24例": figure(SX, 3, 21, 24, 24, "例", "24例", "配型成功捐献"),
    "first 5支": figure(CX, 3, 13, 15, 5, "支", "5支", "组建应急救护队"),
    "second 5支": figure(CX, 3, 21, 23, 5, "支", "5支", "救援队"),
    "1200余人": figure(CX, 3, 27, 33, 1200, "人", "1200余人", "志愿者", approx=True),
    "8万元": figure(TB, 2, 7, 10, 80000, "元", "8万元", "发放慰问金"),
}
IN_REPORT_ORDER = ["3671人", "1220.6万元", "两支", "近3万人", "4.39万人", "50万元", "3220份", "24例", "8万元",
                   "first 5支", "second 5支", "1200余人"]


@pytest.fixture(scope="module")
def figure_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("figures")
    (root / "reports").mkdir()
    for name, text in REPORTS.items():
        (root / "reports" / name).write_text(text, encoding="utf-8")
    summary = update_index([root / "reports"], root / "index", workers=1)
    assert summary.failed == []
    return root / "index"


@pytest.fixture(scope="module")
def api(figure_index):
    yield from client_over(figure_index)


def figures(api, **params) -> dict:
    response = api.get("/api/figures", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def units(*pairs) -> list[dict]:
    return [{"value": unit, "count": count} for unit, count in pairs]


ALL_UNITS = units(("人", 4), ("元", 3), ("支", 3), ("份", 1), ("例", 1))


# -- the answer ---------------------------------------------------------------------------------

def test_an_empty_search_answers_every_figure_in_report_and_passage_order(api):
    assert figures(api) == {"total": 12, "figures": [F[name] for name in IN_REPORT_ORDER], "units": ALL_UNITS}


def test_the_figures_of_a_search_follow_its_passages_in_the_order_it_ranks_them(api):
    hits = api.get("/api/search", query_string={"q": "救护"}).get_json()["hits"]
    ranked = [(hit["doc_id"], hit["passage"]) for hit in hits]
    assert sorted(ranked) == [("石家庄", 3), ("绍兴", 2), ("长兴", 2), ("长兴", 3)]  # 长兴 2: a heading
    expected = [F[name] for doc, passage in ranked for name in IN_REPORT_ORDER
                if (F[name]["doc_id"], F[name]["passage"]) == (doc, passage)]
    assert figures(api, q="救护") == {"total": 7, "figures": expected,
                                        "units": units(("人", 3), ("支", 3), ("元", 1))}


def test_by_date_the_newest_reports_figures_come_first(api):
    answer = figures(api, sort="date")
    assert [f["text"] for f in answer["figures"]] == ["5支", "5支", "1200余人", "3671人", "1220.6万元", "两支", "近3万人",
                                                       "4.39万人", "50万元", "3220份", "24例", "8万元"]


@pytest.mark.parametrize("params, names, total, unit_counts", [
    # By value: equal values keep the passages' order (report order here, q being empty).
    ({"sort": "value", "limit": 4}, ["两支", "first 5支", "second 5支", "24例"], 12, ALL_UNITS),
    ({"sort": "-value", "limit": 3, "page": 2}, ["4.39万人", "近3万人", "3671人"], 12, ALL_UNITS),
    # The unit filter leaves the unit counts as they were: the facet shows what else there is.
    ({"unit": "元"}, ["1220.6万元", "50万元", "8万元"], 3, ALL_UNITS),
    ({"unit": "元", "sort": "-value"}, ["1220.6万元", "50万元", "8万元"], 3, ALL_UNITS),
    ({"min": "1万", "max": "100万"}, ["近3万人", "4.39万人", "50万元", "8万元"], 4, units(("人", 2), ("元", 2))),
    ({"min": "3e4", "max": "30000"}, ["近3万人"], 1, units(("人", 1))),
    ({"approx": "true"}, ["近3万人", "1200余人"], 2, units(("人", 2))),
    ({"approx": "false", "unit": "人"}, ["3671人", "4.39万人"], 2,
     units(("元", 3), ("支", 3), ("人", 2), ("份", 1), ("例", 1))),
    ({"city": "湖州"}, ["first 5支", "second 5支", "1200余人"], 3, units(("支", 2), ("人", 1))),
    ({"q": "救助金 OR 慰问金", "level": "全国"}, ["8万元"], 1, units(("元", 1))),
    ({"unit": "吨"}, [], 0, ALL_UNITS),
    ({"q": "没有这个词语的报告"}, [], 0, []),
    ({"limit": 5, "page": 3}, ["second 5支", "1200余人"], 12, ALL_UNITS),
])
def test_filters_orders_and_pages(api, params, names, total, unit_counts):
    assert figures(api, **params) == {"total": total, "figures": [F[name] for name in names], "units": unit_counts}


@pytest.mark.parametrize("params, message", [
    ({"unit": "斤斤"}, "没有这个单位：斤斤。单位是数字计数所用的量词或计量单位，如 人、元、例、份 (unknown unit: '斤斤')"),
    ({"min": "abc"}, "min 必须是数字，如 3000、1.5万：'abc' (min must be a number such as 3000 or 1.5万)"),
    ({"max": "1e999"}, "max 必须是数字，如 3000、1.5万：'1e999' (max must be a number such as 3000 or 1.5万)"),
    ({"min": "5万", "max": "3万"}, "最小值 50000 大于最大值 30000 (min (50000) is above max (30000))"),
    ({"sort": "size"}, "sort 只能是 relevance、date、value、-value (sort must be one of: relevance, date, value, -value)"),
    ({"limit": "501"}, "limit 必须在 1 到 500 之间 (limit must be between 1 and 500, not 501)"),
    ({"limit": "0"}, "limit 必须在 1 到 500 之间 (limit must be between 1 and 500, not 0)"),
    ({"page": "0"}, "page 必须是正整数 (page must be 1 or more, not 0)"),
    ({"page": "x"}, "page 必须是整数：'x' (page must be a whole number)"),
    ({"approx": "maybe"}, "approx 只能是 true 或 false (approx must be true or false)"),
    ({"unit": ["人", "元"]}, "unit 只能给一次 (unit may be given only once)"),
    ({"city": "不存在市"}, None),
])
def test_bad_parameters_are_a_400_that_says_what_is_wrong(api, params, message):
    response = api.get("/api/figures", query_string=params)
    assert response.status_code == 400
    search_error = api.get("/api/search", query_string={k: v for k, v in params.items() if k == "city"})
    assert response.get_json() == {"error": message if message else search_error.get_json()["error"]}


def test_the_limit_reaches_500(api):
    assert figures(api, limit=500)["total"] == 12


# -- the figure marked in its passage ---------------------------------------------------------------

def marks(html: str) -> list[tuple[str, str]]:
    """Every <mark> of a page, as (class, text)."""
    return re.findall(r'<mark(?: class="(\w+)")?>(.*?)</mark>', html)


def paragraph(html: str, passage: int) -> str:
    return re.search(rf'<div class="para" id="p{passage}">(.*?)</div>', html, re.S).group(1)


@pytest.mark.parametrize("name", ["近3万人", "4.39万人", "second 5支", "first 5支", "1200余人"])
def test_each_figures_url_opens_its_passage_with_that_figure_marked(api, name):
    url = F[name]["url"]
    page = api.get(url.split("#")[0])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and url.endswith(f"#p{F[name]['passage']}")
    assert marks(html) == [("figure", F[name]["text"])]
    marked = paragraph(html, F[name]["passage"])
    # The right one of two equal spans: the first 5支 follows 应急救护队, the second 救援队.
    before = {"first 5支": "应急救护队", "second 5支": "水上救援队"}.get(name, "")
    assert f'{before}<mark class="figure">{F[name]["text"]}</mark>' in marked


def test_the_searchs_terms_are_marked_beside_the_figure_and_never_inside_it(api):
    html = api.get("/doc/石家庄", query_string={"mark": "3:10-14", "q": "3万 培训"}).get_data(as_text=True)
    assert marks(html) == [("figure", "近3万人"), ("", "培训")]


# Past the passage, no passage, empty, no passage named, malformed; characters that are no figure.
@pytest.mark.parametrize("mark", ["3:10-99", "9:1-3", "3:5-5", "3-7", "p3:1-2", "3:1-2-3", "3:0-4", "2:9-13"])
def test_a_mark_that_fits_no_passage_marks_nothing_and_says_so(api, mark):
    html = api.get("/doc/石家庄", query_string={"mark": mark}).get_data(as_text=True)
    assert marks(html) == []
    assert "链接要标出的数字已不在这篇报告的这一段中" in html


def test_a_permalink_passes_the_figure_it_marks_to_the_passage_it_finds(api):
    permalink = api.get("/api/search", query_string={"q": "配型成功"}).get_json()["hits"][0]["permalink"]
    response = api.get(permalink, query_string={"mark": "21-24", "q": "配型"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/doc/%E7%BB%8D%E5%85%B4?q=%E9%85%8D%E5%9E%8B&mark=3:21-24#p3"
    html = api.get(response.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert marks(html) == [("", "配型"), ("figure", "24例")]


# -- export ---------------------------------------------------------------------------------------------

CSV_HEADER = ["数值", "单位", "原文", "所计", "约数", "报告", "标题", "段落号", "省", "市", "县", "层级", "年份", "链接"]


def test_the_csv_export_holds_every_figure_in_the_tables_order(api):
    response = api.get("/api/figures/export", query_string={"format": "csv", "sort": "-value", "min": "1万"})
    assert (response.status_code, response.mimetype) == (200, "text/csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="rcsearch-figures.csv"'
    body = response.get_data()
    assert body.startswith(BOM.encode("utf-8"))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8")[1:], newline="")))
    anchors = {doc: api.get("/api/search", query_string={"q": text}).get_json()["hits"][0]["permalink"]
               for doc, text in (("石家庄", "募集善款"), ("绍兴", "发放救助金"), ("通报", "慰问金"), ("近", "参加救护员培训"))}
    assert rows == [CSV_HEADER,
                    ["12206000", "元", "1220.6万元", "募集善款", "", "石家庄", "石家庄市红十字会2021年工作总结", "2", "河北省",
                     "石家庄市", "", "市级", "2021", f"http://localhost{anchors['石家庄']}?mark=19-27"],
                    ["500000", "元", "50万元", "发放救助金", "", "绍兴", "绍兴市红十字会2020年工作报告", "2", "浙江省", "绍兴市",
                     "", "市级", "2020", f"http://localhost{anchors['绍兴']}?mark=20-24"],
                    # A cell a spreadsheet would run as a formula is text.
                    ["80000", "元", "8万元", "发放慰问金", "", "通报", "'=SUM(1)红十字会工作通报", "2", "", "", "", "全国", "",
                     f"http://localhost{anchors['通报']}?mark=7-10"],
                    ["43900", "人", "4.39万人", "培训救护员", "", "绍兴", "绍兴市红十字会2020年工作报告", "2", "浙江省", "绍兴市",
                     "", "市级", "2020", f"http://localhost{anchors['绍兴']}?mark=8-14"],
                    ["30000", "人", "近3万人", "参加救护员培训", "约", "石家庄", "石家庄市红十字会2021年工作总结", "3", "河北省",
                     "石家庄市", "", "市级", "2021", f"http://localhost{anchors['近']}?mark=10-14"]]


def test_the_jsonl_export_is_the_apis_figures_page_after_page(api):
    response = api.get("/api/figures/export", query_string={"format": "jsonl", "q": "救护员", "sort": "value"})
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert lines == figures(api, q="救护员", sort="value", limit=500)["figures"]


@pytest.mark.parametrize("params, message", [
    ({"format": "facets-csv"}, "format 只能是 csv、jsonl (format must be one of: csv, jsonl)"),
    ({"format": "csv", "unit": "斤斤"}, "没有这个单位：斤斤。单位是数字计数所用的量词或计量单位，如 人、元、例、份 (unknown unit: '斤斤')"),
])
def test_a_bad_export_is_a_400(api, params, message):
    response = api.get("/api/figures/export", query_string=params)
    assert (response.status_code, response.get_json()) == (400, {"error": message})


def test_an_export_over_the_cap_is_refused_before_anything_is_sent(figure_index):
    from web import create_app
    app = create_app({"TESTING": True, "INDEX_DIR": str(figure_index), "EXPORT_MAX_ROWS": 11})
    with app.test_client() as client:
        response = client.get("/api/figures/export", query_string={"format": "csv"})
        assert (response.status_code, response.get_json()) == (400, {"error": (
            "共 12 个数字，超过导出上限 11 个：请加关键词、筛选条件或数值范围后再导出 "
            "(12 figures, more than the export limit of 11: narrow the search)")})
        assert client.get("/api/figures/export", query_string={"format": "csv", "unit": "人"}).status_code == 200
    app.extensions["rcsearch"].close()


# -- the 数字 view ----------------------------------------------------------------------------------------

def cells(html: str) -> list[list[str]]:
    """The 数字 table as a reader sees it: each row's cells as text."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []
    text = lambda cell: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()
    return [[text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def test_the_figures_tab_shows_the_searchs_figures_as_a_table(api):
    page = api.get("/", query_string={"q": "救护", "view": "figures", "sort": "-value", "unit": "人"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert cells(html) == [
        ["4.39万人", "43,900 人", "培训救护员", "浙江省 › 绍兴市", "2020", "绍兴市红十字会2020年工作报告 第 2 段"],
        ["近3万人 约数", "30,000 人", "参加救护员培训", "河北省 › 石家庄市", "2021", "石家庄市红十字会2021年工作总结 第 3 段"],
        ["1200余人 约数", "1,200 人", "志愿者", "浙江省 › 湖州市 › 长兴县", "2022", "长兴县红十字会2022年工作总结 第 3 段"],
    ]
    # Each row links to its passage with the figure marked, the search kept for the way back.
    assert re.findall(r'<td data-label="数字" class="figure"><a href="([^"]+)"', html) == [
        f"/doc/{URL_IDS[doc]}?mark={mark}&amp;q=%E6%95%91%E6%8A%A4&amp;sort=-value&amp;view=figures"
        f"&amp;unit=%E4%BA%BA#p{passage}" for doc, mark, passage in
        (("绍兴", "2:8-14", 2), ("石家庄", "3:10-14", 3), ("长兴", "3:27-33", 3))]
    summary = re.search(r'<p class="summary" role="status">(.*?)</p>', html).group(1)
    assert summary == "4 条段落中有 3 个符合条件的数字"
    units_facet = re.findall(r'<a href="[^"]*"( class="on" aria-current="true")?>\s*<span class="label">'
                             r'(?:<span aria-hidden="true">✓ </span>)?(.*?)</span> <span class="count">(\d+)</span>',
                             html.split('id="facet-unit"')[1].split("</section>")[0])
    assert units_facet == [(' class="on" aria-current="true"', "人", "3"), ("", "支", "3"), ("", "元", "1")]
    tabs = re.search(r'<nav class="tabs".*?</nav>', html, re.S).group(0)
    assert re.findall(r"<(a|strong)[^>]*>(\S+) <span class=\"count\">(\d+)</span>", tabs) == [
        ("a", "段落", "4"), ("strong", "数字", "3")]
    assert 'href="/?q=%E6%95%91%E6%8A%A4">段落' in tabs  # the passages: unit and order left behind
    assert "chip" in html and "单位：人" in html


def test_the_passages_tab_links_to_the_figures_of_the_same_search(api):
    html = api.get("/", query_string={"q": "救护员", "city": "绍兴", "sort": "date"}).get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs".*?</nav>', html, re.S).group(0)
    assert '<a href="/?q=%E6%95%91%E6%8A%A4%E5%91%98&amp;city=%E7%BB%8D%E5%85%B4&amp;sort=date&amp;view=figures"' in tabs


def test_the_figures_view_without_a_search_lists_every_figure_and_pages_them(api):
    html = api.get("/", query_string={"view": "figures", "limit": "5", "page": "2"}).get_data(as_text=True)
    assert [row[0] for row in cells(html)] == ["50万元", "3220份", "24例", "8万元", "5支"]
    pager = re.search(r'<nav class="pager".*?</nav>', html, re.S).group(0)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", pager)).strip() == "‹ 上一页 1 2 3 下一页 ›"


def test_a_bad_range_in_the_figures_view_is_a_400_page_that_says_so(api):
    page = api.get("/", query_string={"q": "救护员", "view": "figures", "min": "很多"})
    assert page.status_code == 400
    assert "min 必须是数字，如 3000、1.5万" in page.get_data(as_text=True)


def test_figures_that_pass_no_filter_leave_an_empty_table_with_ways_out(api):
    html = api.get("/", query_string={"q": "救护", "view": "figures", "min": "1亿"}).get_data(as_text=True)
    assert cells(html) == []
    assert "这 4 条段落中没有符合条件的数字。" in html and "去掉“数值不小于：1亿”" in html


# -- rcsearch figures -------------------------------------------------------------------------------------

def run(runner, figure_index, *args):
    result = runner.invoke(cli, ["figures", *args, "--index", str(figure_index)])
    return result


def test_the_cli_prints_each_figure_with_what_it_counts(runner, figure_index):
    result = run(runner, figure_index, "救护", "--sort", "-value", "--unit", "人")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "3 figures",
        "        43,900 人   4.39万人  培训救护员  [浙江省 › 绍兴市 · 2020 · 绍兴市红十字会2020年工作报告 · 绍兴 #2]",
        "        30,000 人   近3万人 (约数)  参加救护员培训  [河北省 › 石家庄市 · 2021 · 石家庄市红十字会2021年工作总结 · 石家庄 #3]",
        "         1,200 人   1200余人 (约数)  志愿者  [浙江省 › 湖州市 › 长兴县 · 2022 · 长兴县红十字会2022年工作总结 · 长兴 #3]",
        "",
        "单位 (unit): 人 (3), 支 (3), 元 (1)",
    ]


def test_the_cli_json_is_the_api_answer_and_its_csv_the_exports_bytes(runner, figure_index, api):
    params = {"q": "救护员", "sort": "value", "min": "3"}
    printed = run(runner, figure_index, "救护员", "--sort", "value", "--min", "3", "--json")
    assert json.loads(printed.output) == figures(api, **params)
    exported = run(runner, figure_index, "救护员", "--sort", "value", "--min", "3", "--format", "csv", "--all",
                   "--base-url", "http://localhost")
    assert exported.stdout_bytes == api.get("/api/figures/export", query_string={**params, "format": "csv"}).get_data()
    lines = run(runner, figure_index, "--approx", "--format", "jsonl")
    assert [json.loads(line) for line in lines.output.splitlines()] == [F["近3万人"], F["1200余人"]]
    exact = run(runner, figure_index, "--exact", "--unit", "人", "--json")
    assert [f["text"] for f in json.loads(exact.output)["figures"]] == ["3671人", "4.39万人"]


@pytest.mark.parametrize("args, message", [
    (["--unit", "斤斤"], "unknown unit: '斤斤'"),
    (["--min", "多"], "min must be a number such as 3000 or 1.5万"),
    (["--limit", "501"], "limit must be between 1 and 500, not 501"),
    (["--sort", "size"], "'size' is not one of 'relevance', 'date', 'value', '-value'"),
    (["--json", "--format", "csv"], "--json prints one page as /api/figures answers it"),
    (["--all"], "--all exports every figure: add --format csv or --format jsonl"),
])
def test_cli_mistakes_are_usage_errors(runner, figure_index, args, message):
    result = run(runner, figure_index, *args)
    assert result.exit_code == 2 and message in result.output, result.output
