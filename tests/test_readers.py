"""Readers: Word files, browser-printed PDFs and saved news pages the project composes, read as a
user sees them (titles, headings, passages, search), and every kind of file that is refused."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from pdfminer.high_level import extract_text
from pypdf import PdfReader

import fixtures_docs as docs
from search.engine import Engine
from search.index import update_index
from search.ingest import MAX_FILE_BYTES, IngestError, document_from_stored, parse_document, read_document, split_long
from search.lookups import document
from search.querylang import SearchRequest
from search.readers import SUPPORTED_SUFFIXES, refusal
from search.readers.lines import fold_ideographs

RADICALS = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf\uf900-\ufaff\U0002f800-\U0002fa1f]")
PAGE_NUMBER = re.compile(r"第\s*\d+\s*页")


# Text broken by hand before it was printed (a pasted newspaper column): every line stops at
# the break, well short of the margin, whatever the sentence.
HAND_BROKEN = ["青浦区红十字会", "2022年应急救护培训工作情况",
               "今年以来，区红十字会围绕“救在身边”目标，在全区街镇开展应急救护",
               "培训，全年培训持证救护员三千二百人，普及培训群众四万余人次。",
               "区红十字会还在地铁站和大型商场新设自动体外除颤",
               "器六十台，组织志愿者定期巡检，确保设备随时可用。"]


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    with docs.chromium() as browser:
        return {"report": docs.printed_pdf(browser, docs.report_html()),
                "lookalike": docs.printed_pdf(browser, docs.lookalike_html(page=False)),
                "scan": docs.printed_pdf(browser, docs.SCAN_HTML, furniture=False),
                "hand broken": docs.printed_pdf(browser, "<meta charset='utf-8'><body style='font-size:14pt;"
                                                          "width:15cm'>" + "<br>".join(HAND_BROKEN), furniture=False)}


def report_passages(with_table: bool) -> list[tuple[str, str, str]]:
    """(role, heading, text) of every passage the composed report must give, in order."""
    passages = [("lead", "", docs.TITLE)]
    for number, (heading, paragraphs) in enumerate(docs.SECTIONS):
        heading = docs.folded(heading)
        passages.append(("heading", heading, heading))
        passages += [("paragraph", heading, piece) for text in paragraphs for piece in split_long(docs.folded(text))]
        if with_table and number == 0:
            passages += [("paragraph", heading, line) for line in docs.TABLE_LINES]
    return passages


def seen(doc) -> list[tuple[str, str, str]]:
    return [(p.role, p.heading, p.text) for p in doc.passages]


# ------------------------------------------------------------------------------------------ Word

def test_word_styles_give_title_and_headings_and_table_rows_are_passages():
    doc = parse_document("工作报告（定稿）", docs.word_report(), "docx")
    assert doc.title == docs.TITLE
    assert seen(doc) == report_passages(with_table=True)


def test_word_header_footer_and_comments_are_not_text():
    doc = parse_document("report", docs.word_report(), "docx")
    for furniture in (docs.WORD_HEADER, docs.WORD_FOOTER, docs.WORD_COMMENT, "审阅人"):
        assert furniture not in doc.source


def test_word_own_title_wins_over_the_metadata_title():
    doc = parse_document("report", docs.word_report(core_title="模板里的旧标题"), "docx")
    assert doc.title == docs.TITLE
    assert "模板里的旧标题" not in doc.source


def test_word_typed_without_styles_keeps_its_centred_title_bold_heading_and_tracked_insertion():
    doc = parse_document("总结", docs.word_without_styles(), "docx")
    assert doc.title == "某县红十字会工作总结"
    assert seen(doc) == [
        ("lead", "", "某县红十字会工作总结"),
        ("heading", "一、组织建设", "一、组织建设"),
        ("paragraph", "一、组织建设", "今年以来，县红十字会完成换届，新发展团体会员十二个，其中学校红十字会两个。"),
        ("paragraph", "一、组织建设", "联系人：李红"),
        ("paragraph", "一、组织建设", "电话：0571-1234567"),
    ]
    assert "Microsoft Word" not in doc.source


def test_word_file_with_photos_larger_than_the_text_limit_is_read(tmp_path):
    path = tmp_path / "有照片的报告.docx"
    path.write_bytes(docs.word_report(photo_megabytes=12))
    assert path.stat().st_size > MAX_FILE_BYTES
    doc = read_document(path)
    assert seen(doc) == report_passages(with_table=True)


def test_more_text_than_a_report_holds_is_refused():
    with pytest.raises(IngestError) as error:
        document_from_stored("巨型", "红十字会开展救护培训。\n" * 1_000_000, "docx", "0" * 64, None)
    assert str(error.value) == ("巨型.docx: too much text (12.0 million characters; the limit is 10 million): "
                                "split the report into several files")


# ------------------------------------------------------------------------------------------- PDF

def test_printed_pdf_is_a_multi_page_text_layer_with_furniture_and_radicals(pdfs):
    """The fixture is what the other PDF tests rely on: several pages, running heads, page
    numbers, Kangxi radicals and a paragraph that goes on over a page break."""
    pdf = pdfs["report"]
    pages = [extract_text(io.BytesIO(pdf), page_numbers=[n]) for n in range(len(PdfReader(io.BytesIO(pdf)).pages))]
    assert len(pages) >= 3
    assert all(docs.PDF_HEADER in page and PAGE_NUMBER.search(page) for page in pages)
    assert {"⾎", "⼲", "⼈", "⽢"} <= set("".join(pages))
    body_ends = [[line for line in page.split("\n") if line.strip() and docs.PDF_HEADER not in line
                  and not PAGE_NUMBER.search(line)][-1] for page in pages[:-1]]
    assert any(not end.endswith("。") for end in body_ends)


def test_pdf_paragraphs_are_rebuilt_across_line_and_page_breaks(pdfs):
    doc = parse_document("report", pdfs["report"], "pdf")
    assert doc.title == docs.TITLE
    assert seen(doc) == report_passages(with_table=False)


def test_pdf_text_broken_by_hand_before_printing_is_joined_into_its_sentences(pdfs):
    doc = parse_document("column", pdfs["hand broken"], "pdf")
    assert (doc.title, seen(doc)) == ("2022年应急救护培训工作情况", [
        ("lead", "", "青浦区红十字会\n2022年应急救护培训工作情况"),
        ("paragraph", "", "".join(HAND_BROKEN[2:]))])


def test_pdf_page_furniture_and_radicals_are_gone(pdfs):
    doc = parse_document("report", pdfs["report"], "pdf")
    assert not RADICALS.search(doc.source)
    assert "内部资料" not in doc.source and not PAGE_NUMBER.search(doc.source)


def test_radicals_fold_to_the_characters_a_reader_types():
    # Kangxi radicals, the CJK Radicals Supplement, a compatibility ideograph (U+F9A8 令).
    assert fold_ideographs("⾎⼲⼈⽢ ⻋⻘⻔⻝⺠⻣ ⼾\uf9a8，") == "血干人甘 车青门食民骨 户令，"


# ------------------------------------------------------------------------------------------ HTML

NEWS_PASSAGES = [("lead", "", docs.NEWS_TITLE)] + [("paragraph", "", text) for text in docs.NEWS_PARAGRAPHS] + [
    ("heading", docs.NEWS_HEADING, docs.NEWS_HEADING), ("paragraph", docs.NEWS_HEADING, docs.NEWS_LAST)]


@pytest.mark.parametrize("charset", ["utf-8", "gbk", "gb2312", "utf-16"])
def test_news_page_gives_the_article_its_headline_and_date(charset):
    doc = parse_document("news", docs.news_page(charset), "html")
    assert (doc.title, doc.date) == (docs.NEWS_TITLE, docs.NEWS_DATE)
    assert seen(doc) == NEWS_PASSAGES
    assert [word for word in docs.NEWS_FURNITURE if word in doc.source] == []


def test_news_page_without_h1_takes_the_title_without_site_and_channel_names():
    page = docs.news_page().replace(b"<h1>", b'<div class="title">').replace(b"</h1>", b"</div>")
    doc = parse_document("news", page, "htm")
    assert doc.title == docs.NEWS_TITLE


def test_old_table_page_with_br_paragraphs_a_detected_charset_and_a_chinese_date():
    doc = parse_document("old", docs.old_news_page(), "htm")
    assert (doc.title, doc.date) == (docs.OLD_NEWS_TITLE, docs.OLD_NEWS_DATE)
    paragraphs = [p.text for p in doc.passages if p.role == "paragraph"]
    assert paragraphs[-3:] == docs.OLD_NEWS_PARAGRAPHS
    assert [text for text in paragraphs if re.search("首页|信息公开|志愿服务|版权所有|Copyright", text)] == []


def test_page_without_an_article_is_refused():
    page = "<html><head><title>首页</title></head><body><ul><li><a href=/>首页</a></li></ul></body></html>"
    with pytest.raises(IngestError, match="^nav.html: no article text found in this web page"):
        parse_document("nav", page.encode(), "html")


# ------------------------------------------------------------------ text that looks like furniture

def lookalike_files(pdfs) -> dict[str, bytes]:
    """The report whose paragraphs begin as page widgets do, with tables, in every format."""
    return {"简报.txt": docs.lookalike_text(markdown=False), "简报.md": docs.lookalike_text(markdown=True),
            "简报.docx": docs.lookalike_word(), "简报.html": docs.lookalike_html(page=True).encode(),
            "简报.pdf": pdfs["lookalike"]}


@pytest.mark.parametrize("name", ["简报.txt", "简报.md", "简报.docx", "简报.html"])
def test_paragraphs_that_begin_like_widgets_and_table_rows_are_passages(pdfs, name):
    """收藏…, 热门…, 点击…, 打印…, 关闭…, 首页… paragraphs, a line of wrapped text that begins
    with 更多, and each row of a table with a header row (时间|地点|内容|人数) and without one,
    the last at the very end of the report: all the report's own passages."""
    stem, fmt = name.split(".")
    doc = parse_document(stem, lookalike_files(pdfs)[name], fmt)
    assert (doc.title, seen(doc)) == (docs.LOOKALIKE_TITLE, docs.lookalike_passages())


def test_pdf_keeps_every_table_cell_and_paragraph_that_begins_like_a_widget(pdfs):
    """A PDF's table comes out as pdfminer reads it (cells on one baseline one after the other are
    a row; a row it reads as one line is a line): every sentence stays whole and no cell is lost,
    not one at the foot or the top of a page, where numbers look like page numbers."""
    doc = parse_document("简报", pdfs["lookalike"], "pdf")
    texts = [p.text for p in doc.passages]
    paragraphs = [text for role, _, text in docs.lookalike_passages() if role == "paragraph" and "：" not in text
                  and " | " not in text]
    assert [text for text in paragraphs if not any(text in passage for passage in texts)] == []
    cells = [cell for table in (docs.LOOKALIKE_TABLE, docs.LOOKALIKE_PLAIN_TABLE) for row in table for cell in row]
    words = " ".join(texts).replace("|", " ").split()
    assert [cell for cell in cells if not any(cell in word for word in words)] == []


@pytest.fixture(scope="module")
def lookalike_index(tmp_path_factory, pdfs) -> Path:
    sources = tmp_path_factory.mktemp("lookalike")
    for name, data in lookalike_files(pdfs).items():
        (sources / name.replace(".", "-" + name.split(".")[1] + ".")).write_bytes(data)
    index_dir = tmp_path_factory.mktemp("lookalike-index")
    assert update_index([sources], index_dir).failed == []
    return index_dir


@pytest.mark.parametrize("probe", docs.LOOKALIKE_PROBES)
def test_each_probe_word_of_tables_and_widget_like_paragraphs_is_found_in_every_format(lookalike_index, probe):
    hits = Engine(lookalike_index).search(SearchRequest(q=probe, limit=50, correct=False)).hits
    assert sorted({hit.doc_id for hit in hits if probe in hit.text}) == [
        "简报-docx", "简报-html", "简报-md", "简报-pdf", "简报-txt"]


# ------------------------------------------------------------------------------- stored documents

def test_a_stored_document_is_rebuilt_without_its_file(pdfs):
    for doc in (parse_document("w", docs.word_report(), "docx"), parse_document("p", pdfs["report"], "pdf"),
                parse_document("h", docs.news_page("gbk"), "htm"), parse_document("m", docs.lookalike_text(True), "md"),
                parse_document("l", pdfs["lookalike"], "pdf"), parse_document("t", docs.lookalike_word(), "docx")):
        assert document_from_stored(doc.doc_id, doc.source, doc.format, doc.content_hash, doc.date) == doc


# ------------------------------------------------------------------------------ refused files

SAVE_AS = "open it in Word or WPS and save it as .docx (or export it as PDF)"


@pytest.mark.parametrize("name, message", [
    ("2020年报告.doc", f"an old binary Word file (.doc) cannot be read: {SAVE_AS}"),
    ("总结.wps", f"a WPS Writer file (.wps) cannot be read: {SAVE_AS}"),
    ("统计.xls", f"a spreadsheet (.xls) cannot be read: {SAVE_AS}"),
    ("汇报.pptx", f"a presentation (.pptx) cannot be read: {SAVE_AS}"),
    ("扫描.jpg", "an image has no text to index: run OCR on it and save the text as .docx, "
                 "or as a PDF with a text layer"),
    ("notes.xyz", "unsupported file type .xyz: rcsearch reads .txt, .md, .docx, .pdf, .html, .htm"),
])
def test_other_formats_are_refused_by_name_with_what_to_do(tmp_path, name, message):
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not read")
    assert refusal(path) == message
    with pytest.raises(IngestError) as error:
        read_document(path)
    assert str(error.value) == f"{name}: {message}"


def test_every_supported_suffix_has_a_reader():
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
    assert [refusal(f"a{suffix.upper()}") for suffix in SUPPORTED_SUFFIXES] == [None] * 6


def broken_files(pdfs) -> dict[str, bytes]:
    report = docs.word_report()
    return {
        "扫描件.pdf": pdfs["scan"],
        "加密.pdf": docs.encrypted(pdfs["report"]),
        "下载一半.pdf": pdfs["report"][:len(pdfs["report"]) // 2],
        "不是PDF.pdf": b"<html>404 Not Found</html>",
        "损坏.docx": report[:len(report) // 2],
        "改了扩展名.docx": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
    }


BROKEN = {
    "扫描件.pdf": "the PDF has no text layer (a scan, or pictures of text): run OCR on it (for example ocrmypdf, "
                "or 'recognize text' in a PDF editor) and index the result",
    "加密.pdf": "the PDF is encrypted with a password: save a copy without the password (open it with the "
              "password and print or export it to a new PDF)",
    "下载一半.pdf": "the PDF is truncated (its end is missing; it was not completely downloaded or copied): "
                "get a complete copy of the file",
    "不是PDF.pdf": "not a PDF file (it does not start with %PDF-): the file is damaged or of another kind; "
                 "open it and save it again as PDF",
    "损坏.docx": "not a readable .docx (the file is damaged or is not a Word document: File is not a zip file): "
               "open it in Word or WPS and save it again as .docx",
    "改了扩展名.docx": "this is an old Word (.doc) file or a password-protected document, not a .docx: open it "
                  "in Word or WPS, remove any password, and save it as .docx",
}


def test_broken_files_fail_by_name_with_the_reason(tmp_path, pdfs):
    for name, data in broken_files(pdfs).items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(IngestError) as error:
            read_document(tmp_path / name)
        assert str(error.value) == f"{name}: {BROKEN[name]}"


def test_zip_that_is_not_a_word_file_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not a Word document")
    (tmp_path / "archive.docx").write_bytes(out.getvalue())
    with pytest.raises(IngestError, match=r"^archive.docx: not a readable .docx \(the file is damaged or is not "
                                          r"a Word document: .*\): open it in Word or WPS and save it again as .docx$"):
        read_document(tmp_path / "archive.docx")


# ----------------------------------------------------------------------- through a real index

@pytest.fixture(scope="module")
def library(tmp_path_factory, pdfs) -> tuple[Path, Path]:
    """A source folder with the report as a PDF and as a Word file, the news page (GBK) and every
    broken file, and the index built from it."""
    sources = tmp_path_factory.mktemp("sources")
    (sources / "2023年工作报告-打印版.pdf").write_bytes(pdfs["report"])
    (sources / "2023年工作报告-定稿.docx").write_bytes(docs.word_report())
    (sources / "慰问活动.htm").write_bytes(docs.news_page("gbk"))
    for name, data in broken_files(pdfs).items():
        (sources / name).write_bytes(data)
    index_dir = tmp_path_factory.mktemp("index")
    summary = update_index([sources], index_dir)
    assert sorted(summary.added) == sorted(["2023年工作报告-打印版", "2023年工作报告-定稿", "慰问活动"])
    assert sorted(summary.failed) == sorted(BROKEN.items())
    return sources, index_dir


def line_break_phrase(pdf: bytes) -> str:
    """Eight characters of a paragraph that the PDF prints on two lines, four on each."""
    text = extract_text(io.BytesIO(pdf), page_numbers=[0])
    lines = [fold_ideographs(line.strip()) for line in text.split("\n") if line.strip()]
    paragraphs = [docs.folded(text) for _, texts in docs.SECTIONS for text in texts]
    for first, second in zip(lines, lines[1:]):
        if len(first) >= 4 and len(second) >= 4 and any(first + second in text for text in paragraphs):
            return first[-4:] + second[:4]
    raise AssertionError("no paragraph of the report breaks over two lines")


def search(index_dir: Path, q: str):
    return Engine(index_dir).search(SearchRequest(q=q, limit=20))


def test_exact_phrase_across_a_pdf_line_break_is_found(library, pdfs):
    phrase = line_break_phrase(pdfs["report"])
    hits = search(library[1], f'"{phrase}"').hits
    assert {hit.doc_id for hit in hits} == {"2023年工作报告-打印版", "2023年工作报告-定稿"}
    assert all(phrase in hit.text for hit in hits)


def test_text_printed_with_radicals_is_found_as_typed(library):
    hits = search(library[1], '"来自甘肃的务工青年"').hits
    assert [hit.doc_id for hit in hits if hit.doc_id.endswith("打印版")] == ["2023年工作报告-打印版"]


def test_no_furniture_in_any_indexed_passage(library):
    engine = Engine(library[1])
    furniture = [docs.PDF_HEADER, "内部资料", docs.WORD_HEADER, docs.WORD_FOOTER, docs.WORD_COMMENT,
                 *docs.NEWS_FURNITURE]
    for doc_id in ("2023年工作报告-打印版", "2023年工作报告-定稿", "慰问活动"):
        texts = [p["text"] for p in document(engine, doc_id).passages]
        assert [(word, text) for text in texts for word in furniture if word in text] == []
        assert not any(PAGE_NUMBER.search(text) for text in texts)


def test_page_date_gives_the_year_when_the_text_has_none(library):
    [hit] = search(library[1], '"博爱送万家”新春慰问"').hits[:1]
    assert (hit.doc_id, hit.year) == ("慰问活动", 2024)


def test_failed_pdf_keeps_its_indexed_version_across_a_rebuild(tmp_path, pdfs):
    sources = tmp_path / "sources"
    sources.mkdir()
    pdf = sources / "年报.pdf"
    pdf.write_bytes(pdfs["report"])
    index_dir = tmp_path / "index"
    update_index([sources], index_dir)
    pdf.write_bytes(pdfs["report"][:5000])
    summary = update_index([sources], index_dir, rebuild=True)
    assert summary.failed == [("年报.pdf", BROKEN["下载一半.pdf"])]
    view = document(Engine(index_dir), "年报")
    assert view.title == docs.TITLE
    assert [(p["role"], p["heading"], p["text"]) for p in view.passages] == report_passages(with_table=False)
