"""Passage permalinks: stable across a reindex while the passage's text is unchanged, and honest when it is not."""
from __future__ import annotations

import re

import pytest

from search.index import update_index
from search.results import passage_anchor

from conftest import client_over

PARAGRAPHS = [
    "红十字会召开年度工作会议，部署全年任务。",
    "永久链接测试段落：志愿者为独居老人上门送去冬衣和药品。",
    "年底开展总结表彰，评选优秀志愿者二十名。",
]


def write_report(folder, paragraphs) -> None:
    (folder / "permalink_report.txt").write_text("某市红十字会工作报告\n\n" + "\n\n".join(paragraphs) + "\n",
                                                 encoding="utf-8")


@pytest.fixture
def collection(tmp_path):
    """A client over a one-report collection, and a way to change the report and reindex it
    while the client keeps serving."""
    sources = tmp_path / "sources"
    sources.mkdir()
    write_report(sources, PARAGRAPHS)
    update_index([sources], tmp_path / "index", workers=1)

    def reindex(paragraphs):
        write_report(sources, paragraphs)
        summary = update_index([sources], tmp_path / "index", workers=1)
        assert summary.updated == ["permalink_report"], summary

    for client in client_over(tmp_path / "index"):
        yield client, reindex


def hit_for(client, q) -> dict:
    (hit,) = client.get("/api/search", query_string={"q": q}).get_json()["hits"]
    return hit


def passage_shown(client, location) -> str:
    """The text of the paragraph a URL (with its #p fragment) scrolls to."""
    path, number = location.split("#p")
    html = client.get(path).get_data(as_text=True)
    (paragraph,) = re.findall(rf'<div class="para" id="p{number}"><p>(.*?)</p>', html)
    return paragraph


def test_a_permalink_opens_its_passage_after_a_reindex_moved_it(collection):
    client, reindex = collection
    before = hit_for(client, "独居老人")
    assert before["permalink"] == f"/p/permalink_report/{passage_anchor(PARAGRAPHS[1])}"
    assert passage_shown(client, client.get(before["permalink"]).headers["Location"]) == PARAGRAPHS[1]

    reindex(["新增段落：年初走访慰问困难群众。", "又一新增段落：春节前发放慰问金。", *PARAGRAPHS])
    after = hit_for(client, "独居老人")
    assert (after["passage"], after["permalink"]) == (before["passage"] + 2, before["permalink"])
    response = client.get(before["permalink"], query_string={"q": "独居老人"})
    assert response.status_code == 302
    assert response.headers["Location"] == (f"/doc/permalink_report?q=%E7%8B%AC%E5%B1%85%E8%80%81%E4%BA%BA"
                                            f"#p{after['passage']}")
    assert passage_shown(client, response.headers["Location"]) == PARAGRAPHS[1].replace(
        "独居老人", "<mark>独居老人</mark>")


@pytest.mark.parametrize("edit", [
    lambda p: [p[0], p[1].replace("冬衣", "棉被"), p[2]],  # its text changed
    lambda p: [p[0], p[2]],                               # it is gone
])
def test_a_permalink_to_a_changed_or_removed_passage_says_so(collection, edit):
    client, reindex = collection
    link = hit_for(client, "独居老人")["permalink"]
    reindex(edit(PARAGRAPHS))
    response = client.get(link)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<p class="notice" role="alert">这个链接指向的段落已修改或已删除，无法定位到原段落' in html
    assert PARAGRAPHS[2] in html  # the report as it is now, below the notice


def test_white_space_width_and_traditional_characters_do_not_break_a_permalink():
    assert passage_anchor("紅十字會 志願者ＡＢＣ") == passage_anchor("红十字会志愿者abc") != passage_anchor("红十字会志愿者")


def test_the_document_page_anchors_each_passage_by_its_permalink(client):
    html = client.get("/doc/001_77d36a74d18f4973").get_data(as_text=True)
    anchors = re.findall(r'<div class="para" id="p(\d+)"><p>(.*?)</p><a class="permalink" id="h-(\w+)" href="([^"]+)"',
                         html)
    assert len(anchors) > 20
    for number, text, anchor, href in anchors:
        assert anchor == passage_anchor(text) and href == f"/p/001_77d36a74d18f4973/{anchor}"
        assert client.get(href).headers["Location"] == f"/doc/001_77d36a74d18f4973#p{number}"


def test_an_unknown_report_is_a_plain_404(client):
    response = client.get("/p/no-such-report/0123456789ab")
    assert response.status_code == 404 and "notice" not in response.get_data(as_text=True)


def test_each_hit_on_the_search_page_offers_its_permalink(client):
    html = client.get("/", query_string={"q": "魔豆妈妈"}).get_data(as_text=True)
    hit = client.get("/api/search", query_string={"q": "魔豆妈妈"}).get_json()["hits"][0]
    assert f'<p class="hit-link"><a class="permalink" href="{hit["permalink"]}"' in html
