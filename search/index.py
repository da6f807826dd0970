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
swapped and deleted under them (see ``whoosh_internals.LiveIndex``).
"""
from __future__ import annotations

import ctypes
import fcntl
import functools
import hashlib
import marshal
import os
import re
import shutil
import signal
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh import index as whoosh_index
from whoosh.columns import VarBytesColumn
from whoosh.fields import COLUMN, ID, NUMERIC, STORED, Schema
from whoosh.filedb.filestore import FileStorage

from search import analysis, columns, enrich, facets, figures, ranking, topics, whoosh_internals
from search.sources import SourceFile, check_sources, not_a_file_reason, source_files
from search.ingest import Document, IngestError, content_hash, document_from_stored, read_document, read_source_bytes

CURRENT = "current"
LOCK_FILE = ".lock"
WHOOSH_INDEX_NAME = "MAIN"
# What a killed Whoosh writer leaves in a generation: its temporary posting
# pool and a half-written table of contents.
WRITER_DEBRIS = re.compile(rf"^({WHOOSH_INDEX_NAME}\.tmp|_{WHOOSH_INDEX_NAME}_\d+\.toc\.[\d.]+)$")
# Postings each writer process holds in memory before spilling a run to disk: the knob of
# the indexer's memory (`rcsearch index --pool-mb`).
POOL_MB = 256
# Fewer changed files than this are written by one process: starting writer processes
# (each loads jieba) would cost more than it saves.
PARALLEL_MIN_FILES = 20
TOPICS_FILE = topics.TOPICS_FILE


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
        text=whoosh_internals.SegmentedText(words, stored=True),
        grams=whoosh_internals.SegmentedText(grams),
        title_words=whoosh_internals.SegmentedText(words, field_boost=ranking.TITLE_FIELD_BOOST),
        title_grams=whoosh_internals.SegmentedText(grams),
        heading_words=whoosh_internals.SegmentedText(words, field_boost=ranking.HEADING_FIELD_BOOST),
        heading_grams=whoosh_internals.SegmentedText(grams),
        compact=COLUMN(VarBytesColumn()),
        # A passage's figures: in full to show them, as numbers to filter, count and sort them.
        figures=STORED,
        figure_rows=COLUMN(VarBytesColumn()),
        section=COLUMN(VarBytesColumn()),  # a passage's section key, on the passage and on the section
        # Shown with each passage and report.
        province=STORED,
        city=STORED,
        county=STORED,
        level=STORED,
        places=STORED,
        topics=STORED,
        topic_evidence=STORED,  # the words that gave each topic: PassageTopics.to_json()
        year=STORED,
        # Counted and filtered by facets (search/facets.py): one column each.
        **{column.field: _shown_and_counted(ID(sortable=True)) for column in facets.COLUMNS.values()},
        source=STORED,
        format=STORED,
        hash=STORED,
        date=STORED,
        title_source=STORED,
        data_version=STORED,
        path=STORED,
        source_root=STORED,
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
    """What one `rcsearch index` run did (or, when `refused`, would have done)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file path as given, reason)
    rebuilt_outdated: bool = False  # the index was built by an older rcsearch: everything was reindexed
    data_changed: bool = False      # search/data changed since the last run: every report was reindexed
    indexed_before: int = 0         # reports in the index when the run started
    refused: bool = False           # the run would have removed too much and was not confirmed: nothing changed
    prepared_again: bool = False    # the live version's prepared columns were missing or outdated: written now

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
                f"{len(self.unchanged)} unchanged, {len(self.failed)} failed")


def passage_records(doc: Document, gazetteer: enrich.Gazetteer, classifier: topics.TopicClassifier) -> list[dict]:
    """Whoosh field values of a report's passages, enriched with region, places, topics and year."""
    year = enrich.report_year(doc.title + "\n" + "\n".join(doc.lead_lines), doc.source, doc.date)
    regions = enrich.passage_regions("\n".join(doc.lead_lines or (doc.title,)),
                                     ["\n".join(article.heading_lines) for article in doc.articles[1:]],
                                     [enrich.PassageText(p.article, p.heading, p.text) for p in doc.passages],
                                     gazetteer, path=doc.doc_id)
    records = []
    for passage, section, region, assigned in zip(doc.passages, _section_keys(doc), regions,
                                                  document_topics(doc, classifier)):
        passage_topics = assigned.topics
        facts = facets.PassageFacts(region, passage_topics, year)
        found = figures.figures(passage.text)
        records.append(dict(
            kind="passage", doc_id=doc.doc_id,
            passage=passage.number, role=passage.role, title=doc.title, heading=passage.heading, text=passage.text,
            grams=passage.text, compact=compact_value(passage.text), section=section.encode("utf-8"),
            province=region.province or "", city=region.city or "", county=region.county or "",
            level=facets.level_of(region), places=",".join(enrich.mentioned_places(passage.text, gazetteer)),
            topics=",".join(passage_topics), topic_evidence=assigned.to_json(), year=year or 0,
            figures=figures.to_json(found) if found else "", figure_rows=figures.to_rows(found),
            _boost=1.0 if passage.role == "paragraph" else ranking.SHORT_PASSAGE_BOOST,
            **facets.facet_values(facts),
        ))
    return records


def document_topics(doc: Document, classifier: topics.TopicClassifier) -> list[topics.PassageTopics]:
    """The topics of each passage of a report, judged with its title (a sub-article's with its
    own heading lines), section headings and neighbouring passages."""
    titles = ["\n".join(doc.lead_lines or (doc.title,))] + ["\n".join(a.heading_lines) for a in doc.articles[1:]]
    return classifier.document(titles, [topics.PassageInput(p.text, p.heading, p.role, p.article)
                                        for p in doc.passages])


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


def doc_record(doc: Document, records: list[dict], source: SourceFile, version: str) -> dict:
    """The report record: its source text, so the index alone can show the document, and
    where the file was (its original is offered for download while it is still there)."""
    first = records[0]
    return dict(key=doc.doc_id, kind="doc", doc_id=doc.doc_id, title=doc.title, title_words=doc.title,
                title_grams=doc.title, compact=compact_value(doc.title), source=doc.source,
                format=doc.format, hash=doc.content_hash, date=doc.date or "", title_source=doc.title_source,
                data_version=version, indexed_at=time.time(),
                path=str(source.path.absolute()), source_root=str(source.root.absolute()),
                province=first["province"], city=first["city"], county=first["county"], year=first["year"])


def analyse_file(source: SourceFile) -> tuple[Document, list[dict]]:
    """Read, structure and enrich one file (runs in a worker process)."""
    doc = read_document(source.path, source.doc_id)
    return doc, passage_records(doc, *_enrichment())


def _enrichment() -> tuple[enrich.Gazetteer, topics.TopicClassifier]:
    """The gazetteer and the topic classifier, read once per process (again if topics.toml or
    the topic model changes)."""
    return enrich.Gazetteer.load(), _topic_classifier(TOPICS_FILE, topics.MODEL_FILE,
                                                      TOPICS_FILE.stat().st_mtime_ns, topics.MODEL_FILE.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _topic_classifier(topics_file: Path, model_file: Path, *mtimes_ns: int) -> topics.TopicClassifier:
    return topics.TopicClassifier.load(topics_file, model_file)


# A reader racing a rebuild may resolve `current` just before the swap and find
# the old generation deleted a moment later; it then re-resolves the link.
READ_RETRIES = whoosh_internals.READ_RETRIES


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when no index has been built."""
    link = Path(index_dir) / CURRENT
    for _ in range(READ_RETRIES):
        if not link.is_symlink() and not link.is_dir():
            return None
        target = link.resolve()
        try:
            if whoosh_internals.holds_index(str(target)):
                return target
        except OSError:  # deleted while we looked: a rebuild has just swapped it out
            pass
        if link.resolve() == target:
            return None
    return None


def open_index(index_dir: Path, readonly: bool = True):
    """Open the live generation; raises FileNotFoundError when there is none."""
    for attempt in range(READ_RETRIES):
        generation = current_generation(index_dir)
        if generation is None:
            raise FileNotFoundError(f"no index in {index_dir}; run `rcsearch index` first")
        storage = FileStorage(str(generation), readonly=readonly)
        try:
            ix = whoosh_internals.open_storage_index(
                storage, whoosh_internals.LiveIndex if readonly else whoosh_index.FileIndex)
        except (OSError, whoosh_index.EmptyIndexError):
            if attempt == READ_RETRIES - 1:
                raise
            continue
        except whoosh_internals.ForeignIndexError:
            ix = None
        if ix is None or not has_current_schema(ix):
            raise OutdatedIndexError(f"the index in {index_dir} was built by an older rcsearch; "
                                     "run `rcsearch index` to rebuild it")
        if not readonly:
            return ix
        ix.relocate = functools.partial(current_generation, Path(index_dir))
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
    contents, segment files no table of contents refers to, and what was prepared
    for versions other than the committed one.
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
        if WRITER_DEBRIS.match(name) or name.startswith((".columns-", ".reports-")):  # a killed run's half-written files
            path = live / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    whoosh_internals.remove_unreferenced_files(storage, WHOOSH_INDEX_NAME)
    _remove_other_versions(live)


def _indexed_versions(ix) -> dict[str, tuple[str, str]]:
    """Per indexed report, the (content hash, data version) it was indexed with."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        recorded = _recorded_reports(Path(ix.storage.folder), reader.generation())
        return {doc_id: (digest, version)
                for segment in columns.leaf_segments(reader)
                for docnum, doc_id, digest, version in recorded.get(columns.segment_key(segment))
                or _segment_reports(segment)
                if not segment.is_deleted(docnum)}


# Per index version, for the next run: each segment's report records (docnum in the segment,
# report id, content hash, data version), so that finding what changed reads no stored
# fields (a report record stores the report's whole text: 0.25 s at 10^5 passages).
REPORTS = "reports-{generation}.marshal"


def _segment_reports(segment) -> list[tuple[int, str, str, str]]:
    """The live report records of one segment, from their stored fields."""
    records = []
    if ("kind", "doc") not in segment:
        return records
    for docnum in segment.postings("kind", "doc").all_ids():
        fields = segment.stored_fields(docnum)
        records.append((docnum, fields["doc_id"], fields["hash"], fields.get("data_version", "")))
    return records


def _recorded_reports(generation: Path, version: int) -> dict:
    try:
        return marshal.loads((generation / REPORTS.format(generation=version)).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}


def _record_reports(generation: Path, reader, version: int, previous: dict) -> None:
    """Write the version's report records (those of segments the previous version recorded
    are taken from there), atomically."""
    segments = {}
    for segment in columns.leaf_segments(reader):
        key = columns.segment_key(segment)
        segments[key] = previous.get(key) or _segment_reports(segment)
    path = generation / REPORTS.format(generation=version)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(marshal.dumps(segments))
    os.replace(temp, path)


# The code that decides what a report's records hold: reading, structuring, enriching,
# analysing and writing. Changed (an update of rcsearch), every report is indexed again.
PIPELINE_MODULES = ("analysis", "ingest", "furniture", "enrich", "topics", "facets", "figures", "ranking", "index",
                    "whoosh_internals", "columns")
PACKAGE_DIR = Path(__file__).parent


def data_version() -> str:
    """A fingerprint of what shapes a report's records besides its file: the user dictionary,
    the topic rules and model, the figure vocabulary and the indexing code. A report indexed under
    another is reindexed."""
    digest = hashlib.sha256()
    code = [PACKAGE_DIR / f"{name}.py" for name in PIPELINE_MODULES] + sorted((PACKAGE_DIR / "readers").glob("*.py"))
    for path in (analysis.USER_DICT, TOPICS_FILE, topics.MODEL_FILE, figures.FIGURES_FILE, *code):
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:16]


def update_index(sources: list[Path], index_dir: Path, rebuild: bool = False, workers: int = 1,
                 progress: Callable[[Iterable, int], Iterable] = lambda items, total: items,
                 on_wait: Callable[[], None] = lambda: None,
                 confirm_removal: Callable[[Summary], bool] = lambda summary: False,
                 pool_mb: int = POOL_MB) -> Summary:
    """Bring the index in line with the source files: new, changed and removed files only.

    A source that does not exist or cannot be read raises SourceError before anything is
    touched. A run that would remove more than half of the indexed reports asks
    `confirm_removal(summary)` (the summary lists them in `removed`) and, refused, changes
    nothing and returns the summary with `refused` set.
    A file that fails keeps its previously indexed version, also across --rebuild.
    One run at a time per index directory (`on_wait` is called when another holds it);
    what a killed run left behind is removed first.
    """
    index_dir = Path(index_dir)
    sources = [Path(s) for s in sources]
    check_sources(sources)
    with IndexLock(index_dir, on_wait) as lock:
        recover(index_dir)
        return _update_locked(sources, index_dir, rebuild, workers, progress, lock, confirm_removal, pool_mb)


def removes_too_much(summary: Summary) -> bool:
    """Whether a run would remove more than half of the indexed reports."""
    return len(summary.removed) * 2 > summary.indexed_before


def _update_locked(sources: list[Path], index_dir: Path, rebuild: bool, workers: int, progress,
                   lock: IndexLock, confirm_removal: Callable[[Summary], bool], pool_mb: int) -> Summary:
    summary = Summary()
    files = source_files(sources, summary.failed)
    previous = current_generation(index_dir)
    try:
        previous_ix = whoosh_internals.open_storage_index(FileStorage(str(previous))) if previous else None
    except whoosh_internals.ForeignIndexError:
        previous_ix = None  # written by another rcsearch: rebuilt like an outdated one
    if previous and (previous_ix is None or not has_current_schema(previous_ix)):
        rebuild = summary.rebuilt_outdated = True
        indexed = {}
    else:
        indexed = _indexed_versions(previous_ix) if previous_ix else {}
    summary.indexed_before = len(indexed)
    version = data_version()
    summary.data_changed = any(v != version for _, v in indexed.values())
    present = {source.doc_id for source in files}
    summary.removed = sorted(set(indexed) - present)
    if removes_too_much(summary) and not confirm_removal(summary):
        summary.refused = True
        return summary
    # A rebuild indexes every file afresh: each counts as added.
    known = {} if rebuild else indexed
    todo = _changed_files(files, known, version, summary)
    if previous and not rebuild:
        if not todo and not summary.removed:
            summary.prepared_again = _prepare_if_missing(previous)
            return summary  # nothing to write: not even a writer is opened
        generation, ix = previous, previous_ix
    else:
        generation = _new_generation(index_dir)
        ix = FileStorage(str(generation)).open_index()
    parallel = workers > 1 and len(todo) >= PARALLEL_MIN_FILES
    writer = whoosh_internals.prepared_before_visible(_writer(ix, workers if parallel else 1, lock.fd, pool_mb),
                                                      functools.partial(_prepare, generation))
    try:
        # With a parallel writer its processes do the expensive part (jieba, postings);
        # reading and enriching files stays here rather than competing for the same cores.
        analysis_workers = 1 if parallel else workers
        for source, outcome in progress(_analyse_all(todo, analysis_workers, lock.fd), len(todo)):
            if isinstance(outcome, IngestError):
                summary.failed.append((source.label, str(outcome).split(": ", 1)[-1]))
                continue
            (summary.updated if source.doc_id in known else summary.added).append(source.doc_id)
            _replace_document(writer, *outcome, source=source, version=version)
        for doc_id in summary.removed:
            writer.delete_by_term("doc_id", doc_id)
        failed = {label for label, _ in summary.failed}
        carried = {s.doc_id for s in files if s.label in failed} & set(indexed)
        if generation != previous and carried:
            _carry_over_failed(writer, previous, carried, version)
        committed = summary.changed or rebuild
        if committed:
            # Merging the parallel writer's segments would redo serially what it did in parallel.
            writer.commit(optimize=rebuild and not parallel)
        else:
            writer.cancel()
    except BaseException:
        writer.cancel()
        if generation != previous:
            shutil.rmtree(generation, ignore_errors=True)
        raise
    if committed:
        _remove_other_versions(generation)
    else:
        summary.prepared_again = _prepare_if_missing(generation)
    if generation != previous:
        _point_current_at(index_dir, generation)
        _remove_stale_generations(index_dir, generation)
    return summary


def _prepare(generation: Path, reader, version: int) -> None:
    """Write the columns and report records of an index version (what the version before it
    prepared is reused for the segments they share). The writer calls this before it commits
    the version: no server or run ever sees it unprepared."""
    earlier = [v for v in map(_version_of, generation.glob(columns.PREPARED.format(generation="*")))
               if 0 <= v < version and columns.is_prepared(columns.prepared_folder(generation, v))]
    previous = max(earlier, default=None)
    columns.prepare(reader, columns.prepared_folder(generation, version),
                    None if previous is None else columns.prepared_folder(generation, previous))
    _record_reports(generation, reader, version, {} if previous is None else _recorded_reports(generation, previous))


def _is_prepared(generation: Path, version: int) -> bool:
    return (columns.is_prepared(columns.prepared_folder(generation, version))
            and (generation / REPORTS.format(generation=version)).is_file())


def _prepare_if_missing(generation: Path) -> bool:
    """Prepare the committed version of a generation if it has no columns and report records
    prepared by this code: one an earlier rcsearch committed before preparing them (and was
    killed in between), or prepared in another format. Whether it had to. (What other
    versions have prepared, `recover` has removed.)"""
    with FileStorage(str(generation)).open_index().searcher() as searcher:
        version = searcher.reader().generation()
        if version is None or _is_prepared(generation, version):
            return False
        _prepare(generation, searcher.reader(), version)
    return True


def _remove_other_versions(generation: Path) -> None:
    """Remove the prepared columns and report records of every version but the committed one:
    earlier ones (a server still reading them keeps its mapping) and those of a version a
    killed run prepared but never committed."""
    version = whoosh_internals.committed_version(FileStorage(str(generation)), WHOOSH_INDEX_NAME)
    if version is None:
        return
    kept = {columns.prepared_folder(generation, version).name, REPORTS.format(generation=version)}
    for stale in [*generation.glob("*columns-*"), *generation.glob("*reports-*")]:
        if stale.name not in kept:
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)


def _version_of(path: Path) -> int:
    """The index version a prepared file or folder (name-<version>[.suffix]) belongs to."""
    try:
        return int(path.name.split(".")[0].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


def _writer(ix, workers: int, lock_fd: int | None, pool_mb: int):
    """A Whoosh writer; with several workers, one whose processes analyse and write a
    segment each (kept as separate segments: merging them would be serial again)."""
    # Compound segment files are copied whole into memory by every reader (Whoosh's
    # BufferFile wraps them in BytesIO): a server would hold the index once per thread.
    options = dict(limitmb=pool_mb, compound=False, codec=whoosh_internals.Codec())
    if workers > 1:
        init = functools.partial(_worker_init, os.getpid(), lock_fd)
        return whoosh_internals.ParallelWriter(ix, init=init, procs=workers, multisegment=True, **options)
    return whoosh_internals.with_term_pool(ix.writer(**options))


def _changed_files(files: list[SourceFile], indexed: dict[str, tuple[str, str]], version: str,
                   summary: Summary) -> list[SourceFile]:
    """Files whose content hash (or the data version they were indexed under) differs from
    the indexed one; unreadable files go to summary.failed."""
    todo = []
    for source in files:
        if not source.path.is_file():
            # Never opened (reading a FIFO would block the run forever); like any file
            # that cannot be read, its previously indexed version stays.
            summary.failed.append((source.label, not_a_file_reason(source.path)))
            continue
        try:
            digest = content_hash(read_source_bytes(source.path))
        except IngestError as exc:
            summary.failed.append((source.label, str(exc).split(": ", 1)[-1]))
            continue
        if indexed.get(source.doc_id) == (digest, version):
            summary.unchanged.append(source.doc_id)
        else:
            todo.append(source)
    return todo


def _replace_document(writer, doc: Document, records: list[dict], source: SourceFile, version: str) -> None:
    writer.delete_by_term("doc_id", doc.doc_id)
    for record in records + section_records(doc):
        writer.add_document(**record)
    writer.add_document(**doc_record(doc, records, source, version))


def _carry_over_failed(writer, previous: Path, doc_ids: set[str], version: str) -> None:
    """Re-add, from the text stored in the previous generation, the reports whose files failed
    now (by document id, which is the file's path under its source folder)."""
    with FileStorage(str(previous), readonly=True).open_index().searcher() as searcher:
        for doc_id in sorted(doc_ids):
            stored = searcher.document(key=doc_id, kind="doc")
            doc = document_from_stored(doc_id, stored["source"], stored["format"], stored["hash"], stored.get("date") or None)
            kept = SourceFile(doc_id, Path(stored["path"]), doc_id, Path(stored["source_root"]))
            _replace_document(writer, doc, passage_records(doc, *_enrichment()), kept, version)


def _analyse_all(todo: list[SourceFile], workers: int, lock_fd: int | None = None):
    """(source, (doc, records) or IngestError) for each file, in order, using `workers` processes."""
    if workers <= 1 or len(todo) < 2:
        for source in todo:
            yield source, _analyse_or_error(source)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init,
                             initargs=(os.getpid(), lock_fd)) as pool:
        yield from zip(todo, pool.map(_analyse_or_error, todo, chunksize=4))


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


def _analyse_or_error(source: SourceFile):
    try:
        return analyse_file(source)
    except IngestError as exc:
        return exc
