"""Corrections: query terms that find nothing as typed, searched as what they sound like.

A plain term that finds nothing (a homophone typo, pinyin, initials) is searched as the
index word it sounds like (spelling.respell decides when: a correction, or only a question
when the typed term is found, far less often); a query that finds nothing at all gets a
did-you-mean of index words one edit away. Phrases, filters and the names of places and
topics are never respelled. The index's words, read once per index version, are what
respelling picks from and what completions offer.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from search import analysis, facets, spelling
from search.docsets import IndexView
from search.matching import clause_docs, names_a_facet_value
from search.querylang import Alternative, ParsedQuery, parse_query, query_text
from search.results import Correction


@dataclass(frozen=True)
class Respelled:
    """A query after respelling: what is searched, the corrections made, and a suggestion."""

    parsed: ParsedQuery
    corrected: list[Correction] = field(default_factory=list)
    suggestion: str | None = None


def respelled(searcher, view: IndexView, parsed: ParsedQuery, lexicon: analysis.Lexicon,
              names: facets.Names) -> Respelled:
    """The query with its plain terms that found nothing as typed replaced by the index
    words they sound like (homophones, pinyin), and a question (您是不是要找) for terms
    found far less often than what they sound like, or that are words or names
    (spelling.respell decides). Phrases and filters are never respelled."""
    def vocabulary() -> spelling.Vocabulary:
        return view.vocabulary(searcher)

    def count(text: str) -> int:
        # A word the index holds in many passages needs no exact count (which reads its postings).
        known = searcher.doc_frequency("text", text)
        if known >= spelling.WELL_KNOWN:
            return known
        return len(clause_docs(searcher, view, (Alternative(text, False),), lexicon))

    def respell(term: str) -> spelling.Respelling | None:
        return spelling.respell(term, vocabulary, count, analysis.segmenter(),
                                lambda text: names_a_facet_value(text, names))

    plain = [clause[0] for clause in parsed.clauses if len(clause) == 1 and not clause[0].exact]
    # Pinyin with spaces between its words (zaoxue ganxibao): read as one run first.
    if len(plain) == len(parsed.clauses) > 1 and all(spelling.typed_letters(a.text) for a in plain):
        run = respell("".join(a.text for a in plain))
        if run and run.replaces and not any(count(a.text) for a in plain):
            typed = " ".join(a.text for a in plain)
            return Respelled(replace(parsed, clauses=((Alternative(run.meant, False),),)),
                             [Correction(typed, run.meant)])
    meant: dict[str, spelling.Respelling] = {}
    for alt in (a for clause in parsed.clauses for a in clause if not a.exact):
        if alt.text not in meant:
            found = respell(alt.text)
            if found:
                meant[alt.text] = found
    corrected = {t: r.meant for t, r in meant.items() if r.replaces}
    offered = {t: r.meant for t, r in meant.items() if not r.replaces}
    clauses = tuple(tuple(Alternative(corrected.get(a.text, a.text), a.exact) if not a.exact else a for a in c)
                    for c in parsed.clauses)
    suggestion = query_text(replace(parsed, clauses=tuple(
        tuple(Alternative({**corrected, **offered}.get(a.text, a.text), a.exact) if not a.exact else a
              for a in c) for c in parsed.clauses))) if offered else None
    return Respelled(replace(parsed, clauses=clauses), [Correction(t, m) for t, m in corrected.items()],
                     suggestion)


def did_you_mean(searcher, q: str, names: facets.Names) -> str | None:
    """The query with unknown words replaced by close indexed words (edit distance 1), if any."""
    parsed = parse_query(q)
    original = corrected = analysis.normalize(q)
    for alt in (a for c in parsed.clauses for a in c if not a.exact and len(a.text) > 1):
        if searcher.doc_frequency("text", alt.text) == 0 and not names_a_facet_value(alt.text, names):
            close = searcher.suggest("text", alt.text, limit=1, maxdist=1, prefix=1)
            if close:
                corrected = corrected.replace(alt.text, close[0])
    return corrected if corrected != original else None
