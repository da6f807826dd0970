"""The benchmark harness: `python -m tests.benchmarks.run [--sizes 1000,10000] [--out docs/benchmarks.md]`.

For each collection size it generates (or reuses from the cache) a synthetic
collection, then measures, side by side in one run: full index builds with 1
and 2 workers, raw jieba and a plain Whoosh + ChineseAnalyzer indexer over the
same text, a real `rcsearch serve` (time to first answer, /api/search latency
over loopback for a fixed query mix, peak RSS), index size on disk and an
incremental reindex after changing 1% of the files. It prints a markdown
report and writes it to --out, with the machine it ran on and the goals.
"""
from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from tests.benchmarks import generate

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RCSEARCH = str(BIN / "rcsearch")
DEFAULT_CACHE = Path(os.environ.get("RCSEARCH_BENCH_CACHE", Path(tempfile.gettempdir()) / "rcsearch-bench"))
CHANGED_SHARE = 0.01
FIRST_QUERY = {"q": "红十字"}
HTTP_TIMEOUT = 1800  # seconds; slow answers are measured, not failed

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
]

GOALS = {
    "p95": "/api/search p95 ≤ 50 ms at 100k passages",
    "p50": "/api/search p50 ≤ 15 ms at 100k passages",
    "speedup": "indexing with 2 workers ≥ 1.6× one worker",
    "plain": "end-to-end indexing MB/s ≥ plain Whoosh + ChineseAnalyzer indexer",
    "rss": "server peak RSS ≤ 300 MB",
    "first": "first answer ≤ 3 s after `rcsearch serve`",
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

def collection(cache: Path, reports: int) -> tuple[Path, Path]:
    """(source folder, passages.jsonl) of a generated collection, from the cache when present."""
    pool = generate.pool()
    folder = cache / f"collection-{pool.digest}-{generate.DEFAULT_SEED}-{reports}"
    source, passages, stamp = folder / "reports", folder / "passages.jsonl", folder / ".complete"
    if stamp.exists():
        return source, passages
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    print(f"[bench] generating {reports} reports in {source}", file=sys.stderr)
    paths = generate.generate(source, reports)
    from search.ingest import read_document
    with passages.open("w", encoding="utf-8") as f:
        for path in paths:
            for p in read_document(path).passages:
                f.write(json.dumps({"text": p.text}, ensure_ascii=False) + "\n")
    stamp.write_text(f"{time.perf_counter() - started:.1f} s\n")
    return source, passages


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

def get(conn: http.client.HTTPConnection, params: dict) -> tuple[int, dict]:
    conn.request("GET", "/api/search?" + urllib.parse.urlencode(params))
    response = conn.getresponse()
    body = response.read()
    return response.status, json.loads(body) if body else {}


def serve_and_query(index_dir: Path, rounds: int) -> dict:
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
        rss_after_first = vm(proc.pid, "VmRSS")
        samples: list[tuple[str, float, float, int]] = []   # kind, client ms, server took_ms, query number
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
                    checks["answers"] += 1
                    checks["with_hits"] += bool(body["hits"])
                    checks["with_marks"] += any("<mark>" in h["snippet"] for h in body["hits"])
                    checks["relaxed"] += bool(body.get("relaxed"))
                    checks["facets"] += all(name in body["facets"] for name in ("province", "city", "topic", "year"))
        conn.close()
        return {"first_answer_s": first, "samples": samples, "checks": checks,
                "peak_rss_mb": vm(proc.pid, "VmHWM"), "rss_mb": vm(proc.pid, "VmRSS"),
                "rss_after_first_mb": rss_after_first}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# -- one size ------------------------------------------------------------------

@dataclass
class Result:
    reports: int
    figures: dict = field(default_factory=dict)


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


def bench_size(reports: int, cache: Path, rounds: int, keep: bool) -> Result:
    source, passages_file = collection(cache, reports)
    result = Result(reports)
    f = result.figures
    f["code_index"] = code_version()
    f["source_bytes"] = sum(p.stat().st_size for p in source.glob("*.txt"))
    f["passages"] = sum(1 for _ in passages_file.open(encoding="utf-8"))
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
        print(f"[bench] {reports}: plain Whoosh + ChineseAnalyzer", file=sys.stderr)
        r = timed([sys.executable, "-m", "tests.benchmarks.baselines", "plain", str(passages_file),
                   str(work / "plain")])
        inner = json.loads(r.stdout)
        f["plain"] = r.__dict__ | inner | {"mbps": mb / r.wall, "pps": f["passages"] / r.wall,
                                           "inner_mbps": mb / inner["seconds"]}
        f["plain_size"] = du(work / "plain")
        loads.append(r.load)
        index_dir = work / "index-2"
        f["index_size"] = du(index_dir.joinpath("current").resolve())
        print(f"[bench] {reports}: rcsearch serve + {rounds} rounds of {len(QUERIES)} queries", file=sys.stderr)
        f["code_serve"] = code_version()
        f["serve"] = serve_and_query(index_dir, rounds)
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
            "python": platform.python_version(), "os": f"{platform.system()} {platform.release()}",
            "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "commit": commit + (" (search/ or web/ modified)" if dirty else ""), "versions": versions,
            "load": os.getloadavg()}


def mark(ok: bool, applies: bool = True) -> str:
    if not applies:
        return "(pass)" if ok else "(fail)"
    return "✅" if ok else "❌"


def render(results: list[Result], info: dict, rounds: int, command: str) -> str:
    cols = [f"{r.reports:,} reports" for r in results]
    rows: list[tuple[str, list[str], str]] = []   # label, values, goal

    def row(label: str, fn, goal: str = ""):
        rows.append((label, [fn(r.figures) for r in results], goal))

    def lat(fig, q):
        return percentile([s[1] for s in fig["serve"]["samples"]], q)

    big = lambda fig: fig["passages"] >= 100_000
    row("engine code (git HEAD, search/ web/ modified?) at index builds · at serve",
        lambda f: f"{f.get('code_index', '?')} · {f.get('code_serve', '?')}")
    row("source text", lambda f: f"{f['source_bytes'] / 1e6:.1f} MB")
    row("passages", lambda f: f"{f['passages']:,}")
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
        lambda f: f"{f['plain']['wall']:.1f} s · {f['plain']['mbps']:.3f} MB/s · {f['plain']['pps']:,.0f} passages/s")
    row("rcsearch 1 worker vs plain, MB/s",
        lambda f: f"{f['index1']['mbps'] / f['plain']['mbps']:.2f}× "
                  f"{mark(f['index1']['mbps'] >= f['plain']['mbps'])}", "≥ 1.0×")
    row("rcsearch 2 workers vs plain, MB/s",
        lambda f: f"{f['index2']['mbps'] / f['plain']['mbps']:.2f}× "
                  f"{mark(f['index2']['mbps'] >= f['plain']['mbps'])}", "≥ 1.0×")
    row("index size on disk (plain index)",
        lambda f: f"{f['index_size'] / 1e6:.1f} MB ({f['plain_size'] / 1e6:.1f} MB)")
    row("time from `rcsearch serve` to first answer",
        lambda f: f"{f['serve']['first_answer_s']:.2f} s {mark(f['serve']['first_answer_s'] <= 3)}", "≤ 3 s")
    row("/api/search p50 (HTTP, loopback)",
        lambda f: f"{lat(f, 0.5):.1f} ms {mark(lat(f, 0.5) <= 15, big(f))}", "≤ 15 ms at 100k passages")
    row("/api/search p95",
        lambda f: f"{lat(f, 0.95):.1f} ms {mark(lat(f, 0.95) <= 50, big(f))}", "≤ 50 ms at 100k passages")
    row("/api/search max", lambda f: f"{max(s[1] for s in f['serve']['samples']):.1f} ms")
    row("server peak RSS (VmHWM)",
        lambda f: f"{f['serve']['peak_rss_mb']:.0f} MB {mark(f['serve']['peak_rss_mb'] <= 300)}", "≤ 300 MB")
    row("no-op reindex (nothing changed)", lambda f: f"{f['noop']['wall']:.2f} s")
    row("reindex after changing 1% of files",
        lambda f: f"{f['incremental']['wall']:.1f} s = {100 * f['incremental']['wall'] / f['index2']['wall']:.1f}% "
                  f"of full build {mark(f['incremental']['wall'] <= 0.05 * f['index2']['wall'])}",
        "≤ 5% of full build (2 workers)")
    row("load average (1 min) during the run", lambda f: f"{f['load'][0]:.2f}–{f['load'][1]:.2f}")

    out = ["# Benchmarks", "",
           f"Generated by `{command}` (harness: `tests/benchmarks/`, see its README). "
           "Every figure in a column was measured in the same run on the same machine.", "",
           "## Machine", "",
           f"- CPU: {info['cpu']}, {info['cores']} cores",
           f"- RAM: {info['ram_gb']:.1f} GB",
           f"- OS: {info['os']}; Python {info['python']}; "
           + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
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
    out += ["", "✅/❌: goal met or not. Latency marks in parentheses, (pass)/(fail), are indicative: the "
            "latency goals are defined at 100k passages and this collection is smaller.", ""]

    out += ["## /api/search latency by kind of query", "",
            f"{len(QUERIES)} queries × {rounds} rounds, sequential, one keep-alive connection, after the "
            "first answer; client-side time (server `took_ms` in brackets). Default `limit=10`, every "
            "answer with facet counts and snippets.", "",
            "| kind | " + " | ".join(f"{c} p50 / max" for c in cols) + " |",
            "|---|" + "---|" * len(cols)]
    for kind in dict.fromkeys(k for k, _ in QUERIES):
        cells = []
        for r in results:
            ms = [s[1] for s in r.figures["serve"]["samples"] if s[0] == kind]
            took = [s[2] for s in r.figures["serve"]["samples"] if s[0] == kind]
            cells.append(f"{statistics.median(ms):.1f} / {max(ms):.1f} ms "
                         f"[{statistics.median(took):.1f} / {max(took):.1f}]")
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    out += ["", "Queries:", ""]
    for kind, params in QUERIES:
        out.append(f"- {kind}: " + ", ".join(f"{k}=`{v}`" for k, v in params.items()))
    checks = [f"{r.reports:,}: {r.figures['serve']['checks']}" for r in results]
    out += ["", "Answer checks (first round): " + "; ".join(checks), ""]

    out += ["## Goals", ""] + [f"- {g}" for g in GOALS.values()]
    out += ["", "## Notes", "",
            "- Collections: `python -m tests.benchmarks.generate` recombines the paragraphs and headings of "
            "`seeds/` across reports, gives each report a real city and province (substituted for the "
            "seeds' place names, title block included) and fresh figures; 2–8 KB per report.",
            "- Index builds are fresh (`rcsearch index SRC --index NEW --workers N`, no `--rebuild`), wall "
            "time of the whole command (start-up, jieba and gazetteer loading included). CPU time and peak "
            "RSS are those of the command's process tree (`wait4`).",
            "- The plain indexer gets the passages rcsearch cuts, ready made (reading and cutting files is "
            "not charged to it); its end-to-end time is the whole process, start-up included. "
            "It runs in one process.",
            "- Raw jieba is the project's jieba tokenizer (user dictionary loaded) in search mode over "
            "each report file's text, one process, loading excluded.",
            "- The 1% change replaces every 100th report with an edited version (same id); the reindex "
            "runs with 2 workers and is compared with the 2-worker full build.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated report counts")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the query mix")
    parser.add_argument("--keep", action="store_true", help="keep the indexes built (in the cache dir)")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON")
    parser.add_argument("--reuse-results", action="store_true",
                        help="take a size's figures from the last run's results in the cache dir instead of "
                             "measuring again (each size is saved there as soon as it is measured)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("k", "000")) for s in args.sizes.split(",") if s.strip()]
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    info = machine()
    results = []
    for n in sizes:
        saved = args.cache_dir / f"results-{generate.pool().digest}-{n}.json"
        if args.reuse_results and saved.exists():
            print(f"[bench] {n}: figures from {saved}", file=sys.stderr)
            results.append(Result(n, json.loads(saved.read_text()) | {"reused": True}))
            continue
        result = bench_size(n, args.cache_dir, args.rounds, args.keep)
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
