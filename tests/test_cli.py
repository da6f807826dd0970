"""The rcsearch command: incremental indexing, bad files, search output, exit codes."""
import json
import os
import textwrap

import pytest

from search.cli import cli

GBK_TEXT = "甘肃省天水市清水县红十字会开展应急救护培训。\n\n志愿者积极参与，群众受益。\n"


def index(runner, sources, index_dir, *extra):
    return runner.invoke(cli, ["index", str(sources), "--index", str(index_dir), "--workers", "1", *extra])


def test_index_is_incremental(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    first = index(runner, sources, index_dir)
    assert first.exit_code == 0, first.output
    assert "5 added, 0 updated, 0 removed, 0 unchanged, 0 failed" in first.output
    again = index(runner, sources, index_dir)
    assert again.exit_code == 0, again.output
    assert "up to date: nothing to do" in again.output
    assert "5 unchanged" in again.output


def test_removed_file_loses_its_passages(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    index(runner, sources, index_dir)
    found = runner.invoke(cli, ["search", "魔豆妈妈", "--json", "--index", str(index_dir)])
    assert json.loads(found.output)["total"] >= 1
    next(sources.glob("001_*")).unlink()
    result = index(runner, sources, index_dir)
    assert "1 removed" in result.output, result.output
    gone = runner.invoke(cli, ["search", "魔豆妈妈", "--json", "--index", str(index_dir)])
    assert json.loads(gone.output)["total"] == 0


def test_bad_files_are_reported_and_the_rest_indexed(runner, sources, tmp_path):
    (sources / "gbk.txt").write_bytes(GBK_TEXT.encode("gbk"))
    (sources / "bom.txt").write_bytes("\ufeff".encode() + "浙江省红十字会召开博爱家园推进会。\n".encode())
    (sources / "empty.txt").write_bytes(b"")
    (sources / "binary.txt").write_bytes(bytes(range(256)) * 20)
    index_dir = tmp_path / "index"
    result = index(runner, sources, index_dir)
    assert result.exit_code == 1
    assert "failed: empty.txt: empty file" in result.output
    assert "failed: binary.txt: binary file" in result.output
    assert "7 added" in result.output and "2 failed" in result.output
    gbk = json.loads(runner.invoke(cli, ["search", "清水县", "--json", "--index", str(index_dir)]).output)
    assert [h["doc_id"] for h in gbk["hits"]] == ["gbk"]
    bom = json.loads(runner.invoke(cli, ["search", "博爱家园推进会", "--json", "--index", str(index_dir)]).output)
    assert bom["hits"][0]["doc_id"] == "bom"


def test_failed_file_keeps_its_previous_version(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    index(runner, sources, index_dir)
    next(sources.glob("001_*")).write_bytes(b"\x00\x00garbage")
    result = index(runner, sources, index_dir)
    assert result.exit_code == 1
    still = json.loads(runner.invoke(cli, ["search", "魔豆妈妈", "--json", "--index", str(index_dir)]).output)
    assert still["total"] >= 1


def test_rebuild_swaps_in_a_fresh_index(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    index(runner, sources, index_dir)
    result = index(runner, sources, index_dir, "--rebuild")
    assert result.exit_code == 0, result.output
    assert "5 added" in result.output
    assert len(list(index_dir.glob("gen-*"))) == 1


def test_search_json_is_the_api_answer(runner, seed_index, client):
    cli_json = json.loads(runner.invoke(cli, ["search", "博爱送万家", "--json", "--index", str(seed_index)]).output)
    api_json = client.get("/api/search", query_string={"q": "博爱送万家"}).get_json()
    for answer in (cli_json, api_json):
        answer.pop("took_ms")
    assert cli_json == api_json


def test_search_prints_highlighted_passages(runner, seed_index):
    result = runner.invoke(cli, ["search", "造血干细胞", "--index", str(seed_index)])
    assert result.exit_code == 0, result.output
    assert "passages in" in result.output and "造血干细胞" in result.output


def test_usage_errors_exit_2(runner, seed_index):
    result = runner.invoke(cli, ["search", "红十字", "--limit", "500", "--index", str(seed_index)])
    assert result.exit_code == 2
    assert "limit" in result.output


def test_missing_index_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(cli, ["search", "红十字", "--index", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "run `rcsearch index` first" in result.output


def test_failed_file_survives_a_rebuild(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    index(runner, sources, index_dir)
    next(sources.glob("001_*")).write_bytes(b"\x00\x00garbage")
    result = index(runner, sources, index_dir, "--rebuild")
    assert result.exit_code == 1
    assert "failed: 001_77d36a74d18f4973.txt: binary file" in result.output
    still = json.loads(runner.invoke(cli, ["search", "魔豆妈妈", "--json", "--index", str(index_dir)]).output)
    assert [h["doc_id"] for h in still["hits"]][:1] == ["001_77d36a74d18f4973"]


def test_parallel_writer_indexes_the_same_passages(runner, tmp_path):
    """Two writer processes (enough files to use them) give the same answers as one."""
    from search.index import PARALLEL_MIN_FILES

    from conftest import SEEDS

    sources = tmp_path / "many"
    sources.mkdir()
    for i in range(PARALLEL_MIN_FILES + 5):
        seed = sorted(SEEDS.glob("*.txt"))[i % 5]
        (sources / f"r{i:03d}.txt").write_text(seed.read_text(encoding="utf-8") + f"\n\n本篇编号甲{i:03d}乙。\n",
                                               encoding="utf-8")
    answers = {}
    for workers in ("1", "2"):
        index_dir = tmp_path / f"index-{workers}"
        result = runner.invoke(cli, ["index", str(sources), "--index", str(index_dir), "--workers", workers])
        assert result.exit_code == 0, result.output
        answers[workers] = [json.loads(runner.invoke(cli, ["search", q, "--json", "--limit", "100",
                                                           "--index", str(index_dir)]).output)
                            for q in ("造血干细胞", '"甲007乙"', "城市:石家庄", "")]
    for one, two in zip(answers["1"], answers["2"]):
        assert one["total"] == two["total"]
        assert one["facets"] == two["facets"]
        assert sorted((h["doc_id"], h["passage"]) for h in one["hits"]) == \
            sorted((h["doc_id"], h["passage"]) for h in two["hits"])
    assert [h["doc_id"] for h in answers["2"][1]["hits"]] == ["r007"]


def stats(runner, index_dir) -> dict:
    result = runner.invoke(cli, ["stats", "--json", "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def live_generation(index_dir):
    return os.readlink(index_dir / "current")


@pytest.mark.parametrize("extra", [[], ["--rebuild"]])
def test_a_mistyped_source_is_a_usage_error_that_changes_nothing(runner, sources, tmp_path, extra):
    index_dir = tmp_path / "index"
    assert index(runner, sources, index_dir).exit_code == 0
    generation = live_generation(index_dir)
    result = index(runner, tmp_path / "sourcse", index_dir, *extra)
    assert result.exit_code == 2
    assert "sourcse: no such file or folder; nothing was changed" in result.output
    assert live_generation(index_dir) == generation and stats(runner, index_dir)["reports"] == 5


def reindex_after_removing(runner, sources, index_dir, count: int):
    """Index the five seeds, remove `count` of their files, index again: that run's result."""
    index(runner, sources, index_dir)
    for path in sorted(sources.glob("*.txt"))[:count]:
        path.unlink()
    return index(runner, sources, index_dir)


def test_a_run_removing_more_than_half_is_refused_without_yes(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    refused = reindex_after_removing(runner, sources, index_dir, 3)
    assert refused.exit_code == 2
    assert "this run would remove 3 of 5 indexed reports" in refused.output
    assert "000_ce03444764b2e6d0" in refused.output
    assert "refused to remove 3 of 5 indexed reports; nothing was changed" in refused.output
    assert stats(runner, index_dir)["reports"] == 5
    confirmed = index(runner, sources, index_dir, "--yes")
    assert confirmed.exit_code == 0, confirmed.output
    assert "3 removed" in confirmed.output and stats(runner, index_dir)["reports"] == 2


def test_removing_half_or_less_needs_no_confirmation(runner, sources, tmp_path):
    result = reindex_after_removing(runner, sources, tmp_path / "index", 2)
    assert result.exit_code == 0, result.output
    assert "2 removed" in result.output


def test_an_empty_source_folder_never_empties_the_index_by_itself(runner, sources, tmp_path):
    index_dir = tmp_path / "index"
    index(runner, sources, index_dir)
    (tmp_path / "empty").mkdir()
    for extra in ([], ["--rebuild"]):
        result = index(runner, tmp_path / "empty", index_dir, *extra)
        assert result.exit_code == 2 and "refused to remove 5 of 5" in result.output
        assert stats(runner, index_dir)["reports"] == 5


def test_on_a_terminal_the_removal_is_asked(sources, tmp_path):
    """The real command on a pseudo-terminal: it lists what would go and takes 'y' for yes."""
    import pty
    import subprocess

    from conftest import ROOT

    index_dir = tmp_path / "index"
    rcsearch = [str(ROOT / ".venv" / "bin" / "rcsearch"), "index", "--index", str(index_dir), "--workers", "1"]
    subprocess.run(rcsearch + [str(sources)], check=True, capture_output=True)
    (tmp_path / "empty").mkdir()
    primary, secondary = pty.openpty()
    run = subprocess.Popen(rcsearch + [str(tmp_path / "empty")], stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    seen = b""
    while b"remove them from the index?" not in seen:
        seen += os.read(primary, 4096)
    os.write(primary, b"y\n")
    assert run.wait(timeout=60) == 0
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closed with the command
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    text = seen.decode()
    assert "this run would remove 5 of 5 indexed reports" in text and "5 removed" in text


def test_an_index_an_older_rcsearch_built_is_explained_by_search_and_stats(runner, tmp_path):
    from test_ranking import _older_index

    index_dir = tmp_path / "index"
    _older_index(index_dir)
    for command in (["search", "红十字"], ["stats"], ["stats", "--json"]):
        result = runner.invoke(cli, [*command, "--index", str(index_dir)])
        assert result.exit_code == 1, result.output
        assert result.output == (f"Error: the index in {index_dir} was built by an older rcsearch; "
                                 "run `rcsearch index` to rebuild it\n")


def test_workers_default_to_the_cpus_this_process_may_use(tmp_path):
    from search.cli import MAX_WORKERS, usable_cpus

    allowed = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("max 100000\n")
    assert usable_cpus(quota) == min(allowed, MAX_WORKERS)
    quota.write_text("50000 100000\n")  # half a CPU: still one worker
    assert usable_cpus(quota) == 1
    assert usable_cpus(tmp_path / "no-cgroup") == min(allowed, MAX_WORKERS)


def test_readme_usage_block_is_what_rcsearch_help_says(runner):
    from search.cli import synopsis, usage_block

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```\n{usage_block()}\n```" in readme, "paste search.cli.usage_block() into README's Use section"
    assert textwrap.indent(usage_block(), "  ") in runner.invoke(cli, ["--help"]).output
    for name, command in cli.commands.items():
        assert textwrap.indent(synopsis(name, command), "  ") in runner.invoke(cli, [name, "--help"]).output


def test_an_index_naming_classes_this_version_lacks_is_outdated_not_a_traceback(runner, sources, tmp_path):
    """Whoosh pickles its codec class into the table of contents: an index written by another
    rcsearch may name a class that is gone (here one defined in a process that has ended)."""
    import subprocess
    import sys

    index_dir = tmp_path / "index"
    subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os
        from whoosh import index
        from whoosh.codec.whoosh3 import W3Codec
        from search.index import build_schema
        class GoneCodec(W3Codec):
            pass
        os.makedirs("{index_dir}/gen-old")
        writer = index.create_in("{index_dir}/gen-old", build_schema()).writer(codec=GoneCodec())
        writer.add_document(key="x", kind="doc", doc_id="x", hash="0")
        writer.commit()
        os.symlink("gen-old", "{index_dir}/current")
    """)], check=True, cwd=str(tmp_path))
    for command in (["search", "红十字"], ["stats"]):
        result = runner.invoke(cli, [*command, "--index", str(index_dir)])
        assert (result.exit_code, result.output) == (1, f"Error: the index in {index_dir} was built by an older "
                                                        "rcsearch; run `rcsearch index` to rebuild it\n")
    rebuilt = index(runner, sources, index_dir)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "built by an older rcsearch: rebuilt" in rebuilt.output and stats(runner, index_dir)["reports"] == 5


def test_search_says_what_it_corrected_and_exact_spelling_searches_what_was_typed(runner, seed_index):
    notice = ("以下是「造血干细胞」的结果。仍然搜索「造血肝细胞」：加上 --exact-spelling "
              "(showing results for 造血干细胞; add --exact-spelling to search exactly what was typed)\n")
    corrected = runner.invoke(cli, ["search", "造血肝细胞", "--limit", "1", "--index", str(seed_index)])
    assert corrected.stdout.startswith(notice + "11 passages in 5 reports")
    exact = runner.invoke(cli, ["search", "造血肝细胞", "--exact-spelling", "--index", str(seed_index)])
    assert exact.stdout.splitlines()[1:] == ["您是不是要找：造血干细胞 (did you mean: 造血干细胞)"]
    assert exact.stdout.startswith("0 passages in 0 reports")


@pytest.mark.parametrize("options", [["--format", "jsonl"], ["--format", "jsonl", "--all"]])
def test_an_export_notes_a_correction_on_stderr_and_exact_spelling_applies_to_it(runner, seed_index, options):
    def exported(*extra):
        result = runner.invoke(cli, ["search", *extra, "--limit", "100", *options, "--index", str(seed_index)])
        return [(hit["doc_id"], hit["passage"]) for hit in map(json.loads, result.stdout.splitlines())], result.stderr

    hits, said = exported("造血肝细胞")
    assert (hits, said) == (exported("造血干细胞")[0], "以下是「造血干细胞」的结果。仍然搜索「造血肝细胞」：加上 "
                            "--exact-spelling (showing results for 造血干细胞; add --exact-spelling to search "
                            "exactly what was typed)\n")
    assert len(hits) == 11
    assert exported("造血肝细胞", "--exact-spelling") == ([], "")


def test_search_says_which_place_it_understood_and_no_places_searches_the_word_as_text(runner, seed_index):
    def lines(*extra):
        result = runner.invoke(cli, ["search", "石家庄 救灾", "--limit", "1", *extra, "--index", str(seed_index)])
        assert result.exit_code == 0, result.output
        return result.stdout.splitlines(), result.stderr

    read, _ = lines()
    assert read[:2] == ["地区：石家庄市 · 来自搜索词「石家庄」 (read as a place; --no-places searches it as text only)",
                        "2 passages in 1 reports" + read[1][len("2 passages in 1 reports"):]]
    words, _ = lines("--no-places")
    assert words[1:3] == ["以下结果不含「石家庄」 (no result holds: 石家庄)",
                          "也可按地区筛选：石家庄市（「石家庄」，2 条）: rcsearch search '救灾' --city 石家庄市"]
    assert "  缺少：" not in "\n".join(words)  # every result lacks it: said once, above them
    as_json, said = lines("--json")
    assert said == "" and json.loads("\n".join(as_json))["understood"] == [
        {"term": "石家庄", "facet": "city", "value": "石家庄市"}]
    exported, said = lines("--format", "jsonl")
    assert said == read[0] + "\n" and len(exported) == 1
