"""Snippets and highlighting: where a passage holds the search's terms, marked.

Only strings come in (a passage's text, the terms to mark, how much each counts): this room
knows no index and no query, as Whoosh's highlight module depends only on tokens. Matches
are found in the normalized text (width, case, traditional characters and white space do
not hide them); a snippet is the best sentence around them, cut by Whoosh's fragmenters;
`highlighted` marks a whole text for the document view, and a figure a link points to.
"""
from __future__ import annotations

import html

from whoosh import highlight
from whoosh.analysis import Token

from search import analysis, whoosh_internals

SNIPPET_CHARS = 180
SENTENCE_ENDS = "。！？!?；;"
SNIPPET_FRAGMENTER = highlight.SentenceFragmenter(maxchars=SNIPPET_CHARS, sentencechars=SENTENCE_ENDS)
CONTEXT_FRAGMENTER = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=40)
SNIPPET_FORMATTER = whoosh_internals.MarkFormatter(between="…")
FIGURE_MARK = '<mark class="figure">'


def match_spans(text: str, needles: list[str], weights: dict[str, float] | None = None) -> list[tuple[int, int, float]]:
    """Character spans of `text` where any needle occurs (normalized, whitespace-insensitive),
    overlapping ones merged, each with the highest weight of the needles in it (default 1)."""
    norm = analysis.normalize(text)
    positions = [i for i, c in enumerate(norm) if not c.isspace()]
    compact = "".join(norm[i] for i in positions)
    spans = []
    for needle in set(filter(None, needles)):
        weight = (weights or {}).get(needle, 1.0)
        start = compact.find(needle)
        while start != -1:
            spans.append((positions[start], positions[start + len(needle) - 1] + 1, weight))
            start = compact.find(needle, start + 1)
    merged: list[tuple[int, int, float]] = []
    for start, end, weight in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), max(weight, merged[-1][2]))
        else:
            merged.append((start, end, weight))
    return merged


def _tokens(text: str, spans: list[tuple[int, int, float]]):
    """Whoosh tokens covering the text: each matched span one token (its weight as boost),
    other characters one each."""
    token = Token(positions=False, chars=True)
    cursor = 0
    for start, end, weight in spans + [(len(text), len(text), 0.0)]:
        for i in range(cursor, start):
            token.text, token.startchar, token.endchar, token.matched, token.boost = text[i], i, i + 1, False, 1.0
            yield token
        if end > start:
            token.text, token.startchar, token.endchar, token.matched = text[start:end], start, end, True
            token.boost = weight
            yield token
        cursor = end


def snippet(text: str, needles: list[str], weights: dict[str, float] | None = None) -> str:
    """HTML-safe excerpt around the best-matching sentences, matched characters in <mark>.

    `weights` ranks needles: the sentence holding the user's own terms beats one that
    only holds the sub-words of a relaxed query.
    """
    spans = match_spans(text, needles, weights)
    if spans:
        fragments = (list(SNIPPET_FRAGMENTER.fragment_tokens(text, _tokens(text, spans)))
                     # A sentence longer than a snippet: a window around the matches instead.
                     or list(CONTEXT_FRAGMENTER.fragment_tokens(text, _tokens(text, spans))))
        best = highlight.top_fragments(fragments, 1, highlight.BasicFragmentScorer(), highlight.SCORE)
        if best:
            fragment = _whole_sentences(text, best[0])
            prefix = "…" if fragment.startchar > 0 else ""
            suffix = "…" if fragment.endchar < len(text) else ""
            return prefix + SNIPPET_FORMATTER.format_fragment(fragment) + suffix
    head = text[:SNIPPET_CHARS]
    return html.escape(head, quote=False) + ("…" if len(text) > SNIPPET_CHARS else "")


def _whole_sentences(text: str, fragment: highlight.Fragment) -> highlight.Fragment:
    """The fragment from its first sentence's first character to its last sentence's closing
    mark: Whoosh's SentenceFragmenter starts a fragment at the previous sentence's closing
    mark and ends it before its own."""
    first_match = min((t.startchar for t in fragment.matches), default=fragment.endchar)
    while fragment.startchar < first_match and text[fragment.startchar] in SENTENCE_ENDS:
        fragment.startchar += 1
    while fragment.endchar < len(text) and text[fragment.endchar] in SENTENCE_ENDS:
        fragment.endchar += 1
    return fragment


def highlighted(text: str, needles: list[str], figure: tuple[int, int] | None = None) -> str:
    """The whole text as HTML, every match in <mark>: marked first, then escaped, so a
    term never matches inside an entity (q=amp leaves `&` alone). `figure`, characters
    start..end, is marked as the figure a link points to (FIGURE_MARK); a term's match
    is not marked again inside it."""
    spans = [(start, end, "<mark>") for start, end, _ in match_spans(text, needles)]
    if figure is not None:
        spans = _outside(spans, *figure) + [(*figure, FIGURE_MARK)]
    pieces, cursor = [], 0
    for start, end, opening in sorted(spans):
        pieces += [html.escape(text[cursor:start]), opening, html.escape(text[start:end]), "</mark>"]
        cursor = end
    return "".join(pieces) + html.escape(text[cursor:])


def _outside(spans: list[tuple[int, int, str]], start: int, end: int) -> list[tuple[int, int, str]]:
    """The parts of the spans before `start` and after `end`."""
    kept = [(a, min(b, start), tag) for a, b, tag in spans if a < start]
    return kept + [(max(a, end), b, tag) for a, b, tag in spans if b > end]
