"""The original file of a report, offered for download while it is still where it was indexed from."""
from __future__ import annotations

import itertools
import os
import re
import shutil
import threading
from urllib.parse import quote

import pytest
from docx import Document as WordDocument

from search.index import update_index

from conftest import client_over


@pytest.fixture
def collection(tmp_path):
    sources = tmp_path / "sources"
    (sources / "2021").mkdir(parents=True)
    word = WordDocument()
    word.add_heading("市红十字会2021年工作总结", level=0)
    word.add_paragraph("全年开展应急救护培训120场，培训救护员3500人。")
    word.save(sources / "2021" / "工作总结（定稿）.docx")
    (sources / "通知.txt").write_text("关于开展博爱送万家活动的通知\n\n各县区红十字会：请做好慰问工作。\n", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("不在来源文件夹里的文件", encoding="utf-8")
    assert update_index([sources], tmp_path / "index").failed == []
    return sources, tmp_path / "index", outside


def download_link(client, doc_id: str) -> str | None:
    page = client.get(f"/doc/{quote(doc_id)}").get_data(as_text=True)
    match = re.search(r'<a class="original" href="([^"]+)" download>下载原文件（(.+?)）</a>', page)
    return match and (match.group(1), match.group(2))


def test_the_document_page_offers_the_original_file_as_an_attachment(collection):
    sources, index_dir, _ = collection
    for client in client_over(index_dir):
        link, name = download_link(client, "2021/工作总结（定稿）")
        assert name == "工作总结（定稿）.docx"
        answer = client.get(link)
        assert answer.status_code == 200
        assert answer.data == (sources / "2021" / "工作总结（定稿）.docx").read_bytes()
        assert answer.headers["Content-Length"] == str(len(answer.data))
        assert answer.headers["Content-Disposition"].startswith("attachment;")
        assert quote("工作总结（定稿）.docx") in answer.headers["Content-Disposition"]


def test_no_download_once_the_file_is_gone_changed_or_swapped_for_a_link_outside(collection):
    sources, index_dir, outside = collection
    for client in client_over(index_dir):
        link, _ = download_link(client, "通知")
        indexed = (sources / "通知.txt").read_bytes()
        (sources / "通知.txt").write_text("改过的内容", encoding="utf-8")
        assert download_link(client, "通知") is None           # not the file that was indexed
        assert client.get(link).status_code == 404
        (sources / "通知.txt").write_bytes(indexed)               # the edit undone: the same file again
        assert download_link(client, "通知") == (link, "通知.txt") and client.get(link).data == indexed
        (sources / "通知.txt").unlink()
        os.symlink(outside, sources / "通知.txt")
        assert download_link(client, "通知") is None           # a link out of the source folder
        assert client.get(link).status_code == 404
        (sources / "通知.txt").unlink()
        assert download_link(client, "通知") is None and client.get(link).status_code == 404
        os.mkfifo(sources / "通知.txt")                           # never opened to wait for a writer
        assert download_link(client, "通知") is None and client.get(link).status_code == 404
        page = client.get(f"/doc/{quote('通知')}")
        assert page.status_code == 200 and "关于开展博爱送万家活动的通知" in page.get_data(as_text=True)


def test_a_folder_swapped_for_a_link_out_of_the_source_folder_is_not_followed(collection, tmp_path):
    """Even to an identical copy: what is offered is a file in the source folder, not one elsewhere."""
    sources, index_dir, _ = collection
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(sources / "2021", elsewhere)
    shutil.rmtree(sources / "2021")
    os.symlink(elsewhere, sources / "2021")
    for client in client_over(index_dir):
        assert download_link(client, "2021/工作总结（定稿）") is None
        assert client.get(f"/original/{quote('2021/工作总结（定稿）')}").status_code == 404
        assert download_link(client, "通知") == (f"/original/{quote('通知')}", "通知.txt")


def test_ids_that_are_no_report_download_nothing(collection):
    _, index_dir, _ = collection
    for client in client_over(index_dir):
        for doc_id in ("nope", "../secret", "/etc/passwd", "通知/../../secret"):
            assert client.get(f"/original/{quote(doc_id)}").status_code == 404


def test_a_file_swapped_during_downloads_is_never_served_unless_it_is_the_indexed_one(collection):
    """A thread keeps replacing the file (by a link out of the folder, by an edited copy, by
    the indexed content again) while downloads run: each is the indexed file or a 404."""
    sources, index_dir, outside = collection
    target, staging = sources / "通知.txt", sources.parent / "staging"
    indexed, edited = target.read_bytes(), "关于开展博爱送万家活动的通知\n\n改过的内容。\n".encode()
    staging.mkdir()
    stop = threading.Event()

    def swap():
        for state in itertools.cycle(("link", "indexed", "edited", "indexed")):
            if stop.is_set():
                return
            entry = staging / state
            if state == "link":
                os.symlink(outside, entry)
            else:
                entry.write_bytes(indexed if state == "indexed" else edited)
            os.replace(entry, target)

    for client in client_over(index_dir):
        link, _ = download_link(client, "通知")
        swapper = threading.Thread(target=swap)
        swapper.start()
        try:
            answers = [client.get(link) for _ in range(3000)]
        finally:
            stop.set()
            swapper.join()
    bodies = {indexed: "indexed", edited: "edited", outside.read_bytes(): "outside", b"": ""}
    served = {(answer.status_code, bodies.get(answer.data if answer.status_code == 200 else b"", "other"))
              for answer in answers}
    assert served == {(200, "indexed"), (404, "")}
