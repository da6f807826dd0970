"""Shared fixtures: an index built from the seeds (once per session), the app, its client, a CLI runner."""
from __future__ import annotations

import json
import os
import shutil
import traceback
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from search import columns, index
from search.engine import Engine
from search.facets import Filters
from search.index import current_generation, update_index
from search.querylang import SearchRequest
from web import create_app

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Path:
    """An index of the five seed reports, built once and shared read-only."""
    index_dir = tmp_path_factory.mktemp("index")
    summary = update_index([SEEDS], index_dir, workers=1)
    assert summary.failed == [] and len(summary.added) == 5
    return index_dir


# Reports named the way people name files; each holds a word no other report has.
NAMED_REPORTS = {
    "2021年工作报告（定稿）.txt": ("2021年红十字会工作报告", "全年组织定稿演练四十场次，群众广泛参与。"),
    "邢台日报 2024-10-21（转）.txt": ("邢台市红十字会开展博爱送万家", "邢台转载专稿：红十字志愿者走访困难家庭。"),
    "宁波 第二例造血干细胞捐献 (1).txt": ("宁波第二例造血干细胞捐献", "宁波副本捐献者完成采集，红十字会全程陪同。"),
    "v1.2.final.md": ("# 志愿服务工作总结", "## 一、志愿服务\n\n版本终稿记录：红十字志愿者开展应急救护培训。"),
}


def write_named_reports(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, body) in NAMED_REPORTS.items():
        (folder / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")


@pytest.fixture(scope="session")
def named_index(tmp_path_factory) -> Path:
    """An index of the NAMED_REPORTS, under their file names."""
    root = tmp_path_factory.mktemp("named")
    write_named_reports(root / "sources")
    summary = update_index([root / "sources"], root / "index", workers=1)
    assert summary.failed == [] and len(summary.added) == len(NAMED_REPORTS)
    return root / "index"


# A report whose passages' topics a reader would not argue about: two sections, one passage
# on both of their subjects, and a section that names none.
TOPICS_REPORT = """某区红十字会2023年工作总结

一、无偿献血

全年组织无偿献血活动48场，献血者1.1万人次，献血量350万毫升。

全年有320名红十字志愿者在献血点服务献血者，累计开展志愿服务1800小时。

二、志愿服务

区红十字志愿服务队现有注册志愿者860人，全年开展志愿服务2.3万小时。

三、今后打算

明年我们将继续做好各项工作。
"""


@pytest.fixture(scope="session")
def topics_index(tmp_path_factory) -> Path:
    """An index of TOPICS_REPORT, as topics_report.txt."""
    root = tmp_path_factory.mktemp("topics")
    (root / "sources").mkdir()
    (root / "sources" / "topics_report.txt").write_text(TOPICS_REPORT, encoding="utf-8")
    summary = update_index([root / "sources"], root / "index", workers=1)
    assert summary.failed == [] and summary.added == ["topics_report"]
    return root / "index"


@pytest.fixture(scope="session")
def engine(seed_index) -> Engine:
    with Engine(seed_index) as engine:
        yield engine


@pytest.fixture
def app(seed_index):
    app = create_app({"TESTING": True, "INDEX_DIR": str(seed_index)})
    yield app
    if app.extensions.get("rcsearch"):
        app.extensions["rcsearch"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def client_over(index_dir: Path):
    """A test client of an app over index_dir, for a fixture to yield; the searcher the
    requests opened (in this thread) is closed afterwards."""
    app = create_app({"TESTING": True, "INDEX_DIR": str(index_dir)})
    yield app.test_client()
    if app.extensions.get("rcsearch"):
        app.extensions["rcsearch"].close()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def sources(tmp_path) -> Path:
    """A writable copy of the seeds, for tests that change the collection."""
    folder = tmp_path / "sources"
    shutil.copytree(SEEDS, folder)
    return folder


NOBODY = 65534


def as_nobody(work) -> dict:
    """Run work() in a forked child that has become user `nobody` and return the dict it
    returns (root only). A failure in the child fails the test with its traceback."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            report = work()
            status = 0
        except BaseException:  # noqa: BLE001 - reported to the parent
            report = {"error": traceback.format_exc()[-1500:]}
        finally:
            os.write(write_end, json.dumps(report).encode())
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = json.loads(pipe.read() or b"{}")
    os.waitpid(pid, 0)
    assert "error" not in report, report
    return report


def assert_prepared_as_computed(index_dir: Path) -> int:
    """Assert that the live index version has its columns prepared, alone, and that a server
    memory-maps them and finds in them what it would read through Whoosh (and the report
    records the next run compares files with, what the stored fields say); its segments."""
    generation = current_generation(index_dir)
    with Engine(index_dir) as engine:
        searcher, view = engine.view()
        assert [p.name for p in generation.glob("*columns-*")] == [f"columns-{searcher.reader().generation()}"]
        assert isinstance(view.columns.doc_ids, np.memmap)
        computed = columns.load_columns(searcher.reader())
        for name in ("doc_ids", "passages", "sections"):
            assert np.array_equal(getattr(view.columns, name), getattr(computed, name)), name
        for name, column in computed.values.items():
            prepared = view.columns.values[name]
            assert prepared.names == column.names, name
            assert np.array_equal(prepared.codes if column.bits is None else prepared.bits,
                                  column.codes if column.bits is None else column.bits), name
        compact = view.columns.compact
        texts = [compact._map[a:b] if compact._map else b"" for a, b in zip(compact.offsets[:-1], compact.offsets[1:])]
        assert texts == list(searcher.reader().column_reader("compact"))
        assert index._indexed_versions(index.open_index(index_dir, readonly=False)) == {
            fields["doc_id"]: (fields["hash"], fields["data_version"]) for fields in searcher.documents(kind="doc")}
        return len(list(searcher.reader().leaf_readers()))


class Searcher:
    """Small helper: run a query and look at what a user sees."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __call__(self, q="", limit=10, **filters):
        values = {k: tuple(v) if isinstance(v, (list, tuple)) else (v,) for k, v in filters.items()}
        return self.engine.search(SearchRequest(q=q, limit=limit, filters=Filters(**values)))


@pytest.fixture(scope="session")
def find(engine) -> Searcher:
    return Searcher(engine)
