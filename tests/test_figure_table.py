"""The figure table of an index: figures stored with their passages, joined with a search's
hits, filtered, counted, sorted and paged; kept in step with the reports on every run."""
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from search import columns, docsets, figure_table
from search.figure_table import FigurePage, FigureQuery, every_figure, figure_page
from search.index import current_generation, open_index, update_index
from search.querylang import QueryError

REPORTS = {
    "丁市": "丁市红十字会2023年工作总结\n\n全市新增注册志愿者3671人，募集善款1220.6万元。\n\n组建两支应急救援队，近3万人参加培训。\n",
    "乙县": "乙县红十字会年度工作报告\n\n全县共培训救护员4.39万人，发放救助金50万元。\n\n采集造血干细胞血样3220份、配型成功捐献24例。\n",
}


@pytest.fixture()
def reports(tmp_path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def index_of(folder: Path, index_dir: Path) -> Path:
    summary = update_index([folder], index_dir)
    assert summary.failed == []
    return index_dir


def reversed_order(docs, depth):
    """A search's order that ranks the passages backwards."""
    return docs[::-1][:depth]


def page(index_dir: Path, query: FigureQuery = FigureQuery(), order=None, prepared: bool = True):
    """The figure page of every passage (in docnum order, or in `order`), as
    (report, figure text, value, unit, subject, approx) rows, with the total and unit counts."""
    with open_index(index_dir).searcher() as searcher:
        version = searcher.reader().generation()
        folder = columns.prepared_folder(current_generation(index_dir), version) if prepared else None
        view = docsets.IndexView(("test", version), searcher, folder)
        result = figure_page(view, searcher, view.passages, query, order)
        rows = [(r.fields["doc_id"], r.figure.text, r.figure.value, r.figure.unit, r.figure.subject, r.figure.approx)
                for r in result.rows]
        return rows, result.total, result.units


ALL = [
    ("丁市", "3671人", 3671, "人", "新增注册志愿者", None),
    ("丁市", "1220.6万元", 12206000, "元", "募集善款", None),
    ("丁市", "两支", 2, "支", "应急救援队", None),
    ("丁市", "近3万人", 30000, "人", "参加培训", "近"),
    ("乙县", "4.39万人", 43900, "人", "培训救护员", None),
    ("乙县", "50万元", 500000, "元", "发放救助金", None),
    ("乙县", "3220份", 3220, "份", "采集造血干细胞血样", None),
    ("乙县", "24例", 24, "例", "配型成功捐献", None),
]
UNIT_COUNTS = [("人", 3), ("元", 2), ("份", 1), ("例", 1), ("支", 1)]


def test_every_figure_of_the_hits_in_their_order(reports, tmp_path):
    index_dir = index_of(reports, tmp_path / "index")
    assert page(index_dir) == (ALL, 8, UNIT_COUNTS)
    by_report = {doc: [row for row in ALL if row[0] == doc] for doc in ("丁市", "乙县")}
    reversed_passages = page(index_dir, order=reversed_order)[0]
    assert reversed_passages == by_report["乙县"][2:] + by_report["乙县"][:2] + by_report["丁市"][2:] + by_report["丁市"][:2]


def test_the_prepared_table_and_the_one_read_from_whoosh_agree(reports, tmp_path):
    index_dir = index_of(reports, tmp_path / "index")
    query = FigureQuery(sort="-value", limit=3, page=2)
    assert page(index_dir, query, prepared=False) == page(index_dir, query)


@pytest.mark.parametrize("query, rows, total, units", [
    # The unit filter leaves the unit counts as they were: they say what else there is.
    (FigureQuery(unit="人"), [ALL[0], ALL[3], ALL[4]], 3, UNIT_COUNTS),
    (FigureQuery(unit="吨"), [], 0, UNIT_COUNTS),
    (FigureQuery(min=3000, max=50000), [ALL[0], ALL[3], ALL[4], ALL[6]], 4,
     [("人", 3), ("份", 1)]),
    (FigureQuery(approx=True), [ALL[3]], 1, [("人", 1)]),
    (FigureQuery(approx=False, unit="元"), [ALL[1], ALL[5]], 2, [("人", 2), ("元", 2), ("份", 1), ("例", 1), ("支", 1)]),
    (FigureQuery(sort="value", limit=3), [ALL[2], ALL[7], ALL[6]], 8, UNIT_COUNTS),
    (FigureQuery(sort="-value", limit=2, page=2), [ALL[4], ALL[3]], 8, UNIT_COUNTS),
    (FigureQuery(sort="-value", limit=3, page=3), [ALL[7], ALL[2]], 8, UNIT_COUNTS),
    (FigureQuery(limit=3, page=4), [], 8, UNIT_COUNTS),
])
def test_filters_sorting_and_pages(reports, tmp_path, query, rows, total, units):
    assert page(index_of(reports, tmp_path / "index"), query) == (rows, total, units)


def test_equal_values_keep_the_order_of_the_hits(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, district in (("a", "东"), ("b", "南"), ("c", "西")):
        (folder / f"{name}.txt").write_text(f"{district}区红十字会工作总结\n\n{district}区组建救援队5支，培训学员200人。\n",
                                            encoding="utf-8")
    index_dir = index_of(folder, tmp_path / "index")
    ascending = [(row[0], row[1]) for row in page(index_dir, FigureQuery(sort="value", limit=2))[0]]
    assert ascending == [("a", "5支"), ("b", "5支")]
    reversed_hits = page(index_dir, FigureQuery(sort="-value", limit=2), order=reversed_order)[0]
    assert [(row[0], row[1]) for row in reversed_hits] == [("c", "200人"), ("b", "200人")]


def test_a_changed_report_changes_its_figures_on_an_incremental_run(reports, tmp_path):
    index_dir = index_of(reports, tmp_path / "index")
    (reports / "乙县.txt").write_text("乙县红十字会年度工作报告\n\n全县共培训救护员5120人，发放救助金80万元。\n",
                                     encoding="utf-8")
    summary = update_index([reports], index_dir)
    assert (summary.updated, summary.unchanged) == (["乙县"], ["丁市"])
    assert page(index_dir) == (ALL[:4] + [("乙县", "5120人", 5120, "人", "培训救护员", None),
                                          ("乙县", "80万元", 800000, "元", "发放救助金", None)],
                               6, [("人", 3), ("元", 2), ("支", 1)])
    (reports / "丁市.txt").unlink()
    update_index([reports], index_dir, confirm_removal=lambda summary: True)
    assert page(index_dir)[1:] == (2, [("人", 1), ("元", 1)])


@pytest.mark.parametrize("arguments, message", [
    (dict(limit=501), "limit 必须在 1 到 500 之间 (limit must be between 1 and 500, not 501)"),
    (dict(limit=0), "limit 必须在 1 到 500 之间 (limit must be between 1 and 500, not 0)"),
    (dict(page=0), "page 必须是正整数 (page must be 1 or more, not 0)"),
    (dict(sort="size"), "按数值排序只能是 value 或 -value (sort must be value or -value, not 'size')"),
    (dict(min=10, max=5), "最小值 10 大于最大值 5 (min (10) is above max (5))"),
])
def test_bad_queries_say_what_is_wrong(arguments, message):
    with pytest.raises(QueryError) as error:
        FigureQuery(**arguments)
    assert str(error.value) == message


def test_hits_without_figures_give_an_empty_page(reports, tmp_path):
    index_dir = index_of(reports, tmp_path / "index")
    with open_index(index_dir).searcher() as searcher:
        view = docsets.IndexView(("test", searcher.reader().generation()), searcher, None)
        assert figure_page(view, searcher, np.zeros(0, dtype=np.int32)) == FigurePage(0, [], [])


def rows_of(result_rows):
    return [(r.fields["doc_id"], r.figure.text) for r in result_rows]


@pytest.mark.parametrize("order", [None, reversed_order], ids=["document order", "reversed ranking"])
@pytest.mark.parametrize("filters", [{}, {"unit": "元"}, {"min": 24, "max": 3671}, {"approx": False, "unit": "人"}])
@pytest.mark.parametrize("sort", [None, "value", "-value"])
@pytest.mark.parametrize("chunk_rows", [figure_table.CHUNK_ROWS, 2], ids=["one chunk", "chunks of 2 rows"])
def test_pages_follow_one_order_that_the_whole_list_shares(reports, tmp_path, monkeypatch, order, filters, sort,
                                                          chunk_rows):
    """Paging three at a time, asking for everything at once and reading every figure give the
    same figures in the same order, however the search ranks its passages (only the passages
    that can reach a page are ranked) and however the table is read a chunk at a time (a
    passage's figures split between two chunks)."""
    monkeypatch.setattr(figure_table, "CHUNK_ROWS", chunk_rows)
    index_dir = index_of(reports, tmp_path / "index")
    with open_index(index_dir).searcher() as searcher:
        version = searcher.reader().generation()
        view = docsets.IndexView(("test", version), searcher,
                                 columns.prepared_folder(current_generation(index_dir), version))
        whole = figure_page(view, searcher, view.passages, FigureQuery(sort=sort, limit=500, **filters), order)
        paged = [row for number in (1, 2, 3) for row in figure_page(
            view, searcher, view.passages, FigureQuery(sort=sort, limit=3, page=number, **filters), order).rows]
        total, every = every_figure(view, searcher, view.passages, FigureQuery(sort=sort, **filters), order, chunk=2)
        expected = [(doc, text) for doc, text, value, unit, *_ in ALL
                    if unit == filters.get("unit", unit) and filters.get("min", 0) <= value <= filters.get("max", 1e9)
                    and (filters.get("approx") is None or (text.startswith("近")) == filters["approx"])]
        ranked = expected
        if order is not None:  # each passage's figures as it writes them, passages backwards
            ranked = [row for passage in reversed(PASSAGES) for row in expected if row[1] in passage]
        if sort is not None:
            values = {text: value for _, text, value, *_ in ALL}
            ranked = sorted(ranked, key=lambda row: values[row[1]] if sort == "value" else -values[row[1]])
        counted = Counter(unit for _, text, value, unit, *_ in ALL
                          if filters.get("min", 0) <= value <= filters.get("max", 1e9)
                          and (filters.get("approx") is None or text.startswith("近") == filters["approx"]))
        assert whole.units == sorted(counted.items(), key=lambda u: (-u[1], u[0]))
        assert (rows_of(whole.rows), whole.total) == (ranked, len(ranked))
        assert rows_of(paged) == ranked
        assert (total, rows_of(every)) == (len(ranked), ranked)


PASSAGES = [passage for text in REPORTS.values() for passage in text.strip().split("\n\n")[1:]]
