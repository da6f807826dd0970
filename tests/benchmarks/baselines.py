"""The two yardsticks the rcsearch indexer is measured against, each run in its own process.

    python -m tests.benchmarks.baselines plain PASSAGES_JSONL OUT_DIR
        A plain Whoosh + jieba setup: jieba.analyse.ChineseAnalyzer, one stored
        TEXT field, one Whoosh document per passage (the same passages rcsearch
        cuts), default writer, one commit.
    python -m tests.benchmarks.baselines jieba SOURCE_DIR
        Raw jieba: the project's jieba tokenizer (with its user dictionary)
        `tokenize(text, mode="search")` over the text of every report file,
        consumed and discarded: the practical ceiling of a jieba-based indexer.

Each prints one JSON line: seconds of work (set-up excluded), bytes, items.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path


def plain(passages: Path, out_dir: Path) -> dict:
    import jieba
    from jieba.analyse import ChineseAnalyzer
    from whoosh import index
    from whoosh.fields import TEXT, Schema

    jieba.setLogLevel(logging.WARNING)
    setup = time.perf_counter()
    jieba.initialize()
    out_dir.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(out_dir), Schema(text=TEXT(analyzer=ChineseAnalyzer(), stored=True)))
    started = time.perf_counter()
    writer = ix.writer()
    count = size = 0
    with passages.open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            writer.add_document(text=text)
            count += 1
            size += len(text.encode())
    writer.commit()
    return {"seconds": time.perf_counter() - started, "setup_seconds": started - setup,
            "passages": count, "passage_bytes": size}


def raw_jieba(sources: Path) -> dict:
    """Tokenizing time only: each file is read (not timed) just before it is tokenized, so
    memory stays flat at any collection size."""
    from search.analysis import segmenter

    setup = time.perf_counter()
    tokenizer = segmenter()
    setup = time.perf_counter() - setup
    seconds = 0.0
    size = tokens = 0
    for path in sorted(sources.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        size += len(text.encode())
        started = time.perf_counter()
        for _ in tokenizer.tokenize(text, mode="search", HMM=True):
            tokens += 1
        seconds += time.perf_counter() - started
    return {"seconds": seconds, "setup_seconds": setup, "bytes": size, "tokens": tokens}


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "plain":
        result = plain(Path(argv[1]), Path(argv[2]))
    elif len(argv) == 2 and argv[0] == "jieba":
        result = raw_jieba(Path(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
