"""The benchmark harness: `python -m tests.benchmarks.run [--sizes 1000,10000] [--passages 100k,1m] [--out FILE]`.

For each collection size it generates (or reuses from the cache) a synthetic
collection, then measures, side by side in one run: full index builds with 1
and 2 workers, raw jieba and a plain Whoosh + ChineseAnalyzer indexer over the
same text, a real `rcsearch serve` (time to first answer, /api/search latency
over loopback for a fixed query mix, peak RSS), SQLite FTS5 trigram over the
same passages answering the same mix (the speed anchor), index size on disk
and an incremental reindex after changing 1% of the files. It prints a
markdown report and writes it to --out, with the machine it ran on and the goals.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.benchmarks import fts5, generate

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RCSEARCH = str(BIN / "rcsearch")
DEFAULT_CACHE = Path(os.environ.get("RCSEARCH_BENCH_CACHE", Path(tempfile.gettempdir()) / "rcsearch-bench"))
CHANGED_SHARE = 0.01
FIRST_QUERY = {"q": "红十字"}
HTTP_TIMEOUT = 1800  # seconds; slow answers are measured, not failed
# The plain Whoosh indexer is measured up to here: the 100k-passage size and make bench's
# 10k reports (134k passages). Beyond, it takes hours.
PLAIN_UP_TO = 150_000
PLAIN_SKIPPED = "not measured (hours at this size)"
# Goals are set at 100k and at 1M passages; a collection this close to one counts as that size.
TIER_100K, TIER_1M = 95_000, 900_000

# The fixed query mix: (kind, parameters). Every answer carries facet counts and snippets.
QUERIES: list[tuple[str, dict]] = [
    ("common", {"q": "红十字"}),
    ("common", {"q": "志愿服务"}),
    ("common", {"q": "应急救援"}),
    ("common", {"q": "疫情防控"}),
    ("rare", {"q": "谢菲菲"}),
    ("rare", {"q": "黑格比"}),
    ("rare", {"q": "李书福"}),
    ("rare", {"q": "奎香"}),
    ("phrase", {"q": '"急救知识万人学"'}),
    ("phrase", {"q": '"博爱送万家"'}),
    ("phrase", {"q": '"人体器官捐献"'}),
    ("relaxed", {"q": "石家庄有多少志愿者加入中华骨髓库"}),
    ("relaxed", {"q": "台风黑格比救援队救援了多少群众"}),
    ("relaxed", {"q": "疫情期间红十字会接收捐赠款物多少亿元"}),
    ("filtered", {"q": "志愿服务", "topic": "无偿献血"}),
    ("filtered", {"q": "救护培训", "province": "浙江"}),
    ("filtered", {"q": "造血干细胞", "year": "2021"}),
    ("filtered", {"q": "红十字", "province": "广东", "topic": "应急救援", "page": "2"}),
    ("browse", {"topic": "应急救援"}),
    ("browse", {"province": "广东"}),
    ("browse", {"topic": "疫情防控", "sort": "date"}),
    ("browse", {"year": "2020", "page": "3"}),
    # In more than half of the passages (红十字 64%, 红十字会 51%; 工作 38%, 开展 26%).
    ("very common", {"q": "红十字会"}),
    ("very common", {"q": "红十字会 工作"}),
    ("very common", {"q": "红十字 开展 工作"}),
    ("very common", {"q": "工作"}),
    # Questions of six or more words (after stopwords): rcsearch relaxes them.
    ("question 6+ words", {"q": "2020年疫情期间红十字会共接收社会捐赠款物多少亿元"}),
    ("question 6+ words", {"q": "红十字会如何组织志愿者开展应急救护培训进社区"}),
    ("question 6+ words", {"q": "全市红十字会今年为困难群众发放了多少救助金"}),
    ("question 6+ words", {"q": "红十字会 救助 困难群众 资金 发放 慰问"}),
    ("two facets", {"q": "志愿者", "province": "四川", "topic": "应急救援"}),
    ("two facets", {"q": "红十字", "city": "乐山", "year": "2021"}),
    ("two facets", {"q": "红十字会", "city": "苏州", "topic": "党的建设"}),
    ("two facets", {"province": "山东", "year": "2021"}),
    # A place typed with the subject: the place matches the passages of its reports.
    ("place typed", {"q": "石家庄 救灾"}),
    ("place typed", {"q": "乐山 志愿者"}),
    ("place typed", {"q": "四川 基层组织"}),
    ("place typed", {"q": "苏州 红十字 培训"}),
    # The engine pages up to page × limit = 10,000.
    ("deep page", {"q": "红十字", "page": "50"}),
    ("deep page", {"q": "红十字会", "page": "200", "limit": "50"}),
    ("deep page", {"q": "工作", "sort": "date", "page": "200", "limit": "50"}),
    ("deep page", {"topic": "应急救援", "page": "50"}),
    ("deep page", {"page": "200", "limit": "50"}),
]

# (kind, parameters): every figure of the collection; the figures of a common word's, a rare
# word's, a filtered and a relaxed search; pages of 500 figures. Values and units occur in
# the generated reports (人, 元, 例, 份 …).
FIGURE_QUERIES: list[tuple[str, dict]] = [
    ("every figure", {}),
    ("every figure", {"sort": "-value"}),
    ("every figure", {"unit": "元", "sort": "-value"}),
    ("every figure", {"unit": "人", "min": "1000", "sort": "value", "page": "20"}),
    ("common word", {"q": "志愿服务"}),
    ("common word", {"q": "红十字", "sort": "-value"}),
    ("common word", {"q": "红十字会", "unit": "人", "approx": "false"}),
    ("rare word", {"q": "谢菲菲"}),
    ("rare word", {"q": "黑格比", "sort": "value"}),
    ("filtered", {"q": "救护培训", "province": "浙江", "sort": "-value"}),
    ("filtered", {"topic": "无偿献血", "unit": "人次"}),
    ("filtered", {"province": "广东", "year": "2021", "sort": "date"}),
    ("relaxed question", {"q": "疫情期间红十字会接收捐赠款物多少亿元", "unit": "元"}),
    ("500 per page", {"q": "工作", "limit": "500"}),
    ("500 per page", {"limit": "500", "sort": "date", "page": "10"}),
]
FIGURE_SEARCH_PARAMS = ("q", "province", "city", "topic", "year", "level")
# What someone types into the search box, a key at a time: characters, pinyin, initials.
SUGGEST_TYPING = ["红", "红十", "红十字", "造", "造血", "应急救", "h", "ho", "hong", "hongs", "z", "za", "zao", "zaox",
                  "zaoxue", "y", "yi", "yin", "ying", "yingji", "zx", "zxg", "hsz", "hszh", "w", "wc", "wcx", "wcxx"]

GOALS = {
    "p95": "/api/search p95 ≤ 50 ms at 100k passages, ≤ 100 ms at 1M",
    "fts5": "/api/search p95 ≤ SQLite FTS5 trigram's p95 on the same passages, same run, at 100k passages",
    "p50": "/api/search p50 ≤ 15 ms at 100k passages",
    "speedup": "indexing with 2 workers ≥ 1.6× one worker",
    "plain": "end-to-end indexing MB/s: 1 worker ≥ the plain Whoosh + ChineseAnalyzer indexer, 2 workers ≥ 1.5× it",
    "rss": "server peak RSS ≤ 300 MB (≤ 500 MB at 1M passages)",
    "first": "first answer ≤ 3 s after `rcsearch serve`",
    "suggest": "/api/suggest p95 ≤ 20 ms at 100k passages",
    "incremental": "1% change reindexes in ≤ 5% of the full build time",
}


# -- processes ---------------------------------------------------------------

@dataclass
class Run:
    """A finished subprocess: wall time, CPU time and peak RSS of its own process tree."""

    wall: float
    cpu: float
    max_rss_mb: float
    stdout: str
    load: float  # 1-minute load average when it finished


def timed(args: list[str], cwd: Path = ROOT) -> Run:
    """Run a command, measuring it with wait4 (exact CPU time and max RSS of that child)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}:\n{stderr[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, os.getloadavg()[0])


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm(pid: int, key: str) -> float:
    """A /proc/<pid>/status memory figure in MB (VmHWM = peak RSS, VmRSS = current)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- collections -------------------------------------------------------------

@dataclass(frozen=True)
class Collection:
    """A generated collection: report files, their passages (passages.jsonl) and how it was generated."""

    source: Path
    passages: Path
    figures: dict   # reports, passages, source_bytes, and the generator's wall, CPU, peak RSS, disk


def collection(cache: Path, reports: int) -> Collection:
    """A generated collection, from the cache when present; generated by its own process
    (tests.benchmarks.generate, streamed), whose time and peak RSS are kept with it."""
    folder = cache / f"collection-{generate.pool().digest}-{generate.DEFAULT_SEED}-{reports}"
    stamp = folder / ".complete"
    if not stamp.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"[bench] generating {reports:,} reports in {folder}", file=sys.stderr)
        r = timed([sys.executable, "-m", "tests.benchmarks.generate", str(folder), "--reports", str(reports)])
        written = json.loads(r.stdout)
        stamp.write_text(json.dumps(written | {"wall": r.wall, "cpu": r.cpu, "max_rss_mb": r.max_rss_mb,
                                                "disk_bytes": du(folder)}))
    return Collection(folder / "reports", folder / generate.PASSAGES, json.loads(stamp.read_text()))


def working_copy(source: Path, target: Path) -> Path:
    """Hard-linked copy of a collection (changed files are replaced, never written through)."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        os.link(path, target / path.name)
    return target


def change_files(folder: Path, share: float) -> int:
    """Replace every 1/share-th report with an edited version of it (same id, new content)."""
    paths = sorted(folder.glob("*.txt"))
    step = max(1, round(1 / share))
    changed = 0
    for path in paths[::step]:
        number = int(path.stem.split("_")[1])
        _, text = generate.report(number, variant=1)
        path.unlink()
        path.write_text(text, encoding="utf-8")
        changed += 1
    return changed


# -- the server ----------------------------------------------------------------

def get(conn: http.client.HTTPConnection, params: dict, path: str = "/api/search") -> tuple[int, dict]:
    conn.request("GET", path + "?" + urllib.parse.urlencode(params))
    response = conn.getresponse()
    body = response.read()
    return response.status, json.loads(body) if body else {}


def suggest_latencies(conn: http.client.HTTPConnection, rounds: int) -> list[float]:
    """Client-side ms of /api/suggest for SUGGEST_TYPING, `rounds` times, after one call that
    waits for the server to have read the index's words."""
    def ask(prefix: str) -> float:
        t0 = time.perf_counter()
        conn.request("GET", "/api/suggest?" + urllib.parse.urlencode({"q": prefix}))
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/api/suggest {prefix!r} answered {response.status}")
        return (time.perf_counter() - t0) * 1000
    ask(SUGGEST_TYPING[0])
    return [ask(prefix) for _ in range(rounds) for prefix in SUGGEST_TYPING]


@contextlib.contextmanager
def served(index_dir: Path) -> Iterator[tuple[subprocess.Popen, http.client.HTTPConnection, float]]:
    """`rcsearch serve` over index_dir: its process, a keep-alive connection to it, and the seconds
    from its start to its first answer (FIRST_QUERY). Stopped on leaving."""
    port = free_port()
    log = tempfile.TemporaryFile("w+")
    started = time.perf_counter()
    proc = subprocess.Popen([RCSEARCH, "serve", "--port", str(port), "--index", str(index_dir)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        first = None
        while first is None:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"rcsearch serve exited {proc.returncode}:\n{log.read()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=HTTP_TIMEOUT)
                status, _ = get(conn, FIRST_QUERY)
                if status == 200:
                    first = time.perf_counter() - started
            except (ConnectionError, OSError):
                time.sleep(0.02)
        yield proc, conn, first
        conn.close()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def serve_and_query(index_dir: Path, rounds: int) -> dict:
    with served(index_dir) as (proc, conn, first):
        rss_after_first = vm(proc.pid, "VmRSS")
        samples: list[tuple[str, float, float, int]] = []   # kind, client ms, server took_ms, query number
        totals: list[tuple[int, int]] = []   # passages, reports: first round, per query number
        checks = {"answers": 0, "with_hits": 0, "with_marks": 0, "relaxed": 0, "facets": 0}
        for round_number in range(rounds):
            for number, (kind, params) in enumerate(QUERIES):
                t0 = time.perf_counter()
                status, body = get(conn, params)
                elapsed = (time.perf_counter() - t0) * 1000
                if status != 200:
                    raise RuntimeError(f"/api/search {params} answered {status}: {body}")
                samples.append((kind, elapsed, body.get("took_ms", float("nan")), number))
                if round_number == 0:
                    totals.append((body["total"], body["total_reports"]))
                    checks["answers"] += 1
                    checks["with_hits"] += bool(body["hits"])
                    checks["with_marks"] += any("<mark>" in h["snippet"] for h in body["hits"])
                    checks["relaxed"] += bool(body.get("relaxed"))
                    checks["facets"] += all(name in body["facets"] for name in ("province", "city", "topic", "year"))
        suggest = suggest_latencies(conn, rounds)
        figure_samples = figure_latencies(conn, rounds)
        return {"first_answer_s": first, "samples": samples, "totals": totals, "checks": checks, "suggest": suggest,
                "figures": figure_samples, "peak_rss_mb": vm(proc.pid, "VmHWM"), "rss_mb": vm(proc.pid, "VmRSS"),
                "rss_after_first_mb": rss_after_first}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def figure_latencies(conn: http.client.HTTPConnection, rounds: int) -> list[tuple[str, int, float, float, int]]:
    """Each query of the mix, `rounds` times: (kind, query number, /api/figures ms, /api/search ms
    for its q and filters, figures found), client-side, over one keep-alive connection."""
    samples = []
    for _ in range(rounds):
        for number, (kind, params) in enumerate(FIGURE_QUERIES):
            ms = {}
            for path, asked in (("/api/figures", params),
                                ("/api/search", {k: v for k, v in params.items() if k in FIGURE_SEARCH_PARAMS})):
                t0 = time.perf_counter()
                status, body = get(conn, asked, path)
                ms[path] = (time.perf_counter() - t0) * 1000
                if status != 200:
                    raise RuntimeError(f"{path} {asked} answered {status}: {body}")
                if path == "/api/figures":
                    found = body["total"]
            samples.append((kind, number, ms["/api/figures"], ms["/api/search"], found))
    return samples


def figure_latency_table(columns: list[tuple[str, list | None]], rounds: int) -> list[str]:
    """A size per column: /api/figures p50 / p95 (and /api/search p50 for the same q and filters)
    by kind of query, and over the whole mix."""
    columns = [(label, samples) for label, samples in columns if samples]
    if not columns:
        return []

    def cell(samples, kind=None) -> str:
        chosen = [s for s in samples if kind is None or s[0] == kind]
        figures_ms, search_ms = [s[2] for s in chosen], [s[3] for s in chosen]
        return (f"{percentile(figures_ms, 0.5):.1f} / {percentile(figures_ms, 0.95):.1f} "
                f"({percentile(search_ms, 0.5):.1f})")

    out = ["## /api/figures latency", "",
           f"{len(FIGURE_QUERIES)} queries × {rounds} rounds, sequential, over HTTP (one keep-alive loopback "
           "connection), client-side ms: `/api/figures` p50 / p95, and in brackets `/api/search` p50 for the same "
           "q and filters (what the figure search starts from: the figure table, the ordering of the passages "
           "that reach the page and the stored figures of the page's passages come on top). The first round "
           "is cold. Default `limit=50`.", "",
           "| kind | queries | " + " | ".join(label for label, _ in columns) + " |",
           "|---|---|" + "---|" * len(columns)]
    for kind in dict.fromkeys(k for k, _ in FIGURE_QUERIES):
        out.append(f"| {kind} | {sum(k == kind for k, _ in FIGURE_QUERIES)} | "
                   + " | ".join(cell(samples, kind) for _, samples in columns) + " |")
    out.append(f"| all | {len(FIGURE_QUERIES)} | " + " | ".join(cell(samples) for _, samples in columns) + " |")
    largest_label, largest = max(columns, key=lambda column: max(s[4] for s in column[1]))
    out += ["", f"Figures found, on {largest_label}:", "",
            "| kind | query | figures | p50 ms |", "|---|---|---|---|"]
    for number, (kind, params) in enumerate(FIGURE_QUERIES):
        mine = [s for s in largest if s[1] == number]
        out.append(f"| {kind} | " + (", ".join(f"{k}=`{v}`" for k, v in params.items()) or "(none)")
                   + f" | {mine[0][4]:,} | {percentile([s[2] for s in mine], 0.5):.1f} |")
    return out + [""]


# -- one size ------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """A collection size: its report count, and the passage count it was asked for as, if it was."""

    reports: int
    passages: int | None = None


@dataclass
class Result:
    reports: int
    figures: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        asked = self.figures.get("passages_asked")
        return f"~{asked:,} passages ({self.reports:,} reports)" if asked else f"{self.reports:,} reports"


def git_state() -> tuple[str, bool]:
    """HEAD, and whether the engine's code (search/, web/) differs from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "search", "web"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?", False
    return commit, bool(dirty)


def code_version() -> str:
    """The engine code a step runs, now."""
    commit, dirty = git_state()
    return f"{commit}{'+modified' if dirty else ''} at {time.strftime('%H:%M')}"


def bench_size(size: Size, cache: Path, rounds: int, keep: bool, plain_up_to: int) -> Result:
    reports = size.reports
    made = collection(cache, reports)
    source, passages_file = made.source, made.passages
    result = Result(reports)
    f = result.figures
    f["passages_asked"] = size.passages
    f["generation"] = made.figures
    f["code_index"] = code_version()
    f["source_bytes"] = made.figures["source_bytes"]
    f["passages"] = made.figures["passages"]
    mb = f["source_bytes"] / 1e6
    work = Path(tempfile.mkdtemp(prefix=f"run-{reports}-", dir=cache))
    loads = [os.getloadavg()[0]]
    try:
        src = working_copy(source, work / "reports")
        for workers in (1, 2):
            print(f"[bench] {reports}: rcsearch index --workers {workers}", file=sys.stderr)
            r = timed([RCSEARCH, "index", str(src), "--index", str(work / f"index-{workers}"),
                       "--workers", str(workers)])
            f[f"index{workers}"] = r.__dict__ | {"mbps": mb / r.wall, "pps": f["passages"] / r.wall}
            loads.append(r.load)
        print(f"[bench] {reports}: raw jieba", file=sys.stderr)
        r = timed([sys.executable, "-m", "tests.benchmarks.baselines", "jieba", str(source)])
        inner = json.loads(r.stdout)
        f["jieba"] = r.__dict__ | inner | {"mbps": inner["bytes"] / 1e6 / inner["seconds"]}
        loads.append(r.load)
        f["plain"] = None
        if f["passages"] <= plain_up_to:
            print(f"[bench] {reports}: plain Whoosh + ChineseAnalyzer", file=sys.stderr)
            r = timed([sys.executable, "-m", "tests.benchmarks.baselines", "plain", str(passages_file),
                       str(work / "plain")])
            inner = json.loads(r.stdout)
            f["plain"] = r.__dict__ | inner | {"mbps": mb / r.wall, "pps": f["passages"] / r.wall,
                                               "inner_mbps": mb / inner["seconds"]}
            f["plain_size"] = du(work / "plain")
            loads.append(r.load)
        print(f"[bench] {reports}: SQLite FTS5 trigram", file=sys.stderr)
        database = work / "fts5.db"
        r = timed([sys.executable, "-m", "tests.benchmarks.fts5", "build", str(passages_file), str(database)])
        f["fts5_build"] = r.__dict__ | json.loads(r.stdout)
        f["fts5_size"] = database.stat().st_size
        loads.append(r.load)
        index_dir = work / "index-2"
        f["index_size"] = du(index_dir.joinpath("current").resolve())
        print(f"[bench] {reports}: rcsearch serve + {rounds} rounds of {len(QUERIES)} queries", file=sys.stderr)
        f["code_serve"] = code_version()
        f["serve"] = serve_and_query(index_dir, rounds)
        loads.append(os.getloadavg()[0])
        print(f"[bench] {reports}: FTS5, {rounds} rounds of the same queries", file=sys.stderr)
        f["fts5"] = fts5.measure(database, QUERIES, rounds, FIRST_QUERY)
        loads.append(os.getloadavg()[0])
        print(f"[bench] {reports}: incremental reindex", file=sys.stderr)
        r = timed([RCSEARCH, "index", str(src), "--index", str(index_dir), "--workers", "2"])
        f["noop"] = r.__dict__
        f["changed_files"] = change_files(src, CHANGED_SHARE)
        r = timed([RCSEARCH, "index", str(src), "--index", str(index_dir), "--workers", "2"])
        f["incremental"] = r.__dict__
        f["index_size_after_incremental"] = du(index_dir.joinpath("current").resolve())
        loads.append(r.load)
        f["load"] = (min(loads), max(loads))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"[bench] kept {work}", file=sys.stderr)
    return result


# -- report ----------------------------------------------------------------------

def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    versions = {}
    for package in ("whoosh-reloaded", "jieba", "flask", "waitress"):
        try:
            from importlib.metadata import version
            versions[package] = version(package)
        except Exception:
            versions[package] = "?"
    commit, dirty = git_state()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": mem / 1024 / 1024,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "os": f"{platform.system()} {platform.release()}",
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "commit": commit + (" (search/ or web/ modified)" if dirty else ""), "versions": versions,
            "load": os.getloadavg()}


def mark(ok: bool, applies: bool = True) -> str:
    if not applies:
        return "(pass)" if ok else "(fail)"
    return "✅" if ok else "❌"


def tier(fig: dict) -> str:
    """The size whose goals apply: "1M", "100k", or "" for a smaller collection (marks indicative)."""
    return "1M" if fig["passages"] >= TIER_1M else "100k" if fig["passages"] >= TIER_100K else ""


def latencies(fig: dict, engine: str, kind: str | None = None) -> list[float]:
    """Client-side ms of every query of the mix (or of one kind), for "serve" (rcsearch) or "fts5"."""
    return [s[1] for s in fig[engine]["samples"] if kind is None or s[0] == kind]


def spread(ms: list[float]) -> str:
    return f"{percentile(ms, 0.5):.1f} / {percentile(ms, 0.95):.1f} / {max(ms):.1f}"


def p95(fig: dict) -> float:
    return percentile(latencies(fig, "serve"), 0.95)


def fts5_ratio(fig: dict) -> float:
    return p95(fig) / percentile(latencies(fig, "fts5"), 0.95)


# Per goal: whether a size misses it where it applies (None: the goal does not apply there).
MISSES = {
    "p95": lambda f: p95(f) > (100 if tier(f) == "1M" else 50) if tier(f) else None,
    "fts5": lambda f: fts5_ratio(f) > 1 if tier(f) == "100k" else None,
    "p50": lambda f: percentile(latencies(f, "serve"), 0.5) > 15 if tier(f) == "100k" else None,
    "plain": lambda f: (f["index1"]["mbps"] < f["plain"]["mbps"] or f["index2"]["mbps"] < 1.5 * f["plain"]["mbps"])
    if tier(f) and f.get("plain") else None,
    "rss": lambda f: f["serve"]["peak_rss_mb"] > (500 if tier(f) == "1M" else 300),
    "first": lambda f: f["serve"]["first_answer_s"] > 3,
    "suggest": lambda f: percentile(f["serve"]["suggest"], 0.95) > 20 if tier(f) == "100k" else None,
    "incremental": lambda f: f["incremental"]["wall"] > 0.05 * f["index2"]["wall"] if tier(f) else None,
}

# Why a goal is missed, from profiles of the engine at the size that misses it.
WHY = {
    "p95": "the first round of the mix is cold: at 10^6 passages a relaxed question, a pair of very "
           "common words or a long question costs 100–170 ms the first time (the posting lists of "
           "bigrams held by 30–60% of the passages are read and intersected, and the candidates left "
           "are confirmed in the compact text, one string search each); the later rounds answer from "
           "the cache. What would close it: positions for the bigrams (confirmation without reading "
           "text) or a gram index of three characters, and top-k early termination for relaxed "
           "questions.",
    "plain": "rcsearch indexes more than the plain index does (jieba words and bigrams for exact "
             "substring search, title and heading fields, regions, topics and level, the compact text "
             "and the prepared columns); with postings pooled and written as arrays, jieba's search "
             "mode (pure Python) is the largest part of a build, about two fifths of a writer's time.",
    "rss": "what stays resident is the dictionaries (jieba, pypinyin, the gazetteer: about 160 MB before "
           "any index is opened), the prepared columns' pages as they are touched, and the doc-set cache "
           "(80 bytes per passage).",
    "incremental": "a reindex pays a fixed cost that a small collection's full build hardly exceeds: "
                   "start-up and dictionaries, reading and hashing every file, and reading every "
                   "report's stored record for the hash it was indexed with (0.3 s at 10^5 passages).",
}


def shortfalls(results: list[Result]) -> list[str]:
    """The goals some size misses where they apply, with the figures' sizes and why."""
    lines = []
    for key, misses in MISSES.items():
        sizes = [r.label for r in results if misses(r.figures)]
        if sizes:
            lines.append(f"- {GOALS[key]}: missed at {', '.join(sizes)}. Why: {WHY.get(key, 'not analysed yet.')}")
    return ["## Where it falls short, and why", ""] + (lines or ["Every goal is met where it applies."]) + [""]


def render(results: list[Result], info: dict, rounds: int, command: str) -> str:
    cols = [r.label for r in results]
    rows: list[tuple[str, list[str], str]] = []   # label, values, goal

    def row(label: str, fn, goal: str = ""):
        rows.append((label, [fn(r.figures) for r in results], goal))

    def plain(fn):
        return lambda f: fn(f) if f.get("plain") else PLAIN_SKIPPED

    def plain_size(f):
        return f"{f['plain_size'] / 1e6:.1f} MB" if f.get("plain") else "not measured"

    row("engine code (git HEAD, search/ web/ modified?) at index builds · at serve",
        lambda f: f"{f.get('code_index', '?')} · {f.get('code_serve', '?')}")
    row("source text", lambda f: f"{f['source_bytes'] / 1e6:.1f} MB")
    row("passages", lambda f: f"{f['passages']:,}")
    row("collection generated (streamed, own process): wall · peak RSS · on disk",
        lambda f: f"{f['generation']['wall']:.0f} s · {f['generation']['max_rss_mb']:.0f} MB · "
                  f"{f['generation']['disk_bytes'] / 1e6:.0f} MB")
    for w in (1, 2):
        row(f"`rcsearch index --workers {w}` (full build)",
            lambda f, w=w: f"{f[f'index{w}']['wall']:.1f} s · {f[f'index{w}']['mbps']:.3f} MB/s · "
                           f"{f[f'index{w}']['pps']:,.0f} passages/s")
        row(f"  CPU time · peak RSS (workers {w})",
            lambda f, w=w: f"{f[f'index{w}']['cpu']:.1f} s · {f[f'index{w}']['max_rss_mb']:.0f} MB")
    row("speed-up 2 workers / 1 worker",
        lambda f: f"{f['index1']['wall'] / f['index2']['wall']:.2f}× "
                  f"{mark(f['index1']['wall'] / f['index2']['wall'] >= 1.6)}", "≥ 1.6×")
    row("raw jieba `tokenize(mode=\"search\")`, 1 process",
        lambda f: f"{f['jieba']['mbps']:.3f} MB/s ({f['jieba']['seconds']:.1f} s)")
    row("plain Whoosh + ChineseAnalyzer indexer, end to end",
        plain(lambda f: f"{f['plain']['wall']:.1f} s · {f['plain']['mbps']:.3f} MB/s · "
                        f"{f['plain']['pps']:,.0f} passages/s"))
    for w, goal in ((1, 1.0), (2, 1.5)):
        row(f"rcsearch {w} worker{'s' if w > 1 else ''} vs plain, MB/s",
            plain(lambda f, w=w, goal=goal: f"{f[f'index{w}']['mbps'] / f['plain']['mbps']:.2f}× "
                                            f"{mark(f[f'index{w}']['mbps'] >= goal * f['plain']['mbps'], bool(tier(f)))}"),
            f"≥ {goal:.1f}×")
    row("index size on disk (plain index)",
        lambda f: f"{f['index_size'] / 1e6:.1f} MB ({plain_size(f)})")
    row("SQLite FTS5 trigram over the same passages: build (one process) · size on disk · peak RSS",
        lambda f: f"{f['fts5_build']['wall']:.1f} s · {f['fts5_size'] / 1e6:.1f} MB · "
                  f"{f['fts5_build']['max_rss_mb']:.0f} MB")
    row("time from `rcsearch serve` to first answer",
        lambda f: f"{f['serve']['first_answer_s']:.2f} s {mark(f['serve']['first_answer_s'] <= 3)}", "≤ 3 s")
    row("/api/search p50 (HTTP, loopback; facet counts, snippets)",
        lambda f: f"{percentile(latencies(f, 'serve'), 0.5):.1f} ms "
                  f"{mark(percentile(latencies(f, 'serve'), 0.5) <= 15, tier(f) == '100k')}",
        "≤ 15 ms at 100k passages")
    row("/api/search p95",
        lambda f: f"{p95(f):.1f} ms {mark(p95(f) <= (100 if tier(f) == '1M' else 50), bool(tier(f)))}",
        "≤ 50 ms at 100k passages, ≤ 100 ms at 1M")
    row("/api/search max", lambda f: f"{max(latencies(f, 'serve')):.1f} ms")
    row("/api/suggest p50 / p95 / max (typing: characters, pinyin, initials)",
        lambda f: f"{spread(f['serve']['suggest'])} ms "
                  f"{mark(percentile(f['serve']['suggest'], 0.95) <= 20, tier(f) == '100k')}",
        "p95 ≤ 20 ms at 100k passages")
    row("SQLite FTS5 p50 / p95 / max (in-process; query + snippet + per-report count, no facet counts)",
        lambda f: f"{spread(latencies(f, 'fts5'))} ms")
    row("rcsearch /api/search p95 ÷ FTS5 p95",
        lambda f: f"{fts5_ratio(f):.2f}× {mark(fts5_ratio(f) <= 1, tier(f) == '100k')}", "≤ 1.0× at 100k passages")
    row("server peak RSS (VmHWM)",
        lambda f: f"{f['serve']['peak_rss_mb']:.0f} MB "
                  f"{mark(f['serve']['peak_rss_mb'] <= (500 if tier(f) == '1M' else 300))}",
        "≤ 300 MB (≤ 500 MB at 1M passages)")
    row("no-op reindex (nothing changed)", lambda f: f"{f['noop']['wall']:.2f} s")
    row("reindex after changing 1% of files",
        lambda f: f"{f['incremental']['wall']:.1f} s = {100 * f['incremental']['wall'] / f['index2']['wall']:.1f}% "
                  f"of full build {mark(f['incremental']['wall'] <= 0.05 * f['index2']['wall'], bool(tier(f)))}",
        "≤ 5% of full build (2 workers)")
    row("load average (1 min) during the run", lambda f: f"{f['load'][0]:.2f}–{f['load'][1]:.2f}")

    out = ["# Benchmarks", "",
           f"Generated by `{command}` (harness: `tests/benchmarks/`, see its README). "
           "Every figure in a column was measured in the same run on the same machine.", "",
           "## Machine", "",
           f"- CPU: {info['cpu']}, {info['cores']} cores",
           f"- RAM: {info['ram_gb']:.1f} GB",
           f"- OS: {info['os']}; Python {info['python']}; "
           + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f"; SQLite {info['sqlite']}",
           f"- Date: {info['date']}; commit {info['commit']}",
           f"- Load average at start: {' / '.join(f'{x:.2f}' for x in info['load'])} (1 / 5 / 15 min); "
           "other work may have been running on the machine, see the load row.", "",
           "## Results", "",
           "| | " + " | ".join(cols) + " | goal |",
           "|---|" + "---|" * len(cols) + "---|"]
    for label, values, goal in rows:
        out.append(f"| {label} | " + " | ".join(values) + f" | {goal} |")
    reused = [c for c, r in zip(cols, results) if r.figures.get("reused")]
    if reused:
        out += ["", f"Taken from an earlier run (`--reuse-results`): {', '.join(reused)}; the engine code row "
                "says when and on which code each column was measured."]
    out += ["", "✅/❌: goal met or not. Marks in parentheses, (pass)/(fail), are indicative: that goal is "
            "defined at another collection size (100k or 1M passages).", ""]
    out += latency_tables(results, rounds) + query_table(max(results, key=lambda r: r.figures["passages"]))
    out += [""] + figure_latency_table([(r.label, r.figures["serve"].get("figures")) for r in results], rounds)
    checks = [f"{r.label}: rcsearch {r.figures['serve']['checks']}, FTS5 {r.figures['fts5']['checks']}"
              for r in results]
    out += ["", "Answer checks (first round): " + "; ".join(checks), ""]

    out += shortfalls(results)
    out += ["## Goals", ""] + [f"- {g}" for g in GOALS.values()]
    out += ["", "## Notes", "",
            "- Collections: `python -m tests.benchmarks.generate` recombines the paragraphs and headings of "
            "`seeds/` across reports, gives each report a real city and province (substituted for the "
            "seeds' place names, title block included) and fresh figures; 2–8 KB per report. It writes "
            "one report at a time (report file, then its passages to passages.jsonl), so its memory does "
            "not grow with the collection. A size asked in passages is turned into reports with the "
            f"passages per report of the first {generate.SAMPLE_REPORTS:,} reports.",
            "- Index builds are fresh (`rcsearch index SRC --index NEW --workers N`, no `--rebuild`), wall "
            "time of the whole command (start-up, jieba and gazetteer loading included). CPU time and peak "
            "RSS are those of the command's process tree (`wait4`).",
            "- The plain indexer gets the passages rcsearch cuts, ready made (reading and cutting files is "
            "not charged to it); its end-to-end time is the whole process, start-up included. "
            f"It runs in one process, on collections of up to {PLAIN_UP_TO:,} passages.",
            "- Raw jieba is the project's jieba tokenizer (user dictionary loaded) in search mode over "
            "each report file's text, one process, loading excluded.",
            "- SQLite FTS5: the passages rcsearch cuts with the facet values rcsearch gives them, in an FTS5 "
            "table (`tokenize='trigram'`) beside a table of report, province, city and year (a B-tree index "
            "on each) and a (topic, passage) table. Each query of the mix is what an FTS5 user would run: "
            "its terms ANDed, `MATCH` for terms of 3 characters or more and `LIKE '%…%'` for shorter ones "
            "(trigrams cannot find them), facet filters as `WHERE` clauses, `ORDER BY rank` (bm25) when "
            "there is a `MATCH`, `snippet()` for the page (`LIMIT`/`OFFSET`), and `count(*)`, "
            "`count(DISTINCT report)` over all the matches; a question that finds fewer than 3 passages "
            "as typed is run again as the AND of its words (those rcsearch's relaxation counts). "
            "In-process (Python's sqlite3, a read-only memory-mapped connection), so no HTTP and no "
            "facet counts: rcsearch's figures include both.",
            "- The 1% change replaces every 100th report with an edited version (same id); the reindex "
            "runs with 2 workers and is compared with the 2-worker full build.", ""]
    return "\n".join(out)


def latency_tables(results: list[Result], rounds: int) -> list[str]:
    """Per size, p50 / p95 / max by kind of query: rcsearch beside FTS5."""
    out = ["## Latency by kind of query: rcsearch beside SQLite FTS5", "",
           f"{len(QUERIES)} queries × {rounds} rounds each, sequential. rcsearch: `/api/search` over HTTP, one "
           "keep-alive loopback connection, after the first answer; client-side time, every answer with the "
           "four facet counts, totals and snippets (server `took_ms` p50 in brackets). FTS5: in-process, "
           "query + snippet + per-report count, no facet counts. Default `limit=10`.", ""]
    for r in results:
        f = r.figures
        out += [f"### {r.label}", "",
                "| kind | queries | rcsearch /api/search p50 / p95 / max ms (HTTP, facet counts) [took_ms p50] "
                "| FTS5 p50 / p95 / max ms (in-process, no facets) |",
                "|---|---|---|---|"]
        for kind in dict.fromkeys(k for k, _ in QUERIES):
            took = [s[2] for s in f["serve"]["samples"] if s[0] == kind]
            out.append(f"| {kind} | {sum(k == kind for k, _ in QUERIES)} "
                       f"| {spread(latencies(f, 'serve', kind))} [{statistics.median(took):.1f}] "
                       f"| {spread(latencies(f, 'fts5', kind))} |")
        out.append(f"| all | {len(QUERIES)} | {spread(latencies(f, 'serve'))} "
                   f"[{statistics.median(s[2] for s in f['serve']['samples']):.1f}] "
                   f"| {spread(latencies(f, 'fts5'))} |")
        out.append("")
    return out


def query_table(result: Result) -> list[str]:
    """Each query of the mix on the largest collection: what each engine found, and its p50."""
    f = result.figures
    out = [f"### Queries, on {result.label}", "",
           "Passages found (share of all passages) and reports; rcsearch's totals are those it shows, "
           "relaxed when it relaxed the query.", "",
           "| kind | query | rcsearch: passages (share) · reports | FTS5: passages · reports | rcsearch p50 ms "
           "| FTS5 p50 ms |", "|---|---|---|---|---|---|"]
    for number, (kind, params) in enumerate(QUERIES):
        ours, theirs = f["serve"]["totals"][number], f["fts5"]["totals"][number]
        ms = {engine: statistics.median(s[1] for s in f[engine]["samples"] if s[-1] == number)
              for engine in ("serve", "fts5")}
        out.append(f"| {kind} | " + ", ".join(f"{k}=`{v}`" for k, v in params.items())
                   + f" | {ours[0]:,} ({100 * ours[0] / f['passages']:.0f}%) · {ours[1]:,} "
                   f"| {theirs[0]:,} · {theirs[1]:,} | {ms['serve']:.1f} | {ms['fts5']:.1f} |")
    return out


def sizes(reports: list[int], passages: list[int]) -> list[Size]:
    """The sizes asked for: report counts as given, passage counts turned into report counts."""
    return [Size(n) for n in reports] + [Size(generate.reports_for(n), n) for n in passages]


def counts(text: str) -> list[int]:
    """A comma-separated list of counts: 1000,10k,1m."""
    return [generate.count(item) for item in text.split(",") if item.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=counts, default=None,
                        help="comma-separated report counts (1000,10k); default 1000,10000 unless --passages is given")
    parser.add_argument("--passages", type=counts, default=[],
                        help="comma-separated passage counts (100k,1m), each turned into a report count")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the query mix")
    parser.add_argument("--keep", action="store_true", help="keep the indexes built (in the cache dir)")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument("--reuse-results", action="store_true",
                        help="take a size's figures from the last run's results in the cache dir instead of "
                             "measuring again (each size is saved there as soon as it is measured)")
    parser.add_argument("--plain-up-to", type=generate.count, default=PLAIN_UP_TO,
                        help=f"largest collection, in passages, the plain Whoosh indexer runs on (default {PLAIN_UP_TO:,})")
    args = parser.parse_args(argv)
    reports = args.sizes if args.sizes is not None else ([] if args.passages else [1000, 10000])
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    results = []
    for size in sizes(reports, args.passages):
        saved = args.cache_dir / f"results-{generate.pool().digest}-{size.reports}.json"
        if args.reuse_results and saved.exists():
            print(f"[bench] {size.reports}: figures from {saved}", file=sys.stderr)
            results.append(Result(size.reports, json.loads(saved.read_text())
                                  | {"reused": True, "passages_asked": size.passages}))
            continue
        result = bench_size(size, args.cache_dir, args.rounds, args.keep, args.plain_up_to)
        saved.write_text(json.dumps(result.figures, default=str))
        results.append(result)
    command = "python -m tests.benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:])
    report = render(results, info, args.rounds, command.strip())
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": [r.__dict__ for r in results]},
                                        ensure_ascii=False, indent=1, default=str))
    print(f"[bench] wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
