"""Reindex while serving, crash safety of the indexer, read-only serving.

Real processes: `rcsearch serve` on a free loopback port and `rcsearch index`
runs in other processes, killed with SIGKILL at chosen moments.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from search.engine import Engine
from search.facets import Filters
from search.index import CURRENT, IndexLock, current_generation, update_index
from search.querylang import SearchRequest
from web import create_app

from conftest import NOBODY, as_nobody, assert_prepared_as_computed

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
RCSEARCH = Path(sys.executable).with_name("rcsearch")
DIGITS = "甲乙丙丁戊己庚辛壬癸"
SEED_CHARS = "金木水火土"


def unique_word(tag: str, number: int, seed_number: int) -> str:
    """A string that occurs in no seed: 鸮 + a tag character + the number and seed in rare characters."""
    return "鸮" + tag + "".join(DIGITS[int(d)] for d in f"{number:03d}") + SEED_CHARS[seed_number]


def write_reports(folder: Path, tag: str, copies: range) -> dict[str, str]:
    """Copies of the five seeds with their own ids, each holding its own unique word; {doc_id: word}."""
    folder.mkdir(parents=True, exist_ok=True)
    words = {}
    for number in copies:
        for seed_number, seed in enumerate(sorted(SEEDS.glob("*.txt"))):
            doc_id = f"{seed.stem[:3]}_{tag}{number:03d}"
            words[doc_id] = unique_word(tag, number, seed_number)
            text = seed.read_text(encoding="utf-8")
            (folder / f"{doc_id}.txt").write_text(f"{text}\n\n本报告的查验暗号是{words[doc_id]}。\n", encoding="utf-8")
    return words


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 20) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get_content_type()


class Server:
    """`rcsearch serve` in its own process; always stopped, even when the test fails."""

    def __init__(self, index_dir: Path, log: Path, user: int | None = None, cwd: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.log = open(log, "wb")
        env = dict(os.environ, RCSEARCH_SOURCES=str(Path(cwd or log.parent) / "no-sources-here"))
        self.proc = subprocess.Popen(
            [str(RCSEARCH), "serve", "--port", str(self.port), "--index", str(index_dir), "--threads", "8"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd or log.parent, env=env,
            user=user, group=user, extra_groups=[] if user is not None else None)

    def __enter__(self) -> "Server":
        deadline = time.monotonic() + 90
        while True:
            try:
                if get(self.url + "/healthz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("rcsearch serve did not start:\n" + self.output()[-3000:])
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.log.close()

    def __exit__(self, *exc):
        self.stop()

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def search(self, q: str, **params) -> dict:
        status, body, _ = get(self.url + "/api/search?" + urllib.parse.urlencode({"q": q, "limit": 100, **params}))
        assert status == 200, body[:300]
        return json.loads(body)


def run_index(sources: Path, index_dir: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(RCSEARCH), "index", str(sources), "--index", str(index_dir), "--workers", "1", *extra],
                          capture_output=True, text=True, timeout=timeout)


def leftovers(index_dir: Path) -> list[str]:
    """Anything in the index directory besides the live generation, its link and the lock file;
    inside the live generation, anything its table of contents does not account for."""
    live = current_generation(index_dir)
    assert live is not None
    stray = sorted(p.name for p in index_dir.iterdir() if p.name not in (CURRENT, live.name, ".lock"))
    storage = FileStorage(str(live))
    toc = whoosh_index.TOC.read(storage, "MAIN")
    segments = {s.segment_id() for s in toc.segments}
    for name in os.listdir(live):
        if name in (f"_MAIN_{toc.generation}.toc", "MAIN_WRITELOCK", f"columns-{toc.generation}",
                    f"reports-{toc.generation}.marshal"):
            continue
        if not any(name.startswith(segment + ".") for segment in segments):
            stray.append(f"{live.name}/{name}")
    return stray


# -- 1. reindex while serving ----------------------------------------------------------------

class Load:
    """Threads sending searches (and some pages) as fast as the server answers, recording every failure."""

    QUERIES = ["造血干细胞", "博爱送万家", "魔豆妈妈 OR 公益直播间", "应急救护 -石家庄", '"急救知识万人学"',
               "红十字", "city:东阳", "topic:无偿献血"]

    def __init__(self, base_url: str, threads: int = 4):
        self.base_url = base_url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[tuple[float, float]] = []  # (start, end) of each answered request
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, n: int):
        rng = random.Random(n)
        while not self.stop.is_set():
            q = rng.choice(self.QUERIES)
            if n == 0 and rng.random() < 0.3:
                path = rng.choice(["/?" + urllib.parse.urlencode({"q": q}), "/doc/001_77d36a74d18f4973", "/overview"])
            else:
                path = "/api/search?" + urllib.parse.urlencode({"q": q, "page": rng.choice([1, 2])})
            started = time.monotonic()
            try:
                status, body, kind = get(self.base_url + path)
                if status != 200:
                    raise AssertionError(f"{status}: {body[:200]!r}")
                if path.startswith("/api/") and "hits" not in json.loads(body):
                    raise AssertionError(f"no hits in {body[:200]!r}")
            except Exception as exc:  # noqa: BLE001 - every failure is recorded, none may happen
                with self.lock:
                    self.errors.append(f"{path}: {exc!r}")
                continue
            with self.lock:
                self.requests.append((started, time.monotonic()))

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def during(self, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for s, e in self.requests if s < end and e > start)


def test_server_keeps_answering_through_incremental_and_rebuild_reindexes(tmp_path):
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    shutil.copytree(SEEDS, sources)
    words = write_reports(sources, "在", range(1))  # five more reports; one will be removed
    removed_id, removed_word = sorted(words.items())[0]
    assert update_index([sources], index_dir).failed == []
    added_word, rebuilt_word = unique_word("增", 1, 0), unique_word("重", 2, 1)

    with Server(index_dir, tmp_path / "serve.log") as server, Load(server.url) as load:
        assert server.search(f'"{removed_word}"')["total"] == 1
        assert server.search(f'"{added_word}"')["total"] == 0
        time.sleep(0.5)

        (sources / "new_report.txt").write_text((SEEDS / "000_ce03444764b2e6d0.txt").read_text(encoding="utf-8")
                                                + f"\n\n新增报告暗号{added_word}。\n", encoding="utf-8")
        (sources / f"{removed_id}.txt").unlink()
        started = time.monotonic()
        incremental = run_index(sources, index_dir)
        incremental_window = (started, time.monotonic())
        assert incremental.returncode == 0, incremental.stderr
        assert "1 added, 0 updated, 1 removed" in incremental.stdout
        # Visible at once, without a restart.
        assert [h["doc_id"] for h in server.search(f'"{added_word}"')["hits"]] == ["new_report"]
        assert server.search(f'"{removed_word}"')["total"] == 0

        (sources / "rebuilt_report.txt").write_text((SEEDS / "001_77d36a74d18f4973.txt").read_text(encoding="utf-8")
                                                    + f"\n\n重建报告暗号{rebuilt_word}。\n", encoding="utf-8")
        generation_before = current_generation(index_dir)
        started = time.monotonic()
        rebuild = run_index(sources, index_dir, "--rebuild")
        rebuild_window = (started, time.monotonic())
        assert rebuild.returncode == 0, rebuild.stderr
        assert current_generation(index_dir) != generation_before
        assert [h["doc_id"] for h in server.search(f'"{rebuilt_word}"')["hits"]] == ["rebuilt_report"]
        assert [h["doc_id"] for h in server.search(f'"{added_word}"')["hits"]] == ["new_report"]
        assert server.search(f'"{removed_word}"')["total"] == 0
        time.sleep(0.5)

    during_incremental, during_rebuild = load.during(*incremental_window), load.during(*rebuild_window)
    print(f"\nrequests answered: {len(load.requests)} in all, {during_incremental} during the incremental run, "
          f"{during_rebuild} during the rebuild; failed: {len(load.errors)}")
    assert load.errors == []
    # The load really overlapped both runs (each takes seconds; requests take milliseconds).
    assert during_incremental >= 20 and during_rebuild >= 20
    assert "Exception on" not in server.output() and "Traceback" not in server.output()
    assert leftovers(index_dir) == []


# -- 2. crash safety -----------------------------------------------------------------------------

FIXED_QUERIES = ["造血干细胞", "博爱送万家", "魔豆妈妈", "应急救护 OR 救护员", '"急救知识万人学"', "红十字 -石家庄"]
FIXED_FILTERS = [Filters(city=("石家庄",)), Filters(topic=("无偿献血",)), Filters(province=("浙江",), year=(2020, 2021))]


_ENGINES: dict[Path, Engine] = {}


@pytest.fixture(autouse=True)
def _close_engines():
    yield
    while _ENGINES:
        _ENGINES.popitem()[1].close()


def engine_for(index_dir: Path) -> Engine:
    """One engine per index, kept across runs: it must follow every change by itself."""
    if index_dir not in _ENGINES:
        _ENGINES[index_dir] = Engine(index_dir)
    return _ENGINES[index_dir]


def answers(index_dir: Path, words: list[str]) -> list:
    """What a user sees for a fixed set of queries, in an order that does not depend on scores."""
    return answers_of(engine_for(index_dir), words)


def answers_of(engine: Engine, words: list[str]) -> list:
    requests = ([SearchRequest(q=q, limit=100, sort="date") for q in FIXED_QUERIES]
                + [SearchRequest(filters=f, limit=100, sort="date") for f in FIXED_FILTERS]
                + [SearchRequest(q=f'"{w}"', limit=100, sort="date") for w in words])
    out = []
    for request in requests:
        result = engine.search(request)
        out.append((request.q, request.filters, result.total, [(h.doc_id, h.passage) for h in result.hits]))
    return out


def found(index_dir: Path, word: str) -> list[str]:
    return [h.doc_id for h in engine_for(index_dir).search(SearchRequest(q=f'"{word}"', limit=100)).hits]


def kill_at(trigger, args: list[str], rng: random.Random, deadline: float = 120) -> tuple[bool, float]:
    """Start `rcsearch index`, wait for `trigger()` to be true, SIGKILL it; (was it still running, seconds)."""
    since = time.time() - 0.01
    proc = subprocess.Popen([str(RCSEARCH), "index", *args, "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    try:
        delay = trigger(rng, since)
        while delay is None:
            if proc.poll() is not None or time.monotonic() - started > deadline:
                break
            time.sleep(0.002)
            delay = trigger(rng, since)
        if delay:
            time.sleep(delay)
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return running, time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _created_since(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except FileNotFoundError:
        return False


def at_start(rng, since):
    """While Python starts and loads the dictionaries, before the index is touched."""
    return rng.uniform(0.2, 1.5)


def writer_open(gen_dir):
    """Once this run's Whoosh writer is open (its temporary pool exists), plus a random delay
    short enough to land before its commit on a busy machine too (writing a few reports takes
    a second; a longer delay sometimes let the run finish first)."""
    def trigger(rng, since):
        target = gen_dir(since)
        return rng.uniform(0.0, 0.05) if target and _created_since(target / "MAIN.tmp", since) else None
    return trigger


def segment_written(gen_dir):
    """The moment this run's commit starts assembling its new segment file."""
    def trigger(rng, since):
        target = gen_dir(since)
        try:
            names = os.listdir(target) if target else []
        except FileNotFoundError:
            return None
        return 0.0 if any(n.endswith(".seg") and _created_since(target / n, since) for n in names) else None
    return trigger


def current_swapped(index_dir: Path, before: str):
    """The moment `current` points at the new generation (the old one is about to be deleted)."""
    def trigger(rng, since):
        return 0.0 if os.readlink(index_dir / CURRENT) != before else None
    return trigger


def new_generation(index_dir: Path):
    """The generation this run creates (not a half-built one left by an earlier kill)."""
    def find(since):
        fresh = [p for p in index_dir.glob("gen-*") if _created_since(p, since)]
        return fresh[0] if fresh else None
    return find


def test_killed_index_runs_leave_the_previous_index_intact_and_the_next_run_completes(tmp_path):
    rng = random.Random(os.environ.get("RCSEARCH_KILL_SEED", "5"))
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    base_words = write_reports(sources, "基", range(1))
    assert update_index([sources], index_dir).failed == []

    # A change large enough to take seconds: 15 new reports, one removed, one changed.
    new_words = write_reports(sources, "增", range(3))
    removed_id, removed_word = sorted(base_words.items())[0]
    changed_id, changed_word = sorted(base_words.items())[1]
    (sources / f"{removed_id}.txt").unlink()
    changed_text = (sources / f"{changed_id}.txt").read_text(encoding="utf-8")
    (sources / f"{changed_id}.txt").write_text(changed_text.replace(changed_word, "鸮改后的暗号"), encoding="utf-8")
    watch = list(base_words.values()) + list(new_words.values())[::4] + ["鸮改后的暗号"]
    before = answers(index_dir, watch)
    outcomes = []

    live = current_generation(index_dir)
    args = [str(sources), "--index", str(index_dir)]
    for name, trigger in [("incremental at start", at_start),
                          ("incremental while writing", writer_open(lambda since: live)),
                          ("incremental during commit", segment_written(lambda since: live))]:
        running, seconds = kill_at(trigger, args, rng)
        state = answers(index_dir, watch)
        assert current_generation(index_dir) == live
        committed = state != before
        if committed:  # the commit was complete when the kill landed: all of it is there
            assert found(index_dir, removed_word) == [] and found(index_dir, "鸮改后的暗号") == [changed_id]
            assert all(found(index_dir, w) == [d] for d, w in new_words.items())
        outcomes.append((name, round(seconds, 2), running, "new index" if committed else "previous index intact"))
        if committed:
            break
    # At least one kill after the writer had started left the previous index as it was.
    assert "previous index intact" in [o[3] for o in outcomes[1:]], outcomes

    completed = run_index(sources, index_dir)
    assert completed.returncode == 0, completed.stderr
    assert leftovers(index_dir) == []
    assert found(index_dir, removed_word) == [] and found(index_dir, changed_word) == []
    assert found(index_dir, "鸮改后的暗号") == [changed_id]
    assert all(found(index_dir, w) == [d] for d, w in new_words.items())

    # --rebuild, with five more reports so that the new generation differs from the live one.
    more_words = write_reports(sources, "重", range(1))
    watch += list(more_words.values())
    before = answers(index_dir, watch)
    for name in ("rebuild at start", "rebuild while writing", "rebuild during commit", "rebuild at the swap"):
        live = current_generation(index_dir)
        fresh = new_generation(index_dir)
        trigger = {"rebuild at start": at_start,
                   "rebuild while writing": writer_open(fresh),
                   "rebuild during commit": segment_written(fresh),
                   "rebuild at the swap": current_swapped(index_dir, os.readlink(index_dir / CURRENT))}[name]
        running, seconds = kill_at(trigger, args + ["--rebuild"], rng)
        state = answers(index_dir, watch)
        swapped = current_generation(index_dir) != live
        if swapped:  # the new generation was complete and is live
            assert all(found(index_dir, w) == [d] for d, w in more_words.items())
        else:
            assert state == before, name
        outcomes.append((name, round(seconds, 2), running, "new index" if swapped else "previous index intact"))
        before = state
    assert "previous index intact" in [o[3] for o in outcomes[-3:-1]], outcomes
    assert outcomes[-1][3] == "new index"  # killed after the swap, before the old generation was deleted

    completed = run_index(sources, index_dir, "--rebuild")
    assert completed.returncode == 0, completed.stderr
    assert leftovers(index_dir) == [] and len(list(index_dir.glob("gen-*"))) == 1
    assert all(found(index_dir, w) == [d] for d, w in {**new_words, **more_words}.items())
    assert found(index_dir, removed_word) == [] and found(index_dir, "鸮改后的暗号") == [changed_id]
    print("\nkill points (what, seconds after start, still running when killed, outcome):")
    for outcome in outcomes:
        print("  ", outcome)


def test_debris_of_killed_runs_is_cleaned_by_the_next_run(sources, tmp_path):
    index_dir = tmp_path / "index"
    assert update_index([sources], index_dir).failed == []
    expected = answers(index_dir, [])
    live = current_generation(index_dir)
    # What SIGKILL leaves at each point: a half-built generation, a temporary link,
    # and in the live generation a writer's pool, a segment and a half-written TOC.
    half_built = index_dir / "gen-20000101-000000-killed"
    half_built.mkdir()
    (half_built / "MAIN_deadbeef.trm").write_bytes(b"x" * 100)
    (index_dir / ".current-99999").symlink_to(half_built.name)
    (live / "MAIN.tmp").mkdir()
    (live / "MAIN.tmp" / "run.pool").write_bytes(b"x" * 100)
    (live / "MAIN_0123456789abcdef.pst").write_bytes(b"x" * 100)
    (live / "_MAIN_2.toc.1700000000.123").write_bytes(b"x")
    assert len(leftovers(index_dir)) == 5

    result = run_index(sources, index_dir)  # nothing changed in the sources
    assert result.returncode == 0, result.stderr
    assert "nothing to do" in result.stdout
    assert leftovers(index_dir) == []
    assert current_generation(index_dir) == live
    assert answers(index_dir, []) == expected


# `rcsearch index` killed (SIGKILL) at the commit of its new index version: just before, or
# just after, Whoosh writes the table of contents that makes the version visible.
KILLED_AT_COMMIT = """
import os, signal, sys
from whoosh import index as whoosh_index
from search.index import update_index

write = whoosh_index.TOC.write

def write_then_die(toc, storage, indexname):
    if sys.argv[3] == "after":
        write(toc, storage, indexname)
    os.kill(os.getpid(), signal.SIGKILL)

whoosh_index.TOC.write = write_then_die
update_index([sys.argv[1]], sys.argv[2], workers=1)
"""


def is_memory_mapped(engine: Engine) -> bool:
    """Whether the engine's view of the live version reads prepared columns (what the
    indexer prepares: a server at 10^6 passages starts in a second, not in minutes)."""
    return isinstance(engine.view()[1].columns.doc_ids, np.memmap)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_run_killed_at_its_commit_leaves_no_version_unprepared(tmp_path, when):
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    base_words = write_reports(sources, "基", range(1))
    assert update_index([sources], index_dir).failed == []
    new_words = write_reports(sources, "增", range(1))
    with Engine(index_dir) as server:
        assert is_memory_mapped(server)
        killed = subprocess.run([sys.executable, "-c", KILLED_AT_COMMIT, str(sources), str(index_dir), when],
                                capture_output=True, text=True, timeout=300)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        committed = when == "after"
        assert {w: found(index_dir, w) for w in new_words.values()} == \
            {w: [d] if committed else [] for d, w in new_words.items()}
        assert is_memory_mapped(server)  # whichever version is live, it is prepared
        completed = run_index(sources, index_dir)
        assert completed.returncode == 0, completed.stderr
        assert ("nothing to do" in completed.stdout) == committed and completed.stderr == ""
        assert leftovers(index_dir) == []
        assert_prepared_as_computed(index_dir)
        assert is_memory_mapped(server)
        hits = {w: [h.doc_id for h in server.search(SearchRequest(q=f'"{w}"')).hits]
                for w in [*base_words.values(), *new_words.values()]}
        assert hits == {w: [d] for d, w in {**base_words, **new_words}.items()}


def test_a_version_committed_without_prepared_columns_is_prepared_by_the_next_run_and_picked_up(sources, tmp_path):
    """What an rcsearch that prepared columns after committing left when killed in between (and
    what columns written by another rcsearch amount to): the next run, with nothing else to
    do, prepares them; a server already answering from that version takes them up."""
    index_dir = tmp_path / "index"
    assert update_index([sources], index_dir).failed == []
    live = current_generation(index_dir)
    version = FileStorage(str(live)).open_index().latest_generation()
    for unprepared in ("missing", "another format"):
        if unprepared == "missing":
            shutil.rmtree(live / f"columns-{version}")
            (live / f"reports-{version}.marshal").unlink()
        else:
            (live / f"columns-{version}" / "format").write_text("0123456789abcdef", encoding="ascii")
        with Engine(index_dir) as server:
            before = answers_of(server, ["魔豆妈妈"])  # from the columns it read through Whoosh
            assert not is_memory_mapped(server)
            completed = run_index(sources, index_dir)
            assert completed.returncode == 0, completed.stderr
            assert "nothing to do" in completed.stdout
            assert "prepared columns were missing or written by another rcsearch" in completed.stderr
            assert_prepared_as_computed(index_dir)
            assert is_memory_mapped(server) and answers_of(server, ["魔豆妈妈"]) == before
        assert run_index(sources, index_dir).stderr == ""  # prepared once: the next run has nothing to do


def test_a_second_indexer_waits_for_the_first(sources, tmp_path):
    index_dir = tmp_path / "index"
    assert update_index([sources], index_dir).failed == []
    (sources / "late.txt").write_text("浙江省红十字会开展鸮等待测试活动。\n", encoding="utf-8")
    with IndexLock(index_dir):
        proc = subprocess.Popen([str(RCSEARCH), "index", str(sources), "--index", str(index_dir), "--workers", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            line = ""
            while "waiting for another" not in line and time.monotonic() < deadline and proc.poll() is None:
                line = proc.stderr.readline()
            assert "waiting for another `rcsearch index`" in line
            time.sleep(0.5)
            assert proc.poll() is None  # still waiting: it has not touched the index
            assert found(index_dir, "鸮等待测试") == []
        except BaseException:
            proc.kill()
            raise
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "1 added" in out and found(index_dir, "鸮等待测试") == ["late"]


# -- 3. read-only serving ----------------------------------------------------------------------------

def snapshot(folder: Path) -> dict:
    """Every entry under a folder with its type, size, mode and modification time."""
    entries = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames + ["."]:
            path = Path(dirpath) / name
            st = path.lstat()
            entries[str(path.relative_to(folder))] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mode, st.st_mtime_ns)
    return entries


READ_PATHS = ["/healthz", "/api/search?q=造血干细胞", "/api/search?q=红十字&page=2&sort=date", "/api/search?city=东阳",
              "/api/suggest?q=造血", "/api/documents/001_77d36a74d18f4973", "/?q=博爱送万家", "/?topic=无偿献血",
              "/doc/001_77d36a74d18f4973?q=魔豆妈妈", "/overview", "/openapi.json", "/api/search?q=" + "字" * 501]


def make_read_only(folder: Path):
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
    folder.chmod(folder.stat().st_mode & ~0o222)


def make_writable(folder: Path):
    folder.chmod(folder.stat().st_mode | 0o200)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)


def serve_read_only_and_check(index_dir: Path, log: Path, user: int | None = None):
    make_read_only(index_dir)
    before = snapshot(index_dir)
    try:
        with Server(index_dir, log, user=user, cwd=log.parent) as server:
            for path in READ_PATHS * 3:
                status, body, kind = get(server.url + urllib.parse.quote(path, safe="/?&=:"))
                assert status == (400 if "字" * 501 in path else 200), (path, status, server.output()[-3000:])
            assert server.search("造血干细胞")["total"] > 0
            output = server.output()
        assert "Exception on" not in output and "ReadOnlyError" not in output and "PermissionError: [Errno 13]" not in output
        assert snapshot(index_dir) == before  # nothing created, removed, renamed, touched or chmod-ed
    finally:
        make_writable(index_dir)


def test_serving_never_writes_to_the_index_directory(sources, tmp_path):
    """As any user: the whole index read-only, no file created or changed by serving.

    As root, chmod does not stop writes, so the snapshot comparison is what proves it;
    as another user the read-only permissions would also make any write attempt fail.
    The source folder is gone while serving: the index alone answers.
    """
    index_dir = tmp_path / "index"
    assert update_index([sources], index_dir).failed == []
    shutil.rmtree(sources)
    serve_read_only_and_check(index_dir, tmp_path / "serve.log")




@pytest.mark.skipif(os.geteuid() != 0, reason="not root: the test above is already a real read-only check")
def test_serving_a_read_only_index_as_an_unprivileged_user():
    """As root, chmod -R a-w does not stop root: drop to `nobody` in a forked child and serve from there.

    (A child process, not `rcsearch serve` as another user: the interpreter may live
    where `nobody` cannot read it. Everything is imported before privileges are dropped.)
    """
    folder = Path(tempfile.mkdtemp(prefix="rcsearch-ro-"))
    try:
        folder.chmod(0o755)
        index_dir = folder / "index"
        assert update_index([SEEDS], index_dir).failed == []  # built by root, readable by all
        make_read_only(index_dir)
        before = snapshot(index_dir)
        warm = create_app({"TESTING": True, "INDEX_DIR": str(index_dir)}).test_client()
        assert [warm.get(path).status_code for path in READ_PATHS][:2] == [200, 200]
        def serve_as_nobody() -> dict:
            try:
                (index_dir / "probe").write_bytes(b"")
                denied = False
            except PermissionError:
                denied = True
            client = create_app({"TESTING": True, "INDEX_DIR": str(index_dir)}).test_client()
            statuses = [client.get(path).status_code for path in READ_PATHS * 2]
            total = client.get("/api/search?q=造血干细胞").get_json()["total"]
            return {"denied": denied, "statuses": statuses, "total": total, "uid": os.getuid()}

        report = as_nobody(serve_as_nobody)
        assert report["uid"] == NOBODY and report["denied"]  # writes really are refused
        assert report["statuses"] == [400 if "字" * 501 in p else 200 for p in READ_PATHS * 2]
        assert report["total"] > 0
        assert snapshot(index_dir) == before
    finally:
        make_writable(folder / "index") if (folder / "index").exists() else None
        shutil.rmtree(folder, ignore_errors=True)


_WRITES: list | None = None
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
CHANGING_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate",
                   "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move"}


def _audit_writes(event, args):
    if _WRITES is None:
        return
    if event == "open":
        path, mode, flags = (list(args) + [None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                  (isinstance(flags, int) and flags & WRITE_FLAGS)
        if writing and isinstance(path, (str, bytes, os.PathLike)):
            _WRITES.append((event, os.fsdecode(path)))
    elif event in CHANGING_EVENTS:
        _WRITES.append((event, args))
    elif event == "mmap.__new__" and len(args) > 2 and args[2] not in (1,):  # 1 = ACCESS_READ
        _WRITES.append((event, args))


sys.addaudithook(_audit_writes)


def test_serving_opens_no_index_file_for_writing(seed_index):
    """Python's audit events of everything a batch of requests does: no write-mode open, no
    file created, renamed, removed or chmod-ed, no writable memory map, anywhere."""
    global _WRITES
    client = create_app({"TESTING": True, "INDEX_DIR": str(seed_index)}).test_client()
    _WRITES = []
    try:
        statuses = [client.get(path).status_code for path in READ_PATHS * 2]
        writes = list(_WRITES)
    finally:
        _WRITES = None
    assert statuses == [400 if "字" * 501 in p else 200 for p in READ_PATHS * 2]
    assert writes == []


def test_the_write_audit_sees_writes():
    """The audit above is not blind: an index run in this process shows up."""
    global _WRITES
    folder = Path(tempfile.mkdtemp())
    _WRITES = []
    try:
        update_index([SEEDS / "000_ce03444764b2e6d0.txt"], folder / "index")
        writes = list(_WRITES)
    finally:
        _WRITES = None
        shutil.rmtree(folder)
    assert any(event == "open" and str(folder) in path for event, path in writes if isinstance(path, str))
    assert any(event == "os.mkdir" for event, _ in writes)


def test_readers_survive_their_generation_being_swapped_out_and_deleted(sources, tmp_path):
    """The moments a server thread can be caught in by a --rebuild in another process:
    it resolved `current` just before the swap, and the old generation is deleted
    before it opens (or checks) it. It must then read the new generation, not fail."""
    index_dir = tmp_path / "index"
    assert update_index([sources], index_dir).failed == []
    old = current_generation(index_dir)
    from search.index import open_index
    opened_before_swap = open_index(index_dir)
    with open_index(index_dir).searcher() as searching_before_swap:
        (sources / "late.txt").write_text("浙江省红十字会开展鸮换代测试活动。\n", encoding="utf-8")
        assert update_index([sources], index_dir, rebuild=True).failed == []
        assert not old.exists() and current_generation(index_dir) != old
        assert not searching_before_swap.up_to_date()  # so the engine reopens it, instead of an error
        with opened_before_swap.searcher() as reopened:
            assert reopened.document(key="late", kind="doc") is not None  # it reads the new generation
    assert found(index_dir, "鸮换代测试") == ["late"]


def _children(pid: int) -> list[int]:
    kids = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            kids.append(int(stat_file.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (whoever adopted it may not reap it)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker processes")
def test_a_killed_run_with_worker_processes_leaves_no_workers_and_no_lock(sources, tmp_path):
    index_dir = tmp_path / "index"
    assert update_index([sources], index_dir).failed == []
    words = write_reports(sources, "工", range(2))
    proc = subprocess.Popen([str(RCSEARCH), "index", str(sources), "--index", str(index_dir), "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert len(workers) >= 2, "the run never started its worker processes"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = [w for w in workers if _alive(w)]
    for orphan in orphans:  # do not leave them behind when this fails
        os.kill(orphan, signal.SIGKILL)
    assert orphans == [], "orphaned worker processes"
    completed = run_index(sources, index_dir, timeout=120)  # would wait forever on a lock an orphan holds
    assert completed.returncode == 0, completed.stderr
    assert "waiting for another" not in completed.stderr
    assert all(found(index_dir, w) == [d] for d, w in words.items())
    assert leftovers(index_dir) == []
