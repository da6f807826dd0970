"""Bad source files lose nothing: each is reported by name with its reason, the rest are
indexed, and the previously indexed version of a file that fails now stays searchable."""
from __future__ import annotations

import os
import shutil
import tempfile
import tracemalloc
from pathlib import Path

import pytest

from search.cli import cli
from search.engine import Engine
from search.index import update_index
from search.ingest import MAX_FILE_BYTES, IngestError, read_source_bytes
from search.querylang import SearchRequest

from conftest import NOBODY, as_nobody

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_TEXT = (SEEDS / "002_3ac1844f279ecb35.txt").read_text(encoding="utf-8")


def good_report(word: str) -> str:
    return f"云南省红十字会工作报告\n\n{SEED_TEXT[:3000]}\n\n本报告的查验暗号是{word}。\n"


def found(index_dir: Path, word: str) -> list[str]:
    with Engine(index_dir) as engine:
        return [h.doc_id for h in engine.search(SearchRequest(q=f'"{word}"', limit=100)).hits]


def truncated_utf8(word: str) -> bytes:
    data = good_report(word).encode("utf-8") + "红".encode("utf-8")
    return data[:-1]  # cut in the middle of the last character, as an interrupted copy does


def huge_text(path: Path, megabytes: int = 50) -> None:
    """A real text file (not a sparse one) of the given size, written in 1 MB blocks."""
    block = ("红十字会开展应急救护培训，志愿者积极参与。\n" * 20000).encode("utf-8")[:2**20]
    with path.open("wb") as out:
        for _ in range(megabytes):
            out.write(block)


# Each bad variant replaces a file that was indexed fine before: (file name, bytes, reason).
BAD_VARIANTS = {
    "wrong_encoding.txt": ("日本赤十字社の活動報告です。災害救援と血液事業について。".encode("shift_jis") * 40,
                           "cannot detect the text encoding"),
    "latin1.txt": (("Rapport annuel de la Croix-Rouge française : activités d'été, " * 60).encode("latin-1"),
                   "cannot detect the text encoding"),
    "empty.txt": (b"", "empty file"),
    "blank.md": (b" \n\r\n\t \n", "empty file"),
    "binary.txt": (bytes(range(256)) * 64, "binary file"),
    "png_named_txt.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(2000), "binary file"),
}


@pytest.fixture
def collection(tmp_path):
    """Seeds plus one good report per bad case, indexed; {file name: its unique word}."""
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    shutil.copytree(SEEDS, sources)
    names = list(BAD_VARIANTS) + ["huge.txt", "vanishing.txt", "broken_link.txt", "fifo.txt", "truncated_utf8.txt"]
    words = {name: "鸮坏" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "子丑寅卯辰巳午未申酉戌亥"[i // 10] for i, name in enumerate(names)}
    for name, word in words.items():
        (sources / name).write_text(good_report(word), encoding="utf-8")
    summary = update_index([sources], index_dir)
    assert summary.failed == [] and len(summary.added) == 5 + len(names)
    assert all(found(index_dir, word) == [Path(name).stem] for name, word in words.items())
    return sources, index_dir, words


def test_each_bad_file_is_reported_by_name_the_rest_indexed_old_versions_kept(collection, runner, tmp_path):
    sources, index_dir, words = collection
    for name, (data, _) in BAD_VARIANTS.items():
        (sources / name).write_bytes(data)
    # Cut inside its last character, as an interrupted copy leaves it: indexed without that character.
    (sources / "truncated_utf8.txt").write_bytes(truncated_utf8("鸮截断仍可检索"))
    huge_text(sources / "huge.txt")
    (sources / "broken_link.txt").unlink()
    (sources / "broken_link.txt").symlink_to(tmp_path / "gone" / "report.txt")
    (sources / "fifo.txt").unlink()
    os.mkfifo(sources / "fifo.txt")  # reading it would block forever: it must not be opened
    (sources / "new_good.txt").write_text(good_report("鸮新好报告"), encoding="utf-8")
    (sources / "003_70a6b03952082b08.txt").write_text(good_report("鸮改好报告"), encoding="utf-8")

    result = runner.invoke(cli, ["index", str(sources), "--index", str(index_dir), "--workers", "2"])
    assert result.exit_code == 1, result.output
    failures = dict(line.removeprefix("failed: ").split(": ", 1) for line in result.output.splitlines()
                    if line.startswith("failed: "))
    expected = {name: reason for name, (_, reason) in BAD_VARIANTS.items()}
    expected.update({"huge.txt": f"file too large (50.0 MB; the limit is {MAX_FILE_BYTES // 2**20} MB)",
                     "broken_link.txt": "broken symbolic link", "fifo.txt": "not a regular file (a FIFO)"})
    assert set(failures) == set(expected), result.output
    for name, reason in expected.items():
        assert reason in failures[name], (name, failures[name])
    assert "1 added, 2 updated, 0 removed" in result.output and f"{len(expected)} failed" in result.output
    # The rest is indexed ...
    assert found(index_dir, "鸮新好报告") == ["new_good"]
    assert found(index_dir, "鸮改好报告") == ["003_70a6b03952082b08"]
    assert found(index_dir, "鸮截断仍可检索") == ["truncated_utf8"]
    # ... and every failed file is still found in its previous version.
    for name in expected:
        assert found(index_dir, words[name]) == [Path(name).stem], name

    # A --rebuild keeps them too (from the text stored in the index), and says why again.
    rebuilt = runner.invoke(cli, ["index", str(sources), "--index", str(index_dir), "--rebuild", "--workers", "1"])
    assert rebuilt.exit_code == 1 and f"{len(expected)} failed" in rebuilt.output, rebuilt.output
    for name in expected:
        assert found(index_dir, words[name]) == [Path(name).stem], name
    assert found(index_dir, "鸮新好报告") == ["new_good"]


def test_a_huge_file_is_refused_without_being_read(tmp_path):
    huge = tmp_path / "huge.txt"
    huge_text(huge)
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match=r"huge.txt: file too large \(50.0 MB"):
            read_source_bytes(huge)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # not even one of its 50 megabytes was read


def test_a_file_at_the_limit_is_read(tmp_path):
    at_limit = tmp_path / "at_limit.txt"
    at_limit.write_bytes(b"a" * MAX_FILE_BYTES)
    assert len(read_source_bytes(at_limit)) == MAX_FILE_BYTES
    at_limit.write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    with pytest.raises(IngestError, match="file too large"):
        read_source_bytes(at_limit)


def test_a_file_removed_during_indexing_is_reported_and_its_old_version_kept(collection):
    sources, index_dir, words = collection
    (sources / "vanishing.txt").write_text(good_report("鸮消失前的新版"), encoding="utf-8")
    (sources / "another.txt").write_text(good_report("鸮另一份"), encoding="utf-8")

    def remove_then_go(items, total):
        # Hashing saw the file; it disappears before the analysis reads it.
        (sources / "vanishing.txt").unlink()
        yield from items

    summary = update_index([sources], index_dir, workers=1, progress=remove_then_go)
    assert summary.failed == [("vanishing.txt", "cannot read file (No such file or directory)")]
    assert summary.added == ["another"] and summary.removed == []
    assert found(index_dir, words["vanishing.txt"]) == ["vanishing"]  # previous version kept
    assert found(index_dir, "鸮另一份") == ["another"]
    # Once it is really gone, the next run removes it.
    assert update_index([sources], index_dir).removed == ["vanishing"]
    assert found(index_dir, words["vanishing.txt"]) == []


def _unreadable_run(sources: Path, index_dir: Path) -> list[tuple[str, str]]:
    """`update_index` over sources holding a file its user may not read.

    Not root: chmod 000 is enough. Root reads any file, so the run happens in a
    forked child that has become `nobody`, over a root-owned file with mode 000:
    a real "Permission denied", not a simulation.
    """
    (sources / "locked.txt").chmod(0)
    if os.geteuid() != 0:
        return update_index([sources], index_dir).failed
    for path in [sources.parent, sources, index_dir, *index_dir.rglob("*")]:
        if not path.is_symlink():
            os.chown(path, NOBODY, NOBODY)
    os.chown(sources / "locked.txt", 0, 0)
    report = as_nobody(lambda: {"failed": update_index([sources], index_dir).failed})
    return [tuple(f) for f in report["failed"]]


def test_an_unreadable_file_is_reported_and_its_old_version_kept():
    # In a folder `nobody` can reach (pytest's own temporary folders are private to root).
    root = Path(tempfile.mkdtemp(prefix="rcsearch-perm-"))
    try:
        root.chmod(0o755)
        sources, index_dir = root / "sources", root / "index"
        sources.mkdir()
        shutil.copy(SEEDS / "000_ce03444764b2e6d0.txt", sources)
        (sources / "locked.txt").write_text(good_report("鸮锁住的旧版"), encoding="utf-8")
        assert update_index([sources], index_dir).failed == []
        (sources / "locked.txt").write_text(good_report("鸮锁住的新版"), encoding="utf-8")
        (sources / "open.txt").write_text(good_report("鸮可读的报告"), encoding="utf-8")

        failed = _unreadable_run(sources, index_dir)

        assert failed == [("locked.txt", "cannot read file (Permission denied)")]
        assert found(index_dir, "鸮锁住的旧版") == ["locked"]
        assert found(index_dir, "鸮锁住的新版") == []
        assert found(index_dir, "鸮可读的报告") == ["open"]
    finally:
        for dirpath, _, filenames in os.walk(root):
            for name in filenames:
                path = Path(dirpath) / name
                if not path.is_symlink():
                    path.chmod(0o644)
        shutil.rmtree(root, ignore_errors=True)


def ids_and_words(index_dir: Path, words: list[str]) -> dict[str, list[str]]:
    return {word: found(index_dir, word) for word in words}


def test_same_named_files_in_different_folders_are_two_reports(tmp_path):
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    (sources / "2020").mkdir(parents=True)
    (sources / "2021").mkdir()
    (sources / "2020" / "工作报告.txt").write_text(good_report("鸮二〇年"), encoding="utf-8")
    (sources / "2021" / "工作报告.txt").write_text(good_report("鸮二一年"), encoding="utf-8")
    summary = update_index([sources], index_dir)
    assert summary.failed == [] and summary.added == ["2020/工作报告", "2021/工作报告"]
    assert ids_and_words(index_dir, ["鸮二〇年", "鸮二一年"]) == {"鸮二〇年": ["2020/工作报告"],
                                                             "鸮二一年": ["2021/工作报告"]}


def test_a_failed_file_is_carried_over_a_rebuild_by_its_path_not_its_name(tmp_path):
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    for folder, word in (("a", "鸮甲旧"), ("b", "鸮乙旧")):
        (sources / folder).mkdir(parents=True)
        (sources / folder / "x.txt").write_text(good_report(word), encoding="utf-8")
    assert update_index([sources], index_dir).failed == []
    (sources / "a" / "x.txt").write_text(good_report("鸮甲新"), encoding="utf-8")
    (sources / "b" / "x.txt").write_bytes(b"")
    summary = update_index([sources], index_dir, rebuild=True)
    assert summary.failed == [("b/x.txt", "empty file")] and summary.added == ["a/x"]
    assert ids_and_words(index_dir, ["鸮甲新", "鸮甲旧", "鸮乙旧"]) == {
        "鸮甲新": ["a/x"], "鸮甲旧": [], "鸮乙旧": ["b/x"]}


def test_hidden_files_lock_files_and_backups_are_skipped_silently(tmp_path):
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    (sources / ".git" / "objects").mkdir(parents=True)
    (sources / ".git" / "config").write_text("[core]\n")
    (sources / ".git" / "objects" / "ab12").write_bytes(bytes(range(256)))
    (sources / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (sources / "~$工作报告.docx").write_bytes(b"\x0bOffice lock")
    (sources / "工作报告.txt~").write_text(good_report("鸮备份"), encoding="utf-8")
    (sources / ".工作报告.txt.swp").write_bytes(b"b0VIM 8.2")
    (sources / "工作报告.txt.swp").write_bytes(b"b0VIM 8.2")
    (sources / "工作报告.txt").write_text(good_report("鸮正本"), encoding="utf-8")
    summary = update_index([sources], index_dir)
    assert (summary.failed, summary.added) == ([], ["工作报告"])
    assert ids_and_words(index_dir, ["鸮正本", "鸮备份"]) == {"鸮正本": ["工作报告"], "鸮备份": []}


def test_a_missing_or_unreadable_source_changes_nothing(tmp_path):
    from search.index import current_generation
    from search.sources import SourceError

    root = Path(tempfile.mkdtemp(prefix="rcsearch-src-"))
    try:
        root.chmod(0o755)
        sources, index_dir = root / "sources", root / "index"
        shutil.copytree(SEEDS, sources)
        assert update_index([sources], index_dir).failed == []
        live = current_generation(index_dir)
        with pytest.raises(SourceError, match="no such file or folder"):
            update_index([root / "typo"], index_dir, confirm_removal=lambda summary: True)
        if os.geteuid() == 0:  # root reads anything: ask as `nobody`, who may not read this folder
            sources.chmod(0o700)
            for path in [index_dir, *index_dir.rglob("*")]:
                if not path.is_symlink():
                    os.chown(path, NOBODY, NOBODY)

            def unreadable_run():
                try:
                    update_index([sources], index_dir, confirm_removal=lambda summary: True)
                except SourceError as exc:
                    return {"refused": str(exc)}
                return {"refused": None}

            assert as_nobody(unreadable_run) == {"refused": f"{sources}: cannot be read (permission denied)"}
        assert current_generation(index_dir) == live
        with Engine(index_dir) as engine:
            assert engine.search(SearchRequest()).total_reports == 5
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_changed_data_files_reindex_every_report(tmp_path, monkeypatch):
    from search import analysis, index

    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    shutil.copytree(SEEDS, sources)
    update_index([sources], index_dir)
    edited = tmp_path / "userdict.txt"
    edited.write_text(analysis.USER_DICT.read_text(encoding="utf-8") + "人道力量 300 n\n", encoding="utf-8")
    monkeypatch.setattr(analysis, "USER_DICT", edited)
    summary = index.update_index([sources], index_dir)
    assert summary.data_changed and len(summary.updated) == 5
    assert index.update_index([sources], index_dir).unchanged == sorted(summary.updated)
