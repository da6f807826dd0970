"""What enrichment decides per passage, dumped to compare a speed-up's output with the code before it.

    python -m tests.benchmarks.figure_dump write OUT_DIR [--collection DIR ...]
    python -m tests.benchmarks.figure_dump check OUT_DIR [--collection DIR ...]

For every report of the seeds, ../shared/eval/real-dev, every document under tests/data and
each `--collection` folder (a generated collection's `reports/`), the indexer's own
`analyse_file` runs and each passage's figures (figures.to_json, the figure rows), region
(province, city, county, level) and places are written one JSON line per passage, one file
per set, with the figures of each of its sentences read alone (more beginnings and ends of
text than the passages alone give). `check` computes them again and compares byte for byte: it prints the first lines
that differ and exits 1 when any set differs. Write the dump outside the repository.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from search import figures
from search.index import analyse_file
from search.ingest import IngestError
from search.sources import source_files

ROOT = Path(__file__).resolve().parents[2]
SETS = {"seeds": ROOT.parent / "shared" / "seeds", "real-dev": ROOT.parent / "shared" / "eval" / "real-dev",
        "tests-data": ROOT / "tests" / "data"}
FIELDS = ("figures", "figure_rows", "province", "city", "county", "level", "places")
SHOWN_DIFFERENCES = 5
SENTENCE = re.compile(r"[^。!?！？]+[。!?！？]?")


def dump_lines(folder: Path) -> list[str]:
    """One JSON line per passage of every report under `folder`: its id, number and FIELDS."""
    failed: list[tuple[str, str]] = []
    lines = []
    for source in source_files([folder], failed):
        try:
            _, records = analyse_file(source)
        except IngestError as error:  # a document the reader refuses is part of the output too
            lines.append(json.dumps({"doc": source.doc_id, "error": str(error)}, ensure_ascii=False))
            continue
        for record in records:
            values = {name: record[name] for name in FIELDS}
            values["figure_rows"] = values["figure_rows"].decode("utf-8")
            values["sentence_figures"] = [figures.to_json(figures.figures(sentence))
                                          for sentence in SENTENCE.findall(record["text"])]
            lines.append(json.dumps({"doc": source.doc_id, "passage": record["passage"], **values},
                                    ensure_ascii=False))
    return lines


def sets(collections: list[Path]) -> dict[str, Path]:
    """The named folders dumped: the fixed SETS and each collection given."""
    return SETS | {f"collection-{folder.parent.name or folder.name}": folder for folder in collections}


def differences(expected: list[str], found: list[str]) -> list[str]:
    """The first lines that differ, expected then found, numbered."""
    shown = []
    for number in range(max(len(expected), len(found))):
        old = expected[number] if number < len(expected) else "(missing)"
        new = found[number] if number < len(found) else "(missing)"
        if old != new:
            shown += [f"  line {number + 1} before: {old}", f"  line {number + 1} now:    {new}"]
            if len(shown) == 2 * SHOWN_DIFFERENCES:
                break
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("write", "check"))
    parser.add_argument("out", type=Path)
    parser.add_argument("--collection", type=Path, action="append", default=[],
                        help="a folder of reports (a generated collection's reports/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    status = 0
    for name, folder in sets(args.collection).items():
        lines = dump_lines(folder)
        path = args.out / f"{name}.jsonl"
        if args.what == "write":
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            print(f"{name}: {len(lines)} passages written to {path}")
            continue
        expected = path.read_text(encoding="utf-8").splitlines()
        shown = differences(expected, lines)
        print(f"{name}: {len(lines)} passages, " + ("identical" if not shown else "DIFFERENT"))
        if shown:
            print("\n".join(shown))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
