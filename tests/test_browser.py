"""A real browser (Debian's chromium through Playwright) against `rcsearch serve`."""
from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from pdfminer.high_level import extract_pages, extract_text
from pdfminer.layout import LTChar, LTContainer
from playwright.sync_api import expect, sync_playwright

from search.readers.lines import fold_ideographs

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(index_dir: Path):
    """`rcsearch serve` over index_dir, for a fixture to yield: its URL once it answers."""
    port = _free_port()
    rcsearch = Path(sys.executable).with_name("rcsearch")
    proc = subprocess.Popen([str(rcsearch), "serve", "--port", str(port), "--index", str(index_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("rcsearch serve did not start: " + proc.stderr.read().decode(errors="replace")[-2000:])
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    proc.stderr.close()


@pytest.fixture(scope="module")
def server(seed_index):
    yield from _serve(seed_index)


@pytest.fixture(scope="module")
def named_server(named_index):
    """A server over reports named the way people name files (NAMED_REPORTS)."""
    yield from _serve(named_index)


@pytest.fixture(scope="module")
def topics_server(topics_index):
    """A server over conftest's TOPICS_REPORT."""
    yield from _serve(topics_index)


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: run `make test` (it installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=[(1280, 900), (390, 844)], ids=["desktop", "phone"])
def page(browser, request):
    context = browser.new_context(viewport={"width": request.param[0], "height": request.param[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.viewport_name = request.node.callspec.id
    yield page
    context.close()
    assert errors == [], f"console errors (CSP violations?): {errors}"


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.viewport_name}.png"), full_page=True)


def test_search_facet_document_and_back(page, server):
    page.goto(server + "/")
    box = page.locator("#q")
    expect(box).to_be_focused()
    box.fill("博爱送万家")
    box.press("Enter")
    expect(page.locator(".summary")).to_contain_text("条结果")
    marks = page.locator(".passage mark")
    assert marks.count() >= 1
    assert set(marks.all_inner_texts()) == {"博爱送万家"}
    shot(page, "search")

    total_before = page.locator(".summary").inner_text()
    page.locator(".facets a", has_text="石家庄市").first.click()
    assert "city=" in page.url
    assert page.locator(".summary").inner_text() != total_before
    assert set(page.locator(".report .meta").all_inner_texts()) == {"河北省 › 石家庄市 · 市级 · 2021年"}

    page.locator(".passage a").first.click()
    expect(page.locator("article.document h1")).to_be_visible()
    assert "#p" in page.url
    assert page.locator(".document mark").count() >= 1
    shot(page, "document")
    page.go_back()
    assert "city=" in page.url
    expect(page.locator(".summary")).to_be_visible()


def test_a_place_typed_is_understood_and_made_a_filter_or_text_in_one_click(page, server):
    page.goto(server + "/")
    page.locator("#q").fill("石家庄 救灾")
    page.locator("#q").press("Enter")
    understood = page.locator(".understood")
    expect(understood).to_have_text("地区：石家庄市 · 来自搜索词「石家庄」 · 设为筛选条件 · 「石家庄」只按文字搜索")
    expect(page.locator(".summary")).to_contain_text("共 2 条结果")
    shot(page, "understood")

    understood.get_by_role("link", name="设为筛选条件").click()
    expect(page.locator("#q")).to_have_value("救灾")
    expect(page.locator(".chips .chip")).to_have_text(["城市：石家庄市 ✕"])
    expect(page.locator(".summary")).to_contain_text("共 2 条结果")

    page.go_back()
    page.locator(".understood").get_by_role("link", name="「石家庄」只按文字搜索").click()
    assert "places=false" in page.url
    expect(page.locator(".summary .relaxed")).to_have_text("以下结果不含「石家庄」")
    offer = page.locator(".offers")
    expect(offer).to_have_text("也可按地区筛选：石家庄市（「石家庄」，2 条）")
    offer.get_by_role("link", name="石家庄市").click()
    expect(page.locator(".summary")).to_contain_text("共 2 条结果")
    expect(page.locator("#q")).to_have_value("救灾")


def test_overview_page(page, server):
    page.goto(server + "/overview")
    expect(page.locator("h1")).to_have_text("馆藏概览")
    shot(page, "overview")


def test_slash_focuses_the_search_box(page, server):
    page.goto(server + "/overview")
    box = page.locator("#q")
    expect(box).to_be_focused()  # the page's own autofocus, done before the box is left
    page.locator("h1").click()
    expect(box).not_to_be_focused()
    page.keyboard.press("/")
    expect(box).to_be_focused()


def test_suggestions_appear_while_typing(page, server):
    page.goto(server + "/")
    page.locator("#q").press_sequentially("造血", delay=50)
    options = page.locator("#suggestions option")
    expect(options.first).to_be_attached(timeout=5000)
    assert "造血干细胞" in [o.get_attribute("value") for o in options.all()]


def test_keyboard_only_search_and_facet(page, server):
    page.goto(server + "/")
    expect(page.locator("#q")).to_be_focused()  # focused by the page itself: type only then
    page.keyboard.type("红十字")
    page.keyboard.press("Enter")
    expect(page.locator(".summary")).to_contain_text("条结果")
    # The new page focuses its search box itself (autofocus): Tab from there, not before it.
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip()
    target = page.locator(".facets a", has_text="河北省").first
    target.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".chips")).to_contain_text("省份：河北省")
    shot(page, "filtered")


def test_a_report_named_with_spaces_and_full_width_brackets_opens(page, named_server):
    page.goto(named_server + "/")
    page.locator("#q").fill("转载专稿")
    page.locator("#q").press("Enter")
    expect(page.locator(".summary")).to_contain_text("共 1 条结果")
    page.locator(".report h3 a", has_text="邢台市红十字会开展博爱送万家").click()
    expect(page.locator("article.document h1")).to_have_text("邢台市红十字会开展博爱送万家")
    assert page.url.startswith(named_server + "/doc/%E9%82%A2%E5%8F%B0%E6%97%A5%E6%8A%A5%202024-10-21%EF%BC%88")
    expect(page.locator(".document mark")).to_have_text("转载专稿")
    shot(page, "document-named")


def test_a_homophone_typo_is_corrected_and_the_exact_search_is_one_click_away(page, server):
    page.goto(server + "/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("造血肝细胞")
    page.keyboard.press("Enter")
    notice = page.locator(".corrected")
    expect(notice).to_have_text("以下是「造血干细胞」的结果。仍然搜索：造血肝细胞")
    expect(page.locator(".summary")).to_contain_text("共 11 条结果")
    expect(page.locator(".snippet mark", has_text="造血干细胞").first).to_be_visible()
    shot(page, "corrected")
    notice.locator("a").click()
    expect(page.locator(".corrected")).to_have_count(0)
    expect(page.locator("#q")).to_have_value("造血肝细胞")


# -- taking results away: 复制链接 and print --------------------------------------------------

def test_a_pinyin_search_marks_its_correction_in_the_results_and_the_report(page, server):
    page.goto(server + "/?q=wuchangxianxue")
    expect(page.locator(".snippet mark").first).to_have_text("无偿献血")
    page.locator(".passage a").first.click()
    expect(page.locator("article.document h1")).to_be_visible()
    expect(page.locator(".document mark").first).to_be_visible()
    assert set(page.locator(".document mark").all_inner_texts()) == {"无偿献血"}


def test_copy_link_puts_the_hits_permalink_on_the_clipboard(page, server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.goto(server + "/?q=魔豆妈妈")
    hit = page.locator(".passage").first
    permalink = hit.locator("a.permalink").get_attribute("href")
    hit.locator("button.copy-link", has_text="复制链接").click()
    expect(hit.locator(".copy-status")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == server + permalink
    page.goto(server + permalink)
    expect(page.locator(".para:target")).to_contain_text("魔豆妈妈")


def test_copy_link_falls_back_where_there_is_no_clipboard_api(page, server):
    """Over plain http on the office network there is no navigator.clipboard."""
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.goto(server + "/?q=魔豆妈妈")
    hit = page.locator(".passage").first
    permalink = hit.locator("a.permalink").get_attribute("href")
    hit.locator("button.copy-link").click()
    status = hit.locator(".copy-status")
    expect(status).to_have_text(re.compile("已复制|^$"))
    if status.inner_text() == "已复制":  # execCommand copied it: the clipboard holds it
        reader = page.context.new_page()
        reader.goto(server + "/overview")
        assert reader.evaluate("navigator.clipboard.readText()") == server + permalink
    else:  # shown selected for Ctrl+C
        expect(status.locator("input")).to_have_value(server + permalink)


def pdf_text(page, name: str) -> tuple[str, list]:
    """Print the page to PDF (its own @page size) and read it back: its text and its pages."""
    ARTIFACTS.mkdir(exist_ok=True)
    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # it warns about every font Chromium embeds
    path = ARTIFACTS / f"{name}-{page.viewport_name}.pdf"
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    # Chromium's PDFs name some CJK glyphs by their Kangxi radicals (⼗ for 十): read as a reader types.
    return fold_ideographs(extract_text(str(path))), list(extract_pages(str(path)))


def is_a4(page) -> bool:
    """210 × 297 mm, give or take the half point Chromium rounds to (Letter is 612 × 792 points)."""
    width, height = page.bbox[2:]
    return abs(width - 595.3) < 1 and abs(height - 841.9) < 1


def test_a_document_prints_on_a4_without_the_site_around_it(page, server):
    page.goto(server + "/doc/001_77d36a74d18f4973?q=魔豆妈妈#p15")
    text, pages = pdf_text(page, "document-print")
    flat = "".join(text.split())
    assert "用爱心凝聚人道力量用行动弘扬红十字精神" in flat
    assert "来源文件：001_77d36a74d18f4973（txt）" in flat and "河北省›石家庄市·2021年" in flat
    for absent in ("跳到主要内容", "馆藏概览", "返回搜索", "下载原文件", "¶"):
        assert absent not in flat, absent
    assert flat.count("加强党组织建设,把政治建设摆在首位") == 1  # its heading, not the table of contents too
    assert all(is_a4(p) for p in pages)
    # The marked term prints bold (visible without colour), the text around it does not.
    chars = [(fold_ideographs(char.get_text()), char.fontname.split("-")[-1]) for p in pages for char in _chars(p)]
    found = [i for i in range(len(chars)) if "".join(text for text, _ in chars[i:i + 4]) == "魔豆妈妈"]
    assert len(found) == 1
    assert chars[found[0] - 1:found[0] + 5] == [("“", "Regular"), ("魔", "Bold"), ("豆", "Bold"), ("妈", "Bold"),
                                                 ("妈", "Bold"), ("”", "Regular")]


def test_a_result_list_prints_without_sidebar_search_box_or_buttons(page, server):
    page.goto(server + "/?q=博爱送万家")
    text, pages = pdf_text(page, "results-print")
    flat = "".join(text.split())
    assert "检索：博爱送万家" in flat and "共5条结果" in flat
    assert "用爱心凝聚人道力量用行动弘扬红十字精神" in flat
    for absent in ("地区", "筛选", "排序", "导出", "复制链接", "段落链接", "搜索关键词", "馆藏概览", "下一页"):
        assert absent not in flat, absent
    assert all(is_a4(p) for p in pages)


def _chars(layout):
    """Every character pdfminer found in a page, however deep in its layout."""
    if isinstance(layout, LTChar):
        yield layout
    elif isinstance(layout, LTContainer):
        for child in layout:
            yield from _chars(child)


def test_a_passages_topics_and_their_words_are_read_on_a_phone_and_printed(page, topics_server):
    page.goto(topics_server + "/doc/topics_report#p4")
    line = page.locator("#p4 .topic-line")
    expect(line).to_be_visible()
    assert line.inner_text().split() == ["主题", "无偿献血", "本段：献血点、献血者", "小标题：无偿献血",
                                         "相邻段落：无偿献血、献血者、献血量、毫升", "志愿服务", "本段：志愿者、志愿服务"]
    box, width = line.bounding_box(), page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # wrapped, never wider than a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, "document-topics")
    flat = "".join(pdf_text(page, "document-topics-print")[0].split())
    assert "志愿服务本段：志愿服务队、注册志愿者、志愿服务小标题：志愿服务" in flat
    line.locator("a.topic", has_text="志愿服务").click()
    expect(page.locator(".summary")).to_contain_text("共 3 条结果")
    assert "topic=" in page.url


# -- the 数字 view ------------------------------------------------------------------------------------

def test_the_figures_tab_filters_sorts_and_opens_a_figure_marked_in_its_passage(page, server):
    page.goto(server + "/?q=志愿者")
    page.locator(".tabs a", has_text="数字").click()
    expect(page.locator(".tabs strong")).to_have_text("数字 81")
    assert "view=figures" in page.url and "q=%E5%BF%97%E6%84%BF%E8%80%85" in page.url
    page.locator("#facets a", has_text="人次").first.click()
    expect(page.locator(".chips")).to_contain_text("单位：人次")
    page.locator("form.range input[name=min]").fill("1万")
    page.locator("form.range select[name=approx]").select_option("false")
    page.locator("form.range button").click()
    expect(page.locator(".summary")).to_have_text("25 条段落中有 3 个符合条件的数字")
    expect(page.locator(".chips")).to_contain_text("约数：只看确数")
    page.locator(".sort a", has_text="数值从大到小").click()
    rows = page.locator("table.figures tbody tr")
    expect(rows).to_have_count(3)
    assert page.locator("td.num").all_inner_texts() == ["170,000 人次", "129,050 人次", "65,500 人次"]
    expect(page.locator("td.figure a").first).to_be_visible()  # a card on a phone, a row on a desk
    shot(page, "figures")
    text = page.locator("td.figure a").first.inner_text()
    page.locator("td.figure a").first.click()
    marked = page.locator(".document mark.figure")
    expect(marked).to_have_text(text)
    expect(marked).to_be_in_viewport()
    expect(page.locator(".para:target mark.figure")).to_have_count(1)
    shot(page, "figure-marked")
    page.locator(".back a").click()
    expect(page.locator(".tabs strong")).to_have_text("数字 3")


def test_the_figure_table_prints_as_a_table_without_its_controls(page, server):
    page.goto(server + "/?q=志愿者&view=figures&city=石家庄&sort=-value")
    text, pages = pdf_text(page, "figures-print")
    flat = "".join(text.split())
    assert "检索：志愿者·数字表" in flat and "5条段落中有14个数字" in flat
    assert "数字数值所计地区年份报告" in flat  # the header row: a table, not the phone's cards
    assert "17万人次170,000人次参与无偿献血河北省›石家庄" in flat  # (a wrapped cell reads on after the row)
    for absent in ("数值范围", "筛选", "排序", "导出", "馆藏概览", "下一页", "第25段"):
        assert absent not in flat, absent
    assert all(is_a4(p) for p in pages)
