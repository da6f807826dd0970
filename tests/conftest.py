"""Shared fixtures: an index built from the seeds (once per session), the app, its client, a CLI runner."""
from __future__ import annotations

import json
import os
import shutil
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.index import update_index
from search.query import Engine, SearchRequest, Filters
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


@pytest.fixture(scope="session")
def engine(seed_index) -> Engine:
    return Engine(seed_index)


@pytest.fixture
def app(seed_index):
    return create_app({"TESTING": True, "INDEX_DIR": str(seed_index)})


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
