"""Builds too big to sort in memory: postings spilled to disk come back complete and in order."""
import random
import shutil

import pytest
from whoosh.filedb.filestore import FileStorage

from search import index, whoosh_internals
from search.engine import Engine
from search.querylang import SearchRequest

from conftest import assert_prepared_as_computed

QUERIES = ["红十字", "造血干细胞", '"博爱送万家"', "石家庄有多少志愿者加入中华骨髓库", "会"]


@pytest.mark.parametrize("merge_files", [64, 2])
def test_spilled_postings_come_back_by_term_in_document_order(tmp_path, monkeypatch, merge_files):
    """Writers add documents in order; the pool hands each term's postings back whole, in
    document order, whatever it spilled to disk (and however many runs it merged at once)."""
    monkeypatch.setattr(whoosh_internals.TermPool, "CHUNK", 1000)
    monkeypatch.setattr(whoosh_internals.TermPool, "MERGE_FILES", merge_files)
    pool = whoosh_internals.TermPool(FileStorage(str(tmp_path)), None, limitmb=1)
    rng = random.Random(7)
    postings = [(field, f"词{term:03d}".encode(), docnum, docnum * 0.1, b"\x01" if field == "text" else b"")
                for docnum in range(40_000) for field in ("grams", "text") for term in rng.sample(range(500), 3)]
    for posting in postings:
        pool.add(posting)
    assert len(pool.runs) >= 3  # spilled several runs, each of several chunks
    by_term = {}
    for field, term, docnum, weight, value in postings:
        by_term.setdefault((field, term), ([], [], []))
        for part, item in zip(by_term[field, term], (docnum, weight, value)):
            part.append(item)
    assert [(field, term, list(docnums), list(weights), list(values))
            for field, term, docnums, weights, values in pool.iter_postings()] == \
        [(field, term, *parts) for (field, term), parts in sorted(by_term.items())]


def _scored(engine: Engine, q: str) -> dict[tuple[str, int], float]:
    """Every hit of q with its score (equal scores may come in another order in another build)."""
    first = engine.search(SearchRequest(q=q, limit=100))
    pages = [first] + [engine.search(SearchRequest(q=q, limit=100, page=p)) for p in range(2, (first.total - 1) // 100 + 2)]
    return {(h.doc_id, h.passage): h.score for page in pages for h in page.hits}


@pytest.mark.parametrize("workers", [1, 2])
def test_an_index_built_in_small_runs_answers_like_one_sorted_in_memory(engine, sources, tmp_path, monkeypatch,
                                                                        workers):
    monkeypatch.setattr(index, "PARALLEL_MIN_FILES", 2)
    summary = index.update_index([sources], tmp_path / "index", workers=workers, pool_mb=1)
    assert len(summary.added) == 5
    with Engine(tmp_path / "index") as small_runs:
        for q in QUERIES:
            expected = _scored(engine, q)
            assert _scored(small_runs, q) == expected and expected, q


def test_each_index_version_has_its_columns_prepared_for_servers(sources, tmp_path, monkeypatch):
    """The indexer writes the columns of the version it committed (taking those of the
    segments the version before it had from what it prepared then); a server memory-maps
    them and answers exactly as from the columns it would read through Whoosh. The report
    records the next run compares files with are kept the same way."""
    monkeypatch.setattr(index, "PARALLEL_MIN_FILES", 2)
    index_dir = tmp_path / "index"
    index.update_index([sources], index_dir, workers=2)  # a segment per writer process
    assert assert_prepared_as_computed(index_dir) == 2
    next(sources.glob("001_*")).unlink()
    index.update_index([sources], index_dir)  # deletions only
    assert_prepared_as_computed(index_dir)
    changed = next(sources.glob("002_*"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n新增一段：湖州市红十字会开展鸮鸮救护培训。\n",
                       encoding="utf-8")
    (sources / "新报告.txt").write_text("丽水市红十字会2024年工作总结\n\n全市开展应急救护培训。\n", encoding="utf-8")
    index.update_index([sources], index_dir, workers=1)  # a new segment beside the old ones
    assert assert_prepared_as_computed(index_dir) >= 2
    with Engine(index_dir) as engine:
        assert [h.doc_id for h in engine.search(SearchRequest(q="鸮鸮救护")).hits] == [changed.stem]


def test_a_change_of_how_columns_are_prepared_reindexes_every_report(sources, tmp_path, monkeypatch):
    """search/columns.py writes the prepared columns: changed (an update of rcsearch), every
    report is indexed again and its version prepared anew, like any other indexing change."""
    index_dir = tmp_path / "index"
    assert len(index.update_index([sources], index_dir).added) == 5
    code = tmp_path / "code"
    shutil.copytree(index.PACKAGE_DIR, code, ignore=shutil.ignore_patterns("__pycache__", "data"))
    with open(code / "columns.py", "a", encoding="utf-8") as columns_code:
        columns_code.write("\n# another layout of the prepared columns\n")
    monkeypatch.setattr(index, "PACKAGE_DIR", code)
    summary = index.update_index([sources], index_dir)
    assert summary.data_changed and len(summary.updated) == 5
    assert_prepared_as_computed(index_dir)
    assert index.update_index([sources], index_dir).unchanged == sorted(summary.updated)
