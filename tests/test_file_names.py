"""File names as people write them: the id is the file name, whatever it holds, end to end."""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from search.cli import cli
from search.index import update_index

from conftest import NAMED_REPORTS, client_over, write_named_reports

FOUND_BY = {  # a word only that report holds -> (its id, its title)
    "定稿演练": ("2021年工作报告（定稿）", "2021年红十字会工作报告"),
    "转载专稿": ("邢台日报 2024-10-21（转）", "邢台市红十字会开展博爱送万家"),
    "副本捐献者": ("宁波 第二例造血干细胞捐献 (1)", "宁波第二例造血干细胞捐献"),
    "版本终稿": ("v1.2.final", "志愿服务工作总结"),
    "文件夹编号": ("2021/报告（定稿）", "2021年度红十字会报告"),
    "另一个文件夹": ("2022/报告（定稿）", "2022年度红十字会报告"),
}

@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("file-names")
    write_named_reports(root / "sources")
    # Same file name in two folders: two reports, the folder in the id of each.
    for folder, text in (("2021", "2021年度红十字会报告\n\n文件夹编号为二〇二一的报告，红十字会整理归档。\n"),
                         ("2022", "2022年度红十字会报告\n\n另一个文件夹里的同名报告，红十字会整理归档。\n")):
        (root / "sources" / folder).mkdir()
        (root / "sources" / folder / "报告（定稿）.txt").write_text(text, encoding="utf-8")
    summary = update_index([root / "sources"], root / "index", workers=1)
    assert summary.failed == [] and len(summary.added) == len(NAMED_REPORTS) + 2
    yield from client_over(root / "index")


def title_of(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page).group(1)


@pytest.mark.parametrize("word", FOUND_BY)
def test_a_report_is_found_and_its_url_opens_it(client, word):
    doc_id, title = FOUND_BY[word]
    hits = client.get("/api/search", query_string={"q": word}).get_json()["hits"]
    assert [(hit["doc_id"], hit["title"]) for hit in hits] == [(doc_id, title)]
    url = hits[0]["url"]
    assert url == f"/doc/{quote(doc_id, safe='/')}#p{hits[0]['passage']}"
    assert re.fullmatch(r"/doc/[A-Za-z0-9%/._~-]+#p\d+", url)  # percent-encoded: no space, bracket or CJK left
    page = client.get(url.split("#")[0])
    assert page.status_code == 200 and title_of(page.get_data(as_text=True)) == title


@pytest.mark.parametrize("word", FOUND_BY)
def test_the_document_api_round_trips_the_id(client, word):
    doc_id, title = FOUND_BY[word]
    for path in (quote(doc_id, safe=""), quote(doc_id, safe="/")):  # the folder's `/` encoded or not
        response = client.get(f"/api/documents/{path}")
        assert response.status_code == 200, path
        assert (response.get_json()["doc_id"], response.get_json()["title"]) == (doc_id, title)


@pytest.mark.parametrize("word", FOUND_BY)
def test_the_search_page_links_open_the_report(client, word):
    doc_id, title = FOUND_BY[word]
    page = client.get("/", query_string={"q": word}).get_data(as_text=True)
    links = set(re.findall(r'href="(/doc/[^"#]*)', page))
    assert links == {f"/doc/{quote(doc_id, safe='/()')}?q={quote(word)}"}
    document = client.get(links.pop().replace("&amp;", "&"))
    assert document.status_code == 200 and title_of(document.get_data(as_text=True)) == title
    assert f"<mark>{word}</mark>" in document.get_data(as_text=True)


@pytest.mark.parametrize("doc_id", ["2021年工作报告（定稿）\x00", "\x1b[31m", "邢台日报\n2024", "v1.2.final\x7f",
                                    "宁波\x85", "a" * 1001, "2021/" + "报" * 996])
def test_control_characters_and_absurd_lengths_are_no_id(client, doc_id):
    for path in ("/api/documents/", "/doc/"):
        assert client.get(path + quote(doc_id, safe="")).status_code == 404, (path, doc_id)


def test_a_file_no_link_could_name_fails_by_name_and_changes_nothing_else(runner, tmp_path):
    """A control character, bytes that are not UTF-8 (a name written as GBK) or a path too long
    for a link: its page, permalink and download could never be opened, so the file is not
    indexed; it is listed with the reason, the run exits 1, and every other report is as it was.
    Unusual characters that a link can carry (#, ?, %, an ideographic space) are left alone."""
    sources, index_dir = tmp_path / "sources", tmp_path / "index"
    sources.mkdir()
    (sources / "基础报告.txt").write_text("市红十字会工作报告\n\n全年开展基础暗号培训二十场。\n", encoding="utf-8")
    first = runner.invoke(cli, ["index", str(sources), "--index", str(index_dir), "--workers", "1"])
    assert first.exit_code == 0, first.output
    kept = {"报告 #2？（50%）?": "井号暗号", "年度\u3000总结": "全角空格暗号"}
    for name, word in kept.items():
        (sources / f"{name}.txt").write_text(f"县红十字会工作简报\n\n开展{word}宣传活动。\n", encoding="utf-8")
    refused = {"工作\t总结.txt": "制表符暗号", "工作\x01总结.txt": "控制符暗号", "通\x85知.txt": "下一行暗号",
               "文件夹\x1b[31m/报告.txt": "文件夹暗号"}
    for name, word in refused.items():
        (sources / name).parent.mkdir(exist_ok=True)
        (sources / name).write_text(f"县红十字会工作简报\n\n开展{word}宣传活动。\n", encoding="utf-8")
    gbk = os.fsdecode("年度报告".encode("gbk") + b".txt")  # \xc8\xb1 happens to be UTF-8 (ȱ), the rest is not
    (sources / gbk).write_text("县红十字会工作简报\n\n开展编码暗号宣传活动。\n", encoding="utf-8")
    deep = Path(*["很长的文件夹名称" * 10] * 13, "报告.txt")
    (sources / deep).parent.mkdir(parents=True)
    (sources / deep).write_text("县红十字会工作简报\n\n开展超长暗号宣传活动。\n", encoding="utf-8")

    second = runner.invoke(cli, ["index", str(sources), "--index", str(index_dir), "--workers", "1"])
    assert second.exit_code == 1, second.output
    control = "which no link to its page can carry: rename the file"
    assert sorted(line for line in second.stderr.splitlines() if line.startswith("failed: ")) == sorted([
        f"failed: 工作\\t总结.txt: its name holds a control character (U+0009), {control}",
        f"failed: 工作\\x01总结.txt: its name holds a control character (U+0001), {control}",
        f"failed: 通\\x85知.txt: its name holds a control character (U+0085), {control}",
        f"failed: 文件夹\\x1b[31m/报告.txt: its name holds a control character (U+001B), {control}",
        "failed: \\xc4\\xea\\xb6ȱ\\xa8\\xb8\\xe6.txt: its name is not UTF-8 text (written by a system in "
        "another encoding, such as GBK), which no link to its page can carry: rename the file",
        f"failed: {deep.as_posix()}: its path under the source folder is longer than 1000 characters, which no "
        "link to its page can carry: shorten it"])
    assert second.stdout.splitlines()[-1] == "2 added, 0 updated, 0 removed, 1 unchanged, 6 failed"

    for client in client_over(index_dir):
        found = {word: [hit["doc_id"] for hit in client.get("/api/search", query_string={"q": word}).get_json()["hits"]]
                 for word in ["基础暗号", *kept.values(), *refused.values(), "编码暗号", "超长暗号"]}
        assert found == {"基础暗号": ["基础报告"], **{word: [name] for name, word in kept.items()},
                         **{word: [] for word in [*refused.values(), "编码暗号", "超长暗号"]}}
        for doc_id in ("基础报告", *kept):
            page = client.get(f"/doc/{quote(doc_id, safe='/')}")
            assert page.status_code == 200, doc_id
            link = re.search(r'<a class="original" href="([^"]+)" download>', page.get_data(as_text=True)).group(1)
            assert client.get(link).status_code == 200, doc_id
