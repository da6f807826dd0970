"""How many ordinary words and names a search answers as another word (issue 20, point 2).

Samples common words of jieba's own dictionary (2–4 Chinese characters, drawn with
probability proportional to their frequency there, without replacement) and composes
person names (a common surname and one or two given-name characters), asks each against an
index through Engine.search, and counts those answered as a different word (`corrected`).
Words and names are never replaced, so the count should be 0; what a typo is corrected to
is tests/test_spelling.py's business.

    .venv/bin/python -m tests.benchmarks.false_corrections [--index DIR] [--words 1500] [--names 60]

Without --index it indexes seeds/ into a temporary folder first. Prints each false
correction and one RESULT line.
"""
from __future__ import annotations

import argparse
import itertools
import random
import re
import tempfile
from pathlib import Path

import jieba

from search.index import update_index
from search.engine import Engine
from search.querylang import SearchRequest

ROOT = Path(__file__).resolve().parents[2]
CHINESE = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
# Common surnames and characters common in given names (any pairing is a plausible name).
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "霞伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰英华慧巧玉萍红娥玲芬燕彩春菊凤建国志平海波宇辉鹏飞琳雪梅婷"


def dictionary_sample(count: int, seed: int = 20) -> list[str]:
    """`count` words of jieba's dict.txt, 2–4 Chinese characters, drawn by frequency."""
    entries = []
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as lines:
        for line in lines:
            word, freq = line.split()[:2]
            if CHINESE.match(word):
                entries.append((word, int(freq)))
    rng = random.Random(seed)
    # Weighted sampling without replacement (Efraimidis & Spirakis): key u^(1/w), largest keys win.
    keyed = sorted(entries, key=lambda e: rng.random() ** (1 / e[1]), reverse=True)
    return [word for word, _ in keyed[:count]]


def composed_names(count: int, seed: int = 20) -> list[str]:
    """`count` person names: a surname and one or two given-name characters."""
    rng = random.Random(seed)
    names = set()
    while len(names) < count:
        names.add(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))))
    return sorted(names)


def false_corrections(engine: Engine, queries: list[str]) -> list[tuple[str, str]]:
    """The queries a search answered as something else: (typed, searched instead)."""
    found = []
    for q in queries:
        result = engine.search(SearchRequest(q=q))
        if result.corrected:
            found.append((q, result.corrected_query))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="an index folder (default: seeds/ indexed into a temporary one)")
    parser.add_argument("--words", type=int, default=1500)
    parser.add_argument("--names", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        index = args.index
        if index is None:
            index = Path(scratch) / "index"
            update_index([ROOT / "seeds"], index, workers=1)
        words, names = dictionary_sample(args.words), composed_names(args.names)
        with Engine(index) as engine:
            wrong_words = false_corrections(engine, words)
            wrong_names = false_corrections(engine, names)
    for typed, meant in itertools.chain(wrong_words, wrong_names):
        print(f"{typed} → {meant}")
    print(f"RESULT words={len(wrong_words)}/{len(words)} ({100 * len(wrong_words) / len(words):.1f}%) "
          f"names={len(wrong_names)}/{len(names)}")


if __name__ == "__main__":
    main()
