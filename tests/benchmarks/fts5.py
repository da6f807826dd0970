"""The speed anchor: SQLite FTS5 with the trigram tokenizer over the same passages.

    python -m tests.benchmarks.fts5 build PASSAGES_JSONL DB
        Builds the database a user picking FTS5 for speed would build from the
        passages rcsearch cuts (passages.jsonl): an FTS5 table of the text
        (`tokenize='trigram'`, one row per passage, rowid = passage number in
        the file) and beside it a plain table of each passage's report and
        facet values (province, city, year) with a B-tree index on each, and a
        (topic, passage) table for the topics, which are several per passage.
        One transaction, then the indexes, FTS5 'optimize' and ANALYZE.
        Prints one JSON line: seconds, passages.

`plan()` turns a query of the benchmark mix into the SQL such a user would run
for it, and `measure()` times those in-process (sqlite3 of the standard library):
for each query, the page (report, passage and a snippet for `limit` hits) and
the count (passages and distinct reports), both fetched completely. Facet counts
are not computed: only rcsearch's answers have them.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from search import analysis, enrich, ranking
from search.topics import TopicRules
from search.index import TOPICS_FILE
from search.querylang import parse_query
from search.terms import relaxed_units

BATCH = 10_000  # passages per executemany
# The trigram tokenizer indexes sequences of three characters: a shorter term cannot be
# looked up in the index and must be searched with LIKE, row by row.
TRIGRAM = 3
SNIPPET_TOKENS = 64  # snippet()'s maximum; a trigram token is one character
SNIPPET_CHARS = 90   # around the first occurrence, when there is no MATCH to give snippet()
MMAP_BYTES = 1 << 30

SCHEMA = """
CREATE TABLE passage(id INTEGER PRIMARY KEY, report TEXT NOT NULL, number INTEGER NOT NULL,
                     province TEXT NOT NULL, city TEXT NOT NULL, year INTEGER NOT NULL);
CREATE TABLE passage_topic(topic TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (topic, id)) WITHOUT ROWID;
CREATE VIRTUAL TABLE fts USING fts5(text, tokenize='trigram');
"""
FINISH = """
CREATE INDEX passage_province ON passage(province);
CREATE INDEX passage_city ON passage(city);
CREATE INDEX passage_year ON passage(year);
INSERT INTO fts(fts) VALUES ('optimize');
ANALYZE;
"""


def build(passages: Path, db: Path) -> dict:
    """The database of `passages` at `db` (replaced), and how long building it took."""
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)
    conn.execute("BEGIN")
    count = 0
    with passages.open(encoding="utf-8") as lines:
        while batch := [json.loads(line) for _, line in zip(range(BATCH), lines)]:
            ids = range(count + 1, count + 1 + len(batch))
            conn.executemany("INSERT INTO passage VALUES (?, ?, ?, ?, ?, ?)",
                             [(i, p["report"], p["passage"], p["province"], p["city"], p["year"])
                              for i, p in zip(ids, batch)])
            conn.executemany("INSERT INTO passage_topic VALUES (?, ?)",
                             [(topic, i) for i, p in zip(ids, batch) for topic in p["topics"]])
            conn.executemany("INSERT INTO fts(rowid, text) VALUES (?, ?)",
                             [(i, p["text"]) for i, p in zip(ids, batch)])
            count += len(batch)
    conn.execute("COMMIT")
    conn.executescript(FINISH)
    conn.close()
    return {"seconds": time.perf_counter() - started, "passages": count}


# -- queries -------------------------------------------------------------------

@dataclass(frozen=True)
class Search:
    """One search as SQL: the page (report, passage, snippet) and the count (passages, reports)."""

    page_sql: str
    page_args: tuple
    count_sql: str
    count_args: tuple


@dataclass(frozen=True)
class Plan:
    """What a query of the mix becomes: its terms as typed, ANDed; and, for a question that
    finds (almost) nothing as typed, the AND of its words, the words rcsearch's relaxation
    counts. FTS5 has no "most of the terms"."""

    as_typed: Search
    words: Search | None = None


@dataclass(frozen=True)
class Answer:
    total: int
    reports: int
    rows: list


@dataclass(frozen=True)
class Vocabulary:
    """What turns the mix's parameters into SQL values: query words, full place and topic names.
    Used before timing, as an application maps its form's values once."""

    lexicon: analysis.Lexicon
    gazetteer: enrich.Gazetteer
    topics: TopicRules

    @classmethod
    def load(cls) -> "Vocabulary":
        return cls(analysis.Lexicon.load(), enrich.Gazetteer.load(), TopicRules.load(TOPICS_FILE))

    def values(self, facet: str, value: str) -> list:
        """The stored values a filter value selects (浙江 -> 浙江省, an alias -> its topics)."""
        if facet == "year":
            return [int(value)]
        if facet == "topic":
            return self.topics.expand(value)
        return [d.name for d in self.gazetteer.resolve(value, facet)]


def plan(params: dict, vocabulary: Vocabulary) -> Plan:
    """The SQL for one query of the mix (its /api/search parameters)."""
    parsed = parse_query(params.get("q", ""), vocabulary.lexicon)
    if parsed.excluded or any(len(clause) > 1 for clause in parsed.clauses):
        raise ValueError(f"no FTS5 equivalent written for OR or exclusions: {params}")
    filters = {facet: [v for value in parsed.filters.get(facet) + ((params[facet],) if facet in params else ())
                       for v in vocabulary.values(facet, str(value))]
               for facet in ("province", "city", "topic", "year")}
    page, limit, sort = int(params.get("page", 1)), int(params.get("limit", 10)), params.get("sort", "relevance")
    terms = [clause[0].text for clause in parsed.clauses]
    words = [unit[0].text for unit in relaxed_units(parsed, vocabulary.lexicon)]
    return Plan(search(terms, filters, sort, page, limit),
                search(words, filters, sort, page, limit) if len(words) > 1 and words != terms else None)


def search(terms: list[str], filters: dict[str, list], sort: str, page: int, limit: int) -> Search:
    """SQL for passages holding every term (MATCH for terms of 3 characters or more, LIKE for
    shorter ones) with the filters' values, ordered by bm25 (FTS5's rank), or by passage
    without MATCH, or newest first by date."""
    indexed = [t for t in terms if len(t) >= TRIGRAM]
    scanned = [t for t in terms if len(t) < TRIGRAM]
    where, args = [], []
    if indexed:
        where.append("fts MATCH ?")
        args.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in indexed))
    for term in scanned:
        # "+" keeps FTS5 out of it: SQLite 3.40's trigram tokenizer answers a LIKE of fewer
        # than 3 CJK characters with no rows instead of scanning.
        where.append("+fts.text LIKE ? ESCAPE '\\'")
        args.append("%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    for column in ("province", "city", "year"):
        if filters[column]:
            where.append(f"p.{column} IN ({', '.join('?' * len(filters[column]))})")
            args.extend(filters[column])
    if filters["topic"]:
        where.append(f"p.id IN (SELECT id FROM passage_topic WHERE topic IN ({', '.join('?' * len(filters['topic']))}))")
        args.extend(filters["topic"])
    condition = " AND ".join(where) or "1"
    if indexed:
        snippet, snippet_args = f"snippet(fts, 0, '<mark>', '</mark>', '…', {SNIPPET_TOKENS})", ()
    elif scanned:
        snippet = (f"replace(substr(fts.text, max(1, instr(fts.text, ?) - {SNIPPET_CHARS // 3}), {SNIPPET_CHARS}), "
                   "?, '<mark>' || ? || '</mark>')")
        snippet_args = (scanned[0],) * 3
    else:
        snippet, snippet_args = f"substr(fts.text, 1, {SNIPPET_CHARS})", ()
    order = "p.year DESC, p.id" if sort == "date" else "fts.rank" if indexed else "p.id"
    joined = "fts JOIN passage AS p ON p.id = fts.rowid" if terms else "passage AS p JOIN fts ON fts.rowid = p.id"
    return Search(
        f"SELECT p.report, p.number, {snippet} FROM {joined} WHERE {condition} ORDER BY {order} LIMIT ? OFFSET ?",
        (*snippet_args, *args, limit, (page - 1) * limit),
        f"SELECT count(*), count(DISTINCT p.report) FROM {joined if terms else 'passage AS p'} WHERE {condition}",
        tuple(args))


def connect(db: Path) -> sqlite3.Connection:
    """A read-only connection, memory-mapping the file."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    return conn


def run(conn: sqlite3.Connection, query: Plan) -> Answer:
    """Count, then the page: as typed, or by its words when that finds fewer than rcsearch
    needs before it relaxes a query."""
    chosen = query.as_typed
    total, reports = conn.execute(chosen.count_sql, chosen.count_args).fetchone()
    if query.words is not None and total < ranking.RELAX_BELOW:
        chosen = query.words
        total, reports = conn.execute(chosen.count_sql, chosen.count_args).fetchone()
    return Answer(total, reports, conn.execute(chosen.page_sql, chosen.page_args).fetchall())


def measure(db: Path, queries: list[tuple[str, dict]], rounds: int, first: dict) -> dict:
    """Client-side time of each query of the mix, `rounds` times, after one query of `first`
    (as rcsearch's are measured after its first answer); the first round's totals and checks."""
    vocabulary = Vocabulary.load()
    plans = [plan(params, vocabulary) for _, params in queries]
    samples: list[tuple[str, float, int]] = []   # kind, ms, query number
    totals: list[tuple[int, int]] = []
    checks = {"answers": 0, "with_hits": 0, "with_marks": 0}
    with contextlib.closing(connect(db)) as conn:
        run(conn, plan(first, vocabulary))
        for round_number in range(rounds):
            for number, ((kind, _), query) in enumerate(zip(queries, plans)):
                started = time.perf_counter()
                answer = run(conn, query)
                samples.append((kind, (time.perf_counter() - started) * 1000, number))
                if round_number == 0:
                    totals.append((answer.total, answer.reports))
                    checks["answers"] += 1
                    checks["with_hits"] += bool(answer.rows)
                    checks["with_marks"] += any("<mark>" in (row[2] or "") for row in answer.rows)
    return {"samples": samples, "totals": totals, "checks": checks, "sqlite": sqlite3.sqlite_version}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "build":
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(build(Path(argv[1]), Path(argv[2]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
