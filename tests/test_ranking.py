"""Scores and posting lists read as arrays agree with Whoosh's own data, and older indexes are rebuilt."""
import functools
import json
import math
import os

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec, W3PostingsWriter
from whoosh.scoring import bm25

from search import postings
from search.cli import cli
from search.engine import Engine
from search.index import CURRENT, OutdatedIndexError, build_schema, open_index, update_index
from search.querylang import SearchRequest
from search.ranking import bm25f_scores, scoring_query, weighted_terms
from search.whoosh_internals import Codec


def _passage_scores(searcher, query) -> tuple[list[int], dict[int, float], int]:
    """Each passage's score worked out one passage at a time from Whoosh's own postings and
    lengths: per term, Whoosh's idf and bm25 with statistics over passages, where the report
    title (on the report record) and a heading (on its section record) count for every
    passage that shares them. Also: how many passages scored through a title or heading."""
    reader = searcher.reader()
    stored = dict(reader.iter_docs())
    keys = reader.column_reader("section")
    report_of = {f["doc_id"]: d for d, f in stored.items() if f["kind"] == "doc"}
    section_of = {keys[d]: d for d, f in stored.items() if f["kind"] == "section"}
    passages = sorted(d for d, f in stored.items() if f["kind"] == "passage")

    def holder(field: str, d: int) -> int | None:
        if field.startswith("title_"):
            return report_of[stored[d]["doc_id"]]
        return section_of.get(keys[d]) if field.startswith("heading_") else d

    expected = dict.fromkeys(passages, 0.0)
    shared = set()
    for term in weighted_terms(query):
        holders = {d: holder(term.field, d) for d in passages}
        weights = {}
        if (term.field, term.text) in reader:
            matcher = searcher.postings(term.field, term.text)
            while matcher.is_active():
                weights[matcher.id()] = matcher.weight()
                matcher.next()
        holding = [d for d in passages if holders[d] in weights]
        average = sum(searcher.doc_field_length(h, term.field) or 0 for h in holders.values() if h is not None)
        idf = math.log(len(passages) / (len(holding) + 1)) + 1
        for d in holding:
            expected[d] += term.boost * bm25(idf, weights[holders[d]], searcher.doc_field_length(holders[d], term.field),
                                             average / len(passages), 0.75, 1.2)
            if holders[d] != d:
                shared.add(d)
    return passages, expected, len(shared)


@pytest.mark.parametrize("text", ["红十字", "造血干细胞", "应急救护培训", "魔豆妈妈", "监事会", "送万家", "会"])
def test_scores_are_bm25f_over_passages(engine, text):
    searcher, view = engine.view()
    query = scoring_query(text)
    passages, expected, shared = _passage_scores(searcher, query)
    got = bm25f_scores(view, searcher, query, np.array(passages, dtype=np.int32))
    assert np.allclose(got, [expected[d] for d in passages], rtol=1e-9, atol=1e-12)
    assert sum(score > 0 for score in expected.values()) >= 1
    if text == "红十字":  # in one seed title and in headings
        assert shared >= 20


def test_ranking_follows_the_scores(engine):
    """Hits come best score first across pages, each with the score the array scorer gives it."""
    first = engine.search(SearchRequest(q="红十字", limit=100))
    hits = first.hits + [h for page in range(2, (first.total - 1) // 100 + 2)
                         for h in engine.search(SearchRequest(q="红十字", limit=100, page=page)).hits]
    assert len(hits) == first.total > 100
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1] > 0
    searcher, view = engine.view()
    docnums = {(f["doc_id"], f["passage"]): d for d, f in searcher.reader().iter_docs()
               if f.get("kind") == "passage"}
    top = np.array(sorted(docnums[(h.doc_id, h.passage)] for h in hits[:10]), dtype=np.int32)
    expected = dict(zip(top.tolist(), bm25f_scores(view, searcher, scoring_query("红十字"), top).tolist()))
    assert all(round(expected[docnums[(h.doc_id, h.passage)]], 3) == h.score for h in hits[:10])


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
        lengths = postings.read_lengths(reader, "text")[np.arange(reader.doc_count_all())].tolist()
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
    with pytest.raises(OutdatedIndexError, match="rcsearch index"), Engine(index_dir) as engine:
        engine.search(SearchRequest(q="红十字"))
    app.config["INDEX_DIR"] = str(index_dir)
    answer = app.test_client().get("/api/search?q=红十字")
    assert answer.status_code == 503 and "rcsearch index" in answer.get_json()["error"]

    result = runner.invoke(cli, ["index", "seeds", "--index", str(index_dir), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "built by an older rcsearch: rebuilt" in result.output
    assert "5 added" in result.output
    found = runner.invoke(cli, ["search", "博爱送万家", "--json", "--index", str(index_dir)])
    assert json.loads(found.output)["total"] >= 1


class _Protocol2Codec(Codec):
    """The codec as rcsearch wrote blocks before protocol 4: pickled by Whoosh's _write_block."""

    def postings_writer(self, dbfile, byteids=False):
        writer = super().postings_writer(dbfile, byteids)
        writer._write_block = functools.partial(W3PostingsWriter._write_block, writer)
        return writer


def _codec(written: str):
    """The codec writing blocks as this version does ("raw"), or as indexes built before it
    did: zlib-compressed, pickled at Whoosh's protocol 2, or by Whoosh's own codec."""
    return {"raw": Codec(blocklimit=8), "compressed": Codec(blocklimit=8, compression=3),
            "protocol 2": _Protocol2Codec(blocklimit=8), "by Whoosh": W3Codec(blocklimit=8)}[written]


@pytest.mark.parametrize("written", ["raw", "compressed", "protocol 2", "by Whoosh"])
def test_postings_read_across_blocks_however_written(tmp_path, written):
    """Postings span many blocks, written as this version does or as indexes built before it
    did: the arrays hold what Whoosh's matchers yield either way."""
    from whoosh.fields import TEXT, Schema

    ix = whoosh_index.create_in(str(tmp_path), Schema(body=TEXT))
    writer = ix.writer(codec=_codec(written))
    for n in range(100):
        writer.add_document(body=" ".join(["alpha"] * (1 + n % 5) + ["beta"] * (n % 3 == 0)))
    writer.commit()
    with ix.searcher() as searcher:
        for text in ("alpha", "beta"):
            matcher = searcher.postings("body", text)
            expected = []
            while matcher.is_active():
                expected.append((matcher.id(), matcher.weight()))
                matcher.next()
            found = postings.read_postings(searcher.reader(), "body", text)
            assert list(zip(found.docs.tolist(), found.weights.tolist())) == expected
            assert len(expected) > 8 * 4


# -- paging: every counted passage on exactly one page, in the export's order -----------------

FILLER = ("群众满意度明显提升，", "基层组织建设得到加强，", "物资按捐赠人意愿及时拨付，", "信息在官方网站公开，",
          "救灾物资及时到位，", "赈灾款物公开透明，")


def _paragraph(r: int, p: int) -> str:
    """A passage holding 应急救护 and 志愿者 a varying number of times, among varying filler, so
    that scores neither follow the docnum nor tie; every fifth holds 应急救护 alone."""
    both = p % 5 != 4
    words = ["应急救护"] * (1 + (r * 5 + p * 3) % 4) + (["志愿者"] * (1 + (r * 3 + p * 7) % 3) if both else [])
    filler = [FILLER[(r + p + i) % len(FILLER)] for i in range((r * 7 + p) % 6)]
    return f"第{r}号报告第{p}段：" + "".join(w + "，" + f for w, f in zip(words, filler + [""] * len(words))) + "。"


@pytest.fixture(scope="module")
def paged_engine(tmp_path_factory):
    """45 reports of ten paragraphs over eight years: 360 passages hold 应急救护 and 志愿者."""
    root = tmp_path_factory.mktemp("paged")
    (root / "src").mkdir()
    for r in range(45):
        body = "\n\n".join(_paragraph(r, p) for p in range(10))
        (root / "src" / f"r{r:02d}.txt").write_text(f"{2015 + r % 8}年某县红十字会第{r}号工作报告\n\n{body}\n",
                                                    encoding="utf-8")
    assert len(update_index([root / "src"], root / "index", workers=1).added) == 45
    with Engine(root / "index") as engine:
        yield engine


@pytest.mark.parametrize("q, relaxed, total", [
    ("应急救护 志愿者 潜水艇", True, 360),   # no passage holds 潜水艇: those with two of the three words
    ("应急救护 志愿者", False, 360),
    ("应急救护", False, 450),
    # 救灾 as typed in some passages, only through its synonym 赈灾 in others: two tiers.
    ("救灾 志愿者", False, 178),
])
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_every_counted_passage_is_on_exactly_one_page_in_the_exports_order(paged_engine, q, relaxed, total, sort):
    first = paged_engine.search(SearchRequest(q=q, sort=sort, limit=7))
    pages = [paged_engine.search(SearchRequest(q=q, sort=sort, limit=7, page=page)).hits
             for page in range(1, math.ceil(first.total / 7) + 1)]
    paged = [(h.doc_id, h.passage) for hits in pages for h in hits]
    exported = paged_engine.export(SearchRequest(q=q, sort=sort))
    assert (first.relaxed, first.total, exported.total) == (relaxed, total, total)
    assert paged == [(h.doc_id, h.passage) for h in exported.hits]
    assert len(set(paged)) == total
    if q.startswith("救灾") and sort == "relevance":  # every passage holding it as typed first
        typed = ["救灾" in h.text for hits in pages for h in hits]
        assert typed == sorted(typed, reverse=True) and 0 < sum(typed) < total
