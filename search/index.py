"""Index: one Whoosh document per passage, plus one record per report, updated incrementally.

The index directory holds generations (``gen-*``) and a ``current`` symlink
naming the live one. Incremental runs commit into the live generation (a
Whoosh commit is atomic); ``--rebuild`` builds a new generation aside and
swaps the symlink, so readers never see a half-built index.

Crash safety: one indexer at a time holds ``.lock`` (an flock, released by the
kernel when the process dies, so a killed run never leaves a stale lock), and
each run first removes what a killed run left behind: half-built generations,
temporary symlinks and unreferenced segment files in the live generation.
Readers never write to the index directory; they survive a generation being
swapped and deleted under them (see ``_LiveIndex``).
"""
from __future__ import annotations

import bisect
import ctypes
import errno
import fcntl
import functools
import marshal
import os
import re
import shutil
import signal
import stat
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Frequency
from whoosh.system import pack_uint
from whoosh.writing import PostingPool
from whoosh.filedb.filestore import FileStorage
from whoosh.multiproc import MpWriter, SubWriterTask

from search import analysis, enrich
from search.ingest import (SUPPORTED_SUFFIXES, Document, IngestError, content_hash, document_from_stored,
                           read_document, read_source_bytes)

CURRENT = "current"
LOCK_FILE = ".lock"
WHOOSH_INDEX_NAME = "MAIN"
# What a killed Whoosh writer leaves in a generation: its temporary posting
# pool and a half-written table of contents.
WRITER_DEBRIS = re.compile(rf"^({WHOOSH_INDEX_NAME}\.tmp|_{WHOOSH_INDEX_NAME}_\d+\.toc\.[\d.]+)$")
# Postings Whoosh sorts in memory before spilling sorted runs to disk (and pickling them).
POOL_MB = 256
# Fewer changed files than this are written by one process: starting writer processes
# (each loads jieba) would cost more than it saves.
PARALLEL_MIN_FILES = 20
# Heading and title-line passages are short, so BM25 would rank them above the
# paragraphs that actually report something; damp them.
SHORT_PASSAGE_BOOST = 0.5
TOPICS_FILE = analysis.DATA_DIR / "topics.toml"


class SegmentedText(TEXT):
    """A TEXT field (frequencies, no positions) over a SegmentTokenizer that indexes its
    segments directly: the terms and weights Whoosh's token-by-token path would give, for
    a fraction of the Python calls (half a dozen per term otherwise)."""

    def __init__(self, analyzer: analysis.SegmentTokenizer, **kwargs):
        super().__init__(analyzer=analyzer, phrase=False, **kwargs)
        assert isinstance(self.format, Frequency)

    def index(self, value, **kwargs):
        boost = self.format.field_boost
        counts = Counter(text for text, _, _ in self.analyzer.segments(value))
        return [(text.encode("utf-8"), n, n * boost, pack_uint(n)) for text, n in counts.items()]


def _shown_and_counted(field):
    """A field only shown (stored) and counted (a column for facets and sorting), never
    searched by value: no postings. Filters search `areas` and `topics` instead."""
    field.indexed = False
    return field


def build_schema() -> Schema:
    """The index schema: passages (kind=passage), report records (kind=doc: the source, and
    the title every passage of the report shares) and section records (kind=section: a
    heading the passages under it share)."""
    words = analysis.word_analyzer()
    grams = analysis.bigram_analyzer()
    return Schema(
        key=ID(unique=True, stored=True),
        kind=ID(stored=True),
        doc_id=ID(stored=True, sortable=True),
        passage=_shown_and_counted(NUMERIC(stored=True, sortable=True)),
        role=STORED,
        # Shown with each passage; searched on the report and section records.
        title=STORED,
        heading=STORED,
        # No positions anywhere: the bigrams find candidates, the compact column confirms them.
        text=SegmentedText(words, stored=True),
        grams=SegmentedText(grams),
        title_words=SegmentedText(words, field_boost=1.5),
        title_grams=SegmentedText(grams),
        heading_words=SegmentedText(words, field_boost=2.0),
        heading_grams=SegmentedText(grams),
        compact=COLUMN(VarBytesColumn()),
        section=COLUMN(VarBytesColumn()),  # a passage's section key, on the passage and on the section
        province=_shown_and_counted(ID(stored=True, sortable=True)),
        city=_shown_and_counted(ID(stored=True, sortable=True)),
        county=_shown_and_counted(ID(stored=True, sortable=True)),
        areas=KEYWORD(commas=True),
        places=STORED,
        topics=KEYWORD(stored=True, commas=True),
        topic_set=_shown_and_counted(ID(sortable=True)),
        year=_shown_and_counted(NUMERIC(stored=True, sortable=True)),
        source=STORED,
        format=STORED,
        date=STORED,
        hash=STORED,
        indexed_at=STORED,
    )


class OutdatedIndexError(FileNotFoundError):
    """The index was built by an older rcsearch, with other fields; `rcsearch index` rebuilds it."""


def has_current_schema(ix) -> bool:
    """Whether an index was built with this version's fields and analyzers."""
    return _schema_signature(ix.schema) == _schema_signature(build_schema())


def _schema_signature(schema: Schema) -> list[tuple]:
    # Whoosh column objects do not compare equal to themselves: compare their types.
    return [(name, type(f).__name__, type(getattr(f, "format", None)).__name__,
             type(f.column_type).__name__, getattr(f, "analyzer", None)) for name, f in schema.items()]


@dataclass
class Summary:
    """What one `rcsearch index` run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    rebuilt_outdated: bool = False  # the index was built by an older rcsearch: everything was reindexed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
                f"{len(self.unchanged)} unchanged, {len(self.failed)} failed")


@dataclass(frozen=True)
class SourceFile:
    doc_id: str
    path: Path


def source_files(sources: Iterable[Path], summary: Summary) -> list[SourceFile]:
    """Report files under the source folders (or given directly); unusable names go to summary.failed."""
    seen: dict[str, Path] = {}
    for source in sources:
        if source.is_file():
            paths = [source]
        elif source.is_dir():
            paths = sorted(p for p in source.rglob("*") if not p.is_dir() and not p.name.startswith("."))
        else:
            summary.failed.append((str(source), "no such file or folder"))
            continue
        for path in paths:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                if path.name.lower() != "readme" and path.is_file():
                    summary.failed.append((path.name, "unsupported file type (use .txt or .md)"))
            elif path.stem in seen:
                summary.failed.append((path.name, f"same document id as {seen[path.stem].name}"))
            else:
                seen[path.stem] = path
    return [SourceFile(doc_id, path) for doc_id, path in seen.items()]


def _not_a_file_reason(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return f"broken symbolic link (points to {os.readlink(path)}, which does not exist)"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return f"cannot read file ({exc.strerror or exc})"
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device or special file"
    return f"not a regular file ({kind})"


def passage_records(doc: Document, gazetteer: enrich.Gazetteer, topics: enrich.TopicRules) -> list[dict]:
    """Whoosh field values of a report's passages, enriched with region, places, topics and year."""
    year = enrich.report_year(doc.title + "\n" + "\n".join(doc.lead_lines), doc.source)
    if year is None and doc.date:
        year = int(doc.date[:4])
    # The whole report decides its own region: an opening part may not name the place at all.
    main_region = enrich.detect_region("\n".join(doc.lead_lines or (doc.title,)),
                                       [p.text for p in doc.passages], gazetteer)
    regions = [main_region]
    for number, article in enumerate(doc.articles[1:], start=1):
        paragraphs = [p.text for p in doc.passages if p.article == number]
        regions.append(enrich.detect_region("\n".join(article.heading_lines), paragraphs, gazetteer,
                                            default=main_region))
    records = []
    for passage, section in zip(doc.passages, _section_keys(doc)):
        region = regions[passage.article]
        passage_topics = topics.topics_for(passage.heading + "\n" + passage.text)
        records.append(dict(
            kind="passage", doc_id=doc.doc_id,
            passage=passage.number, role=passage.role, title=doc.title, heading=passage.heading, text=passage.text,
            grams=passage.text, compact=compact_value(passage.text), section=section.encode("utf-8"),
            province=region.province or "", city=region.city or "", county=region.county or "",
            areas=",".join(region.codes()), places=",".join(enrich.mentioned_places(passage.text, gazetteer)),
            topics=",".join(passage_topics), topic_set=",".join(passage_topics),
            year=year if year is not None else 0,
            _boost=1.0 if passage.role == "paragraph" else SHORT_PASSAGE_BOOST,
        ))
    return records


def _section_keys(doc: Document) -> list[str]:
    """Each passage's section: a new one wherever the heading (or the sub-article) changes."""
    keys, last = [], None
    for passage in doc.passages:
        if (passage.article, passage.heading) != last:
            last = (passage.article, passage.heading)
            keys.append(f"{doc.doc_id}@{passage.number}")
        else:
            keys.append(keys[-1])
    return keys


def section_records(doc: Document) -> list[dict]:
    """One record per section under a heading: the heading its passages share, indexed once
    rather than with every passage."""
    records = {}
    for passage, key in zip(doc.passages, _section_keys(doc)):
        if passage.heading:
            records.setdefault(key, dict(
                kind="section", doc_id=doc.doc_id, section=key.encode("utf-8"), heading_words=passage.heading,
                heading_grams=passage.heading, compact=compact_value(passage.heading)))
    return list(records.values())


def compact_value(text: str) -> bytes:
    """The compact column: the text searched (a passage's, a title, a heading), normalized,
    without white space."""
    return analysis.compact(text).encode("utf-8")


def doc_record(doc: Document, records: list[dict]) -> dict:
    """The report record: its source text, so the index alone can show the document."""
    first = records[0]
    return dict(key=doc.doc_id, kind="doc", doc_id=doc.doc_id, title=doc.title, title_words=doc.title,
                title_grams=doc.title, compact=compact_value(doc.title), source=doc.source,
                format=doc.format, hash=doc.content_hash, date=doc.date, indexed_at=time.time(),
                province=first["province"], city=first["city"], county=first["county"], year=first["year"])


def analyse_file(path: Path) -> tuple[Document, list[dict]]:
    """Read, structure and enrich one file (runs in a worker process)."""
    doc = read_document(path)
    return doc, passage_records(doc, *_enrichment())


def _enrichment() -> tuple[enrich.Gazetteer, enrich.TopicRules]:
    """The gazetteer and the topic rules, read once per process (again if topics.toml changes)."""
    return enrich.Gazetteer.load(), _topic_rules(TOPICS_FILE, TOPICS_FILE.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _topic_rules(path: Path, mtime_ns: int) -> enrich.TopicRules:
    return enrich.TopicRules.load(path)


# A reader racing a rebuild may resolve `current` just before the swap and find
# the old generation deleted a moment later; it then re-resolves the link.
READ_RETRIES = 5


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index has been built."""
    link = Path(index_dir) / CURRENT
    for _ in range(READ_RETRIES):
        if not link.is_symlink() and not link.is_dir():
            return None
        target = link.resolve()
        try:
            if whoosh_index.exists_in(str(target)):
                return target
        except OSError:  # deleted while we looked: a rebuild has just swapped it out
            pass
        if link.resolve() == target:
            return None
    return None


class _LiveIndex(whoosh_index.FileIndex):
    """A generation opened for reading that follows `current` when its folder is deleted.

    A searcher over a deleted generation reports itself out of date (so it is
    reopened), and opening a reader re-resolves `current` when the files it
    wanted are gone; nothing here ever writes to the index directory.
    """

    index_dir: Path

    def latest_generation(self):
        try:
            return super().latest_generation()
        except OSError:
            return -2  # never a reader's generation: the searcher is reopened

    def reader(self, reuse=None):
        for attempt in range(READ_RETRIES):
            try:
                return super().reader(reuse=reuse)
            except (OSError, whoosh_index.EmptyIndexError) as exc:
                if getattr(exc, "errno", None) not in (errno.ENOENT, None) or attempt == READ_RETRIES - 1:
                    raise
                generation = current_generation(self.index_dir)
                if generation is None:
                    raise
                self.storage = FileStorage(str(generation), readonly=True)
                reuse = None


def open_index(index_dir: Path, readonly: bool = True):
    """Open the live generation; raises FileNotFoundError when there is none."""
    for attempt in range(READ_RETRIES):
        generation = current_generation(index_dir)
        if generation is None:
            raise FileNotFoundError(f"no index in {index_dir}; run `rcsearch index` first")
        storage = FileStorage(str(generation), readonly=readonly)
        try:
            if not readonly:
                return storage.open_index()
            ix = storage.open_index(indexclass=_LiveIndex)
        except (OSError, whoosh_index.EmptyIndexError):
            if attempt == READ_RETRIES - 1:
                raise
            continue
        if not has_current_schema(ix):
            raise OutdatedIndexError(f"the index in {index_dir} was built by an older rcsearch; "
                                     "run `rcsearch index` to rebuild it")
        ix.index_dir = Path(index_dir)
        return ix
    raise FileNotFoundError(f"no index in {index_dir}")


def _new_generation(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"gen-{time.strftime('%Y%m%d-%H%M%S')}-", dir=index_dir))
    path.chmod(0o755)  # readable by server processes running as other users
    whoosh_index.create_in(str(path), build_schema())
    return path


def _point_current_at(index_dir: Path, generation: Path) -> None:
    temp = index_dir / f".{CURRENT}-{os.getpid()}"
    if temp.is_symlink():
        temp.unlink()
    temp.symlink_to(generation.name)
    os.replace(temp, index_dir / CURRENT)


def _remove_stale_generations(index_dir: Path, keep: Path | None) -> None:
    """Delete generations other than the live one (left by earlier rebuilds or killed runs)."""
    for path in index_dir.glob("gen-*"):
        if keep is None or path.resolve() != keep.resolve():
            shutil.rmtree(path, ignore_errors=True)


class IndexLock:
    """Exclusive lock on an index directory for one indexing run.

    An flock on ``.lock``: the kernel releases it when the holder exits or is
    killed, so there is never a stale lock to remove by hand.
    """

    def __init__(self, index_dir: Path, on_wait: Callable[[], None] = lambda: None):
        self.path = Path(index_dir) / LOCK_FILE
        self.on_wait = on_wait
        self.fd: int | None = None

    def __enter__(self) -> "IndexLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.on_wait()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # closing releases the flock
        self.fd = None


def recover(index_dir: Path) -> None:
    """Remove what a killed run left behind; call while holding the IndexLock.

    Generations other than the live one (half-built by a killed --rebuild, or
    superseded but not yet deleted), temporary `current` symlinks, and in the
    live generation a killed writer's temporary pool, half-written table of
    contents and segment files no table of contents refers to.
    """
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        return
    for temp in index_dir.glob(f".{CURRENT}-*"):
        if temp.is_symlink():
            temp.unlink()
    live = current_generation(index_dir)
    if live is None:
        return  # nothing known to be good to keep; the run that builds one removes the rest
    _remove_stale_generations(index_dir, live)
    storage = FileStorage(str(live))
    for name in os.listdir(live):
        if WRITER_DEBRIS.match(name):
            path = live / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    toc = whoosh_index.TOC.read(storage, WHOOSH_INDEX_NAME)
    whoosh_index.clean_files(storage, WHOOSH_INDEX_NAME, toc.generation, toc.segments)


def _indexed_hashes(ix) -> dict[str, str]:
    with ix.searcher() as searcher:
        return {fields["doc_id"]: fields["hash"]
                for fields in searcher.documents(kind="doc")}


def update_index(sources: list[Path], index_dir: Path, rebuild: bool = False, workers: int = 1,
                 progress: Callable[[Iterable, int], Iterable] = lambda items, total: items,
                 on_wait: Callable[[], None] = lambda: None) -> Summary:
    """Bring the index in line with the source files: new, changed and removed files only.

    A file that fails keeps its previously indexed version, also across --rebuild.
    One run at a time per index directory (`on_wait` is called when another holds it);
    what a killed run left behind is removed first.
    """
    index_dir = Path(index_dir)
    with IndexLock(index_dir, on_wait) as lock:
        recover(index_dir)
        return _update_locked(sources, index_dir, rebuild, workers, progress, lock)


def _update_locked(sources: list[Path], index_dir: Path, rebuild: bool, workers: int, progress,
                   lock: IndexLock) -> Summary:
    summary = Summary()
    files = source_files(sources, summary)
    previous = current_generation(index_dir)
    if previous and not rebuild and not has_current_schema(FileStorage(str(previous)).open_index()):
        rebuild = summary.rebuilt_outdated = True
    if previous and not rebuild:
        ix = FileStorage(str(previous)).open_index()
        indexed = _indexed_hashes(ix)
        todo = _changed_files(files, indexed, summary)
        if not todo and not set(indexed) - {source.doc_id for source in files}:
            return summary  # nothing to write: not even a writer is opened
        generation = previous
    else:
        generation = _new_generation(index_dir)
        ix = FileStorage(str(generation)).open_index()
        indexed = {}
        todo = _changed_files(files, indexed, summary)
    parallel = workers > 1 and len(todo) >= PARALLEL_MIN_FILES
    writer = _writer(ix, workers if parallel else 1, lock.fd)
    try:
        # With a parallel writer its processes do the expensive part (jieba, postings);
        # reading and enriching files stays here rather than competing for the same cores.
        analysis_workers = 1 if parallel else workers
        for source, outcome in progress(_analyse_all(todo, analysis_workers, lock.fd), len(todo)):
            if isinstance(outcome, IngestError):
                summary.failed.append((source.path.name, str(outcome).split(": ", 1)[-1]))
                continue
            (summary.updated if source.doc_id in indexed else summary.added).append(source.doc_id)
            _replace_document(writer, *outcome)
        for doc_id in sorted(set(indexed) - {source.doc_id for source in files}):
            writer.delete_by_term("doc_id", doc_id)
            summary.removed.append(doc_id)
        if rebuild and previous:
            _carry_over_failed(writer, previous, files, summary)
        if summary.changed or rebuild:
            # Merging the parallel writer's segments would redo serially what it did in parallel.
            writer.commit(optimize=rebuild and not parallel)
        else:
            writer.cancel()
    except BaseException:
        writer.cancel()
        if generation != previous:
            shutil.rmtree(generation, ignore_errors=True)
        raise
    if generation != previous:
        _point_current_at(index_dir, generation)
        _remove_stale_generations(index_dir, generation)
    return summary


def _writer(ix, workers: int, lock_fd: int | None):
    """A Whoosh writer; with several workers, one whose processes analyse and write a
    segment each (kept as separate segments: merging them would be serial again)."""
    # Compound segment files are copied whole into memory by every reader (Whoosh's
    # BufferFile wraps them in BytesIO): a server would hold the index once per thread.
    options = dict(limitmb=POOL_MB, compound=False, codec=Codec())
    if workers > 1:
        return _ParallelWriter(ix, procs=workers, multisegment=True, lock_fd=lock_fd, **options)
    return _with_chunked_pool(ix.writer(**options))


class _ChunkedPool(PostingPool):
    """Whoosh's posting pool, handling postings a chunk at a time where it handled them one
    by one: a build too big to sort in memory spent a third of its time pickling each
    posting to a run, unpickling it and merging the runs through a Python heap."""

    CHUNK = 8192

    def add(self, item):
        # A posting costs ~170 bytes and its term twice (Whoosh's own estimate, in one step).
        self.fieldnames.add(item[0])
        self.current.append(item)
        self.currentsize += 170 + 2 * len(item[1])
        if self.currentsize > self.limit:
            self.save()

    def _write_run(self, f, items):
        chunk = []
        for item in items:
            chunk.append(item)
            if len(chunk) == self.CHUNK:
                marshal.dump(chunk, f)
                chunk = []
        if chunk:
            marshal.dump(chunk, f)
        f.close()

    def _read_chunks(self, path):
        f = self._open_run(path)
        try:
            while True:
                try:
                    yield marshal.load(f)
                except EOFError:
                    return
        finally:
            f.close()
            self._remove_run(path)

    def _read_run(self, path):
        for chunk in self._read_chunks(path):
            yield from chunk

    def _merge_runs(self, paths):
        # Whatever the buffers hold up to the smallest of their last postings comes before
        # anything still on disk: sort that (timsort merges the sorted pieces, in C) and
        # yield it, then refill the buffers that ran dry.
        chunks = [self._read_chunks(path) for path in paths]
        buffers = [next(c, []) for c in chunks]
        while any(buffers):
            bound = min(b[-1] for b in buffers if b)
            ready = []
            for i, buffer in enumerate(buffers):
                cut = bisect.bisect_right(buffer, bound)
                ready.extend(buffer[:cut])
                buffers[i] = buffer[cut:] or next(chunks[i], [])
            ready.sort()
            yield from ready


def _with_chunked_pool(writer):
    """The writer, its posting pool (still empty) replaced by a _ChunkedPool."""
    if not isinstance(writer.pool, _ChunkedPool):
        writer.pool = _ChunkedPool(writer._tempstorage, writer.newsegment, limitmb=writer.pool.limit // 2**20)
    return writer


class Codec(W3Codec):
    """Whoosh's codec, with postings laid out for reading whole lists into arrays
    (search/postings.py) rather than skipping through them: bigger blocks, and no
    per-block length bounds (they serve only Whoosh's block-max skipping and cost a
    field-length lookup per posting at commit)."""

    length_stats = False

    def __init__(self, blocklimit: int = 512, compression: int = 3, inlinelimit: int = 1):
        super().__init__(blocklimit, compression, inlinelimit)


class _SubWriter(SubWriterTask):
    """A writer process that, like the analysis workers, dies with the indexer and lets go of its lock."""

    def __init__(self, *args, parent: int, lock_fd: int | None):
        super().__init__(*args)
        self.parent, self.lock_fd = parent, lock_fd

    def run(self):
        _worker_init(self.parent, self.lock_fd)
        super().run()

    def _process_file(self, filename, doc_count):
        _with_chunked_pool(self.writer)
        super()._process_file(filename, doc_count)


class _ParallelWriter(MpWriter):
    def __init__(self, ix, lock_fd: int | None, **kwargs):
        super().__init__(ix, **kwargs)
        self.lock_fd = lock_fd

    def _new_task(self):
        task = _SubWriter(self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs,
                          self.multisegment, parent=os.getpid(), lock_fd=self.lock_fd)
        self.tasks.append(task)
        task.start()
        return task


def _changed_files(files: list[SourceFile], indexed: dict[str, str], summary: Summary) -> list[SourceFile]:
    """Files whose content hash differs from the indexed one; unreadable files go to summary.failed."""
    todo = []
    for source in files:
        if not source.path.is_file():
            # Never opened (reading a FIFO would block the run forever); like any file
            # that cannot be read, its previously indexed version stays.
            summary.failed.append((source.path.name, _not_a_file_reason(source.path)))
            continue
        try:
            digest = content_hash(read_source_bytes(source.path))
        except IngestError as exc:
            summary.failed.append((source.path.name, str(exc).split(": ", 1)[-1]))
            continue
        if indexed.get(source.doc_id) == digest:
            summary.unchanged.append(source.doc_id)
        else:
            todo.append(source)
    return todo


def _replace_document(writer, doc: Document, records: list[dict]) -> None:
    writer.delete_by_term("doc_id", doc.doc_id)
    for record in records + section_records(doc):
        writer.add_document(**record)
    writer.add_document(**doc_record(doc, records))


def _carry_over_failed(writer, previous: Path, files: list[SourceFile], summary: Summary) -> None:
    """Re-add, from the text stored in the previous generation, the reports whose files failed now."""
    failed = {name for name, _ in summary.failed}
    with FileStorage(str(previous), readonly=True).open_index().searcher() as searcher:
        for source in files:
            stored = searcher.document(key=source.doc_id, kind="doc") if source.path.name in failed else None
            if stored:
                doc = document_from_stored(source.doc_id, stored["source"], stored["format"], stored["hash"],
                                           stored.get("date"))
                _replace_document(writer, doc, passage_records(doc, *_enrichment()))


def _analyse_all(todo: list[SourceFile], workers: int, lock_fd: int | None = None):
    """(source, (doc, records) or IngestError) for each file, in order, using `workers` processes."""
    if workers <= 1 or len(todo) < 2:
        for source in todo:
            yield source, _analyse_or_error(source.path)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                             initargs=(os.getpid(), lock_fd)) as pool:
        yield from zip(todo, pool.map(_analyse_or_error, [s.path for s in todo], chunksize=4))


PR_SET_PDEATHSIG = 1


def _worker_init(parent: int, lock_fd: int | None) -> None:
    """Set up a pool worker so that a killed indexer leaves nothing behind.

    A forked worker shares the indexer's lock: it lets go of it, or an orphan would
    hold the index locked. And it dies with the indexer (Linux parent-death
    signal), or a SIGKILL-ed run would leave its workers waiting forever.
    """
    if lock_fd is not None:
        try:
            os.close(lock_fd)
        except OSError:
            pass
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the orphan still exits when its queue closes
        pass
    if os.getppid() != parent:  # the indexer died before the signal was armed
        os._exit(1)


def _analyse_or_error(path: Path):
    try:
        return analyse_file(path)
    except IngestError as exc:
        return exc
