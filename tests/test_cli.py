"""The rcsearch command: incremental indexing, bad files, search output, exit codes."""
import json

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
