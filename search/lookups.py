"""Lookups: what is read by id or for the whole collection rather than found by a query.

A report's document view (its passages in order, with their region and metadata as
results.METADATA reads them, and the words that gave each its topics) and the passage a
permalink names; the original file a report was indexed from, for download; the collection's
overview; completions of what is being typed. Each starts from an Engine's current index view.
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from search import analysis, cache_keys, figures, originals
from search.docsets import IndexView
from search.engine import Engine
from search.facets import FACETS
from search.index import open_index
from search.sources import MAX_DOC_ID_CHARS, NOT_IN_DOC_IDS
from search.results import (DocumentPassage, DocumentView, FacetRow, Overview, Suggestion, metadata,
                            passage_anchor, topic_evidence)

def document(engine: Engine, doc_id: str) -> DocumentView | None:
    """A report by id, or None when there is no such report (ids never touch the filesystem)."""
    record = document_record(engine, doc_id)
    if record is None:
        return None
    original = originals.downloadable_name(record.get("path"), record.get("source_root"), record.get("hash"))
    searcher, _ = engine.view()
    passages = sorted((f for f in searcher.documents(doc_id=doc_id, kind="passage")),
                      key=lambda f: f["passage"])
    return DocumentView(
        doc_id=doc_id, title=record.get("title", doc_id), format=record.get("format", "txt"),
        source=record.get("source", ""), **metadata(record, DocumentView),
        title_source=record.get("title_source") or "headline",
        date=record.get("date") or None, original=original,
        passages=[DocumentPassage(passage=p["passage"], anchor=passage_anchor(p["text"]),
                                  role=p.get("role", "paragraph"), heading=p.get("heading", ""), text=p["text"],
                                  topic_evidence=topic_evidence(p), **metadata(p, DocumentPassage))
                  for p in passages])


def passage_by_anchor(view: DocumentView, anchor: str) -> DocumentPassage | None:
    """The passage a permalink names (the first, should two hold the same text), or None when
    no passage of the report has that text any more."""
    return next((p for p in view.passages if p["anchor"] == anchor), None)


def document_record(engine: Engine, doc_id: str) -> dict | None:
    """The stored report record of an id, or None (ids never touch the filesystem)."""
    if not 0 < len(doc_id) <= MAX_DOC_ID_CHARS or NOT_IN_DOC_IDS.search(doc_id):
        return None
    searcher, _ = engine.view()
    return searcher.document(key=doc_id, kind="doc")


def original_file(engine: Engine, doc_id: str) -> originals.Original | None:
    """The file a report was indexed from, opened for download: only while it is still where it
    was indexed from, inside the source folder it was found in, with the same content."""
    record = document_record(engine, doc_id)
    if record is None:
        return None
    return originals.open_original(record.get("path"), record.get("source_root"), record.get("hash"))


def overview(engine: Engine) -> Overview:
    """Reports and passages per value of every facet, computed once per index version."""
    _, view = engine.view()
    return view.kept(cache_keys.Overview(), lambda: _overview(view, _built_at(engine.index_dir)))


def _built_at(index_dir: Path) -> float | None:
    """When the index was last written: its last commit (the report records hold the
    time too, but reading them would load every report's full text)."""
    try:
        return open_index(index_dir).last_modified()
    except OSError:
        return None


def _overview(view: IndexView, built_at: float | None) -> Overview:
    passages, doc_ids = view.passages, view.columns.doc_ids
    rows = {}
    for facet in FACETS:
        tally = view.columns.values[facet.counted].tally(passages, doc_ids)
        rows[facet.name] = sorted((FacetRow(facet.kind(value), reports, count) for value, (count, reports) in tally.items()),
                                  key=lambda row: facet.sort_key(row.value, row.passages))
    return Overview(int(np.count_nonzero(np.bincount(doc_ids[passages]))), len(passages), rows, built_at)


MAX_SUGGEST_CHARS = 50


def suggestions(engine: Engine, prefix: str, limit: int = 8) -> list[Suggestion]:
    """Index words completing what was typed, by its characters, its pinyin or its initials
    (zaox, zxg → 造血干细胞), most passages first."""
    typed = "".join(analysis.normalize(prefix).split())
    if not typed or len(typed) > MAX_SUGGEST_CHARS:
        return []
    searcher, view = engine.view()
    vocabulary = view.vocabulary(searcher)
    return [Suggestion(c.word, f"<mark>{html.escape(c.word[:c.matched])}</mark>{html.escape(c.word[c.matched:])}",
                       c.passages) for c in vocabulary.completions(typed, limit)]


def passage_figures(engine: Engine, doc_id: str, passage: int) -> list[figures.Figure]:
    """The figures the index holds for one passage of a report ([] for a passage it does not
    hold): what a link may ask the document page to mark."""
    if document_record(engine, doc_id) is None:
        return []
    searcher, _ = engine.view()
    stored = next((f for f in searcher.documents(doc_id=doc_id, kind="passage") if f["passage"] == passage), {})
    return figures.from_json(stored.get("figures", ""))
