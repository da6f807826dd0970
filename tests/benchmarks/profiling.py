"""Where the time goes: cProfile of one search and of an index build, in-process.

    python -m tests.benchmarks.profiling search INDEX_DIR [--q 红十字] [--repeat 20]
        Engine.search as /api/search runs it (facets and snippets included):
        one cold call (first query after start-up), then `repeat` warm calls.
    python -m tests.benchmarks.profiling index SOURCE_DIR [--reports 300]
        update_index(workers=1) of the first N reports into a fresh index.
    python -m tests.benchmarks.profiling analyse SOURCE_DIR [--reports 300] [--unprofiled]
        analyse_file (ingest and enrichment, no index) of the first N reports, with CPU time
        per passage of each stage: figures, topics, regions and places. One report outside
        them is analysed first, so that loading jieba, the gazetteer and the models is not
        counted. --unprofiled: CPU time of the whole, without cProfile's overhead.

Prints the top functions by cumulative time and a breakdown by stage.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

SEARCH_STAGES = [  # (label, file fragment, function name)
    ("Engine.search (total)", "search/engine.py", "search"),
    ("IndexView (columns, once per index version)", "search/docsets.py", "__init__"),
    ("Engine.select: respelling, matching, filters", "search/engine.py", "select"),
    ("  match_query: substring sets", "search/matching.py", "match_query"),
    ("  filter_docs: filter sets", "search/matching.py", "filter_docs"),
    ("  read_postings (block-wise arrays)", "search/postings.py", "read_postings"),
    ("  _containing (compact column checks)", "search/docsets.py", "_containing"),
    ("buckets (5 facets)", "search/facet_counts.py", "buckets"),
    ("page: ranking", "search/ordering.py", "page"),
    ("  bm25f_scores (arrays)", "search/ranking.py", "bm25f_scores"),
    ("_hit (10 hits)", "search/engine.py", "_hit"),
    ("  stored_fields", "whoosh/searching.py", "stored_fields"),
    ("  snippet", "search/snippets.py", "snippet"),
    ("  relaxation units / jieba cut", "search/terms.py", "_units"),
]
INDEX_STAGES = [
    ("update_index (total)", "search/index.py", "update_index"),
    ("analyse_file (ingest + enrichment)", "search/index.py", "analyse_file"),
    ("  read_document (ingest)", "search/ingest.py", "read_document"),
    ("  passage_records (enrichment)", "search/index.py", "passage_records"),
    ("    detect_region", "search/enrich.py", "detect_region"),
    ("    mentioned_places", "search/enrich.py", "mentioned_places"),
    ("    topics_for", "search/enrich.py", "topics_for"),
    ("_replace_document (Whoosh add_document)", "search/index.py", "_replace_document"),
    ("  add_document", "whoosh/writing.py", "add_document"),
    ("  SegmentedText.index (analysed fields)", "search/index.py", "index"),
    ("    words (jieba search mode + long subwords)", "search/analysis.py", "words"),
    ("      jieba Tokenizer.tokenize", "jieba/__init__.py", "tokenize"),
    ("      _long_subwords", "search/analysis.py", "_long_subwords"),
    ("    bigrams", "search/analysis.py", "bigrams"),
    ("    normalize (all callers)", "search/analysis.py", "normalize"),
    ("writer.commit", "whoosh/writing.py", "commit"),
]
ANALYSE_STAGES = [
    ("analyse_file (total)", "search/index.py", "analyse_file"),
    ("  read_document (ingest)", "search/ingest.py", "read_document"),
    ("  passage_records (enrichment)", "search/index.py", "passage_records"),
    ("    figures.figures", "search/figures.py", "figures"),
    ("      _subject", "search/figures.py", "_subject"),
    ("      _tagged (jieba.posseg, cached)", "search/figures.py", "_tagged"),
    ("      _is_quantity", "search/figures.py", "_is_quantity"),
    ("      _name_spans", "search/figures.py", "_name_spans"),
    ("    document_topics (search/topics.py)", "search/index.py", "document_topics"),
    ("    passage_regions", "search/enrich.py", "passage_regions"),
    ("    mentioned_places", "search/enrich.py", "mentioned_places"),
    ("      _mentions (region scanning, all callers)", "search/enrich.py", "_mentions"),
    ("    normalize (all callers)", "search/analysis.py", "normalize"),
]


def stage_table(stats: pstats.Stats, stages, total: float, passages: int = 0) -> str:
    """Calls, cumulative seconds and share of each stage (and ms per passage, given `passages`).
    Same-named functions of different files add up; of one file, the costliest counts (a
    module's function and the method it wraps, figures.figures and FigureReader.figures)."""
    lines = [f"{'stage':58} {'calls':>9} {'cum s':>9} {'% total':>8}" + (f" {'ms/passage':>11}" if passages else "")]
    for label, fragment, name in stages:
        per_file: dict[str, tuple[float, float]] = {}
        for (filename, _, function), (cc, nc, tt, ct, callers) in stats.stats.items():
            if function == name and fragment in filename.replace("\\", "/"):
                per_file[filename] = max(per_file.get(filename, (0, 0)), (ct, nc))
        cum = sum(ct for ct, _ in per_file.values())
        calls = sum(nc for _, nc in per_file.values())
        lines.append(f"{label:58} {int(calls):9d} {cum:9.3f} {100 * cum / total:7.1f}%"
                     + (f" {1000 * cum / passages:11.3f}" if passages else ""))
    return "\n".join(lines)


def top(stats: pstats.Stats, sort: str, n: int) -> str:
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats(sort).print_stats(n)
    stats.stream = sys.stdout
    text = out.getvalue()
    return text[text.find("   ncalls"):] if "   ncalls" in text else text


def profile_search(index_dir: Path, q: str, repeat: int) -> None:
    from search.engine import Engine
    from search.querylang import SearchRequest

    started = time.perf_counter()
    engine = Engine(index_dir)
    print(f"Engine() {time.perf_counter() - started:.2f} s")
    request = SearchRequest(q=q)
    for label, n in (("cold (first search)", 1), (f"warm ({repeat} searches)", repeat)):
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        for _ in range(n):
            result = engine.search(request)
        profiler.disable()
        wall = time.perf_counter() - t0
        stats = pstats.Stats(profiler)
        print(f"\n=== {label}: q={q!r} total={result.total} hits={len(result.hits)} "
              f"took_ms(last)={result.took_ms} wall/search={1000 * wall / n:.1f} ms (profiled)")
        print(stage_table(stats, SEARCH_STAGES, stats.total_tt))
        print(top(stats, "cumulative", 30))
        print(top(stats, "tottime", 15))
    # unprofiled timing of the same query
    t0 = time.perf_counter()
    for _ in range(repeat):
        engine.search(request)
    print(f"unprofiled warm: {1000 * (time.perf_counter() - t0) / repeat:.1f} ms/search")


def profile_index(source: Path, reports: int) -> None:
    from search.index import update_index

    work = Path(tempfile.mkdtemp(prefix="profile-index-"))
    try:
        src = work / "src"
        src.mkdir()
        files = sorted(source.glob("*.txt"))[:reports]
        for path in files:
            (src / path.name).symlink_to(path)
        mb = sum(p.stat().st_size for p in files) / 1e6
        profiler = cProfile.Profile()
        t0 = time.perf_counter()
        profiler.enable()
        summary = update_index([src], work / "index", workers=1)
        profiler.disable()
        wall = time.perf_counter() - t0
        stats = pstats.Stats(profiler)
        print(f"=== update_index, workers=1: {summary.line()}; {mb:.2f} MB in {wall:.1f} s (profiled)")
        print(stage_table(stats, INDEX_STAGES, stats.total_tt))
        print(top(stats, "cumulative", 40))
        print(top(stats, "tottime", 25))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile_analyse(source: Path, reports: int, profiled: bool) -> None:
    from search.index import analyse_file
    from search.sources import source_files

    files = source_files([source], [])
    warm_up, chosen = files[reports:reports + 1], files[:reports]
    for file in warm_up:
        analyse_file(file)
    profiler = cProfile.Profile()
    cpu = time.process_time()
    if profiled:
        profiler.enable()
    passages = sum(len(analyse_file(file)[1]) for file in chosen)
    profiler.disable()
    cpu = time.process_time() - cpu
    print(f"=== analyse_file over {len(chosen)} reports, {passages} passages: CPU {cpu:.2f} s, "
          f"{1000 * cpu / passages:.3f} ms per passage ({'profiled' if profiled else 'unprofiled'})")
    if profiled:
        stats = pstats.Stats(profiler)
        print(stage_table(stats, ANALYSE_STAGES, stats.total_tt, passages))
        print(top(stats, "tottime", 30))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("search")
    s.add_argument("index_dir", type=Path)
    s.add_argument("--q", default="红十字")
    s.add_argument("--repeat", type=int, default=20)
    i = sub.add_parser("index")
    i.add_argument("source", type=Path)
    i.add_argument("--reports", type=int, default=300)
    a = sub.add_parser("analyse")
    a.add_argument("source", type=Path)
    a.add_argument("--reports", type=int, default=300)
    a.add_argument("--unprofiled", action="store_true")
    args = parser.parse_args(argv)
    if args.what == "search":
        profile_search(args.index_dir, args.q, args.repeat)
    elif args.what == "index":
        profile_index(args.source, args.reports)
    else:
        profile_analyse(args.source, args.reports, not args.unprofiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
