"""Shared fixtures: an index built from the seeds (once per session), the app, its client, a CLI runner."""
from __future__ import annotations

import shutil
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


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def sources(tmp_path) -> Path:
    """A writable copy of the seeds, for tests that change the collection."""
    folder = tmp_path / "sources"
    shutil.copytree(SEEDS, folder)
    return folder


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
