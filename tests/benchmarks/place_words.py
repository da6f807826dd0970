"""How a place typed in the search box answers (issue 22): "PLACE WORD" against its filter form.

Indexes the seeds and the project's composed reports (tests/data/regions, composed, topics:
reports of many cities, counties and provinces, some that never repeat their place after
the headline) and, for every report with a region, types its place and a subject word the
report states in a passage that does not name the place: `石家庄 救灾` beside the filter
form `q=救灾&city=石家庄`. The place is typed as a person would type it: its short name
(石家庄, 长兴, 四川), or its full name where the short one is an everyday word (和平区). The
subject words are dictionary nouns and verbs of such passages, in at most a tenth of the
collection's passages, up to --words per report, drawn with a fixed seed.

A typed query's right passages are those its filter form finds holding the word: the
place's passages (as the filter selects them) whose text, heading or title holds it.
Figures: typed queries that answer nothing; the share of the typed form's top 10 that are
right passages, beside the same share for the filter form's own top 10; typed queries
whose first hit is right. Then, over every subject word searched alone, how many answers
mix passages holding the word as typed in their own text with passages that do not
(through a heading, a title or a synonym), and in how many of those an exact one comes
below an approximate one.

    .venv/bin/python -m tests.benchmarks.place_words [--index DIR] [--words 6] [--show]

Without an index at --index it indexes the reports there (or in a temporary folder) first.
Prints RESULT lines.
Not a timed test: it runs the engine in this process.
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

import jieba.posseg

from search import analysis, enrich
from search.engine import Engine
from search.facets import Filters
from search.index import current_generation, update_index
from search.querylang import SearchRequest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"seeds": ROOT / "seeds", "regions": ROOT / "tests/data/regions",
           "composed": ROOT / "tests/data/composed", "topics": ROOT / "tests/data/topics"}
REPORT_SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
SUBJECT_TAGS = ("n", "vn", "v", "nz")
MAX_SHARE = 0.1
TOP = 10


def copy_reports(target: Path) -> Path:
    """The reports of every source folder under one folder, with their folders and file names
    (a report's path is evidence of its region), without READMEs and label files."""
    for name, folder in SOURCES.items():
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in REPORT_SUFFIXES and path.name != "README.md":
                destination = target / name / path.relative_to(folder)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, destination)
    return target


def typed_place(name: str) -> str:
    """How a person types a place: its short name, unless that is an everyday word."""
    short = enrich.short_name(name)
    return short if short and short not in enrich.COMMON_WORDS else name


def report_places(engine: Engine) -> dict[str, tuple[str, str]]:
    """Per report id: the facet and stored value of its place (the most specific level its
    report record has: a county is filtered with `city`, as the city filter matches it)."""
    searcher, _ = engine.view()
    places = {}
    for fields in searcher.documents(kind="doc"):
        if fields.get("county") or fields.get("city"):
            places[fields["doc_id"]] = ("city", fields.get("county") or fields["city"])
        elif fields.get("province"):
            places[fields["doc_id"]] = ("province", fields["province"])
    return places


def subject_words(engine: Engine, doc_id: str, names: set[str], count: int, rng: random.Random) -> list[str]:
    """Subject words the report states in passages that do not name its place."""
    searcher, view = engine.view()
    passages = len(view.passages)
    candidates = set()
    for fields in searcher.documents(doc_id=doc_id, kind="passage"):
        text = analysis.normalize(fields["text"])
        if any(name in text for name in names):
            continue
        for pair in jieba.posseg.cut(text):
            word, tag = pair.word, pair.flag
            if len(word) >= 2 and tag in SUBJECT_TAGS and analysis.is_dictionary_word(word) \
                    and word not in enrich.COMMON_WORDS and not engine.gazetteer.resolve(word, "city") \
                    and not engine.gazetteer.resolve(word, "province") \
                    and 0 < searcher.doc_frequency("text", word) <= MAX_SHARE * passages:
                candidates.add(word)
    return rng.sample(sorted(candidates), min(count, len(candidates)))


def measure(engine: Engine, words: int, show: bool) -> dict:
    places = report_places(engine)
    rng = random.Random(22)
    rows, singles = [], set()
    for doc_id, (facet, value) in sorted(places.items()):
        typed = typed_place(value)
        names = {value, typed, enrich.short_name(value) or value}
        for word in subject_words(engine, doc_id, names, words, rng):
            singles.add(word)
            filtered = engine.search(SearchRequest(q=word, filters=Filters(**{facet: (value,)}), limit=100))
            right = {(h.doc_id, h.passage) for h in filtered.hits
                     if word in analysis.normalize(h.text + h.heading + h.title)}
            if not right:
                continue
            answer = engine.search(SearchRequest(q=f"{typed} {word}", limit=TOP))
            top = [(h.doc_id, h.passage) for h in answer.hits]
            own = [(h.doc_id, h.passage) for h in filtered.hits[:TOP]]
            rows.append({"q": f"{typed} {word}", "doc": doc_id, "total": answer.total,
                         "typed_share": sum(k in right for k in top) / max(1, len(top)),
                         "filter_share": sum(k in right for k in own) / max(1, len(own)),
                         "first_right": bool(top) and top[0] in right})
            if show and (not top or top[0] not in right):
                print(f"  {rows[-1]['q']}: total={answer.total} first={top[:1]} right={sorted(right)[:3]}")
    checked = sorted(singles | synonym_words(engine) | word_pairs(engine, rng))
    mixed, below = exact_order(engine, checked, show)
    n = len(rows) or 1
    return {"queries": len(rows), "reports": len({r["doc"] for r in rows}),
            "empty": sum(r["total"] == 0 for r in rows),
            "typed_share": sum(r["typed_share"] for r in rows) / n,
            "filter_share": sum(r["filter_share"] for r in rows) / n,
            "first_right": sum(r["first_right"] for r in rows) / n,
            "words": len(checked), "mixed": mixed, "exact_below": below}


def synonym_words(engine: Engine) -> set[str]:
    """The words of synonyms.txt the collection holds: each may match through another."""
    searcher, _ = engine.view()
    return {word for word, others in analysis.Lexicon.load().synonyms.items()
            if others and engine.search(SearchRequest(q=f'"{word}"', limit=1)).total}


def word_pairs(engine: Engine, rng: random.Random, per_report: int = 2) -> set[str]:
    """Two adjacent dictionary words as one term (救护培训), per report: held whole by some
    passages, by others only as its words apart or in a heading."""
    searcher, _ = engine.view()
    pairs = set()
    for fields in searcher.documents(kind="doc"):
        found = set()
        for passage in searcher.documents(doc_id=fields["doc_id"], kind="passage"):
            words = [w for w in analysis.cut(analysis.normalize(passage["text"])) if len(w) >= 2]
            found |= {a + b for a, b in zip(words, words[1:]) if not analysis.is_dictionary_word(a + b)}
        pairs |= set(rng.sample(sorted(found), min(per_report, len(found))))
    return pairs


def exact_order(engine: Engine, words: list[str], show: bool) -> tuple[int, int]:
    """Answers mixing exact and approximate hits, and those with an exact one below an
    approximate one (a hit is exact when its own text holds the word as typed, folded)."""
    mixed = below = 0
    for word in words:
        hits = engine.search(SearchRequest(q=word, limit=100)).hits
        exact = [word in analysis.compact(h.text) for h in hits]
        if len(set(exact)) < 2:
            continue
        mixed += 1
        last_exact = max(i for i, e in enumerate(exact) if e)
        if not all(exact[:last_exact + 1]):
            below += 1
            if show:
                print(f"  exact below approximate: {word}")
    return mixed, below


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path,
                        help="an index of the reports, built there first when there is none (default: a temporary one)")
    parser.add_argument("--words", type=int, default=6, help="subject words per report")
    parser.add_argument("--show", action="store_true", help="print the queries that miss")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temp:
        index_dir = args.index or Path(temp) / "index"
        if current_generation(index_dir) is None:
            update_index([copy_reports(Path(temp) / "sources")], index_dir, workers=1)
        with Engine(index_dir) as engine:
            f = measure(engine, args.words, args.show)
    print(f"RESULT place_words queries={f['queries']} reports={f['reports']} empty={f['empty']} "
          f"typed_top10_right={f['typed_share']:.3f} filter_top10_right={f['filter_share']:.3f} "
          f"first_right={f['first_right']:.3f}")
    print(f"RESULT exact_order words={f['words']} mixed={f['mixed']} exact_below_approximate={f['exact_below']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
