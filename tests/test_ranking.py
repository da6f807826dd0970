"""Scores and posting lists read as arrays agree with Whoosh's own, and older indexes are rebuilt."""
import json
import os

import numpy as np
import pytest
from whoosh import index as whoosh_index

from search import postings
from search.cli import cli
from search.index import CURRENT, OutdatedIndexError, build_schema, open_index, update_index
from search.query import Engine, SearchRequest, scoring_query


@pytest.mark.parametrize("text", ["红十字", "造血干细胞", "应急救护培训", "魔豆妈妈", "监事会", "送万家", "会"])
def test_scores_are_whooshs_bm25f(engine, text):
    """The array scorer gives every passage the score Whoosh's BM25F collector gives it."""
    searcher, view = engine.view()
    query = scoring_query(text)
    expected = {hit.docnum: hit.score for hit in searcher.search(query, limit=None)}
    assert expected, text
    docs = np.array(sorted(expected), dtype=np.int32)
    got = view.bm25f_scores(searcher, query, docs)
    assert np.allclose(got, [expected[d] for d in docs.tolist()], rtol=1e-9, atol=0)


def test_ranking_follows_the_scores(engine):
    """The top hits of a common word are the best-scored passages holding it, best first."""
    searcher, _ = engine.view()
    whoosh_best = [hit.docnum for hit in searcher.search(scoring_query("红十字"), limit=None)]
    result = engine.search(SearchRequest(q="红十字", limit=5))
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    top = [searcher.stored_fields(d) for d in whoosh_best[:5]]
    assert [(h.doc_id, h.passage) for h in result.hits] == [(f["doc_id"], f["passage"]) for f in top]


def test_postings_read_as_arrays_skip_deleted_passages(sources, tmp_path):
    """After incremental updates (several segments, deleted passages) the arrays hold exactly
    what Whoosh's matchers yield, and field lengths are what its scorer reads."""
    index_dir = tmp_path / "index"
    update_index([sources], index_dir, workers=1)
    changed = next(sources.glob("003_*"))
    changed.write_text(changed.read_text(encoding="utf-8") + "\n红十字会新增一段：应急救护培训再上新台阶。\n",
                       encoding="utf-8")
    next(sources.glob("001_*")).unlink()
    update_index([sources], index_dir, workers=1)
    with open_index(index_dir).searcher() as searcher:
        reader = searcher.reader()
        assert len(reader.leaf_readers()) > 1 and reader.has_deletions()
        for field, text in [("text", "红十字会"), ("grams", "红十"), ("title", "红十字会"), ("kind", "passage"),
                            ("text", "魔豆妈妈")]:
            matcher = searcher.postings(field, text) if (field, text) in reader else None
            expected = []
            while matcher is not None and matcher.is_active():
                expected.append((matcher.id(), matcher.weight()))
                matcher.next()
            found = postings.read_postings(reader, field, text)
            assert list(zip(found.docs.tolist(), found.weights.tolist())) == expected, (field, text)
        lengths = postings.read_lengths(reader, "text").tolist()
        expected = [searcher.doc_field_length(d, "text", 1) for d in range(reader.doc_count_all())]
        # Documents without text (report records) have no length; no posting ever asks for it.
        assert [(d, n) for d, n in enumerate(lengths) if expected[d] is not None] == \
            [(d, n) for d, n in enumerate(expected) if n is not None]
        assert sum(n is not None for n in expected) > 100


def _older_index(index_dir):
    """An index whose fields differ from this version's (one field missing), as an older rcsearch left it."""
    schema = build_schema()
    schema.remove("compact")
    generation = index_dir / "gen-old"
    generation.mkdir(parents=True)
    writer = whoosh_index.create_in(str(generation), schema).writer()
    writer.add_document(key="x", kind="doc", doc_id="x", hash="0")
    writer.commit()
    os.symlink(generation.name, index_dir / CURRENT)


def test_an_index_built_by_an_older_rcsearch_is_rebuilt(runner, app, tmp_path):
    index_dir = tmp_path / "index"
    _older_index(index_dir)
    with pytest.raises(OutdatedIndexError, match="rcsearch index"):
        Engine(index_dir).search(SearchRequest(q="红十字"))
    app.config["INDEX_DIR"] = str(index_dir)
    answer = app.test_client().get("/api/search?q=红十字")
    assert answer.status_code == 503 and "rcsearch index" in answer.get_json()["error"]

    result = runner.invoke(cli, ["index", "seeds", "--index", str(index_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "built by an older rcsearch: rebuilt" in result.output
    assert "5 added" in result.output
    found = runner.invoke(cli, ["search", "博爱送万家", "--json", "--index", str(index_dir)])
    assert json.loads(found.output)["total"] >= 1
