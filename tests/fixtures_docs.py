"""Report files the project composes for the reader tests and the ingest benchmark.

One report (title, headed sections, paragraphs, a table; Kangxi radicals in its text as PDF
fonts produce them) written as a Word file with python-docx, printed to PDF by the real
chromium with running heads and page numbers, and saved as a news page with all the
furniture of one; plus the broken files each reader must refuse.
"""
from __future__ import annotations

import io
import random
import struct
import zlib
from contextlib import contextmanager
from html import escape

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from search.readers.lines import fold_ideographs

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

TITLE = "某市红十字会2023年工作报告"
# ⾎ ⼲ ⼈ ⽢ are Kangxi radicals (U+2F8E, U+2F32, U+2F08, U+2F62), as PDF fonts put them for 血 干 人 甘.
SECTIONS = [
    ("一、应急救护培训", [
        "2023年，市红十字会把应急救护培训作为服务群众的重要抓手，全年举办救护员培训班八十六期，"
        "培训持证救护员四千二百⼈，开展普及培训三百二十场次，受益群众逾五万⼈次。",
        "我们在火车站、体育馆和大型商场新设自动体外除颤器一百二十台，组织志愿者定期巡检，"
        "并在全市中小学推进“救在身边”进校园活动，让急救知识走进课堂。",
    ]),
    ("二、无偿献⾎与造⾎⼲细胞捐献", [
        "全年组织无偿献⾎活动四十六场，参与献⾎的机关⼲部、企业职工和⾼校学生达一万一千余⼈，"
        "采集⾎液三千八百单位，有力保障了临床用⾎需求。新增造⾎⼲细胞⼊库志愿者一千六百名，"
        "实现捐献十一例，其中一位捐献者是来自⽢肃的务工青年，他在得知配型成功后第一时间同意捐献。"
        "市红十字会为每一位捐献者安排专人陪护，协调医院做好体检、动员剂注射和采集工作，"
        "并在捐献完成后组织回访，帮助捐献者尽快恢复正常的工作和生活。我们还联合卫健、教育、"
        "团委等部门，在十二所高校建立宣传志愿服务队，通过主题班会、校园广播和新媒体平台介绍"
        "捐献知识，澄清“捐献伤身体”等误解，越来越多的青年学生主动加入中华骨髓库。"
        "与此同时，遗体和人体器官捐献工作稳步推进，全年登记志愿者两千三百余名，实现遗体捐献"
        "九例、器官捐献十四例，市红十字会在清明节前后组织缅怀纪念活动，向捐献者家属致以敬意，"
        "营造了尊重生命、崇尚奉献的社会氛围。",
        "造血干细胞捐献者之家和捐献者关爱基金正式启用，为困难捐献者家庭提供帮扶。",
    ]),
    ("三、人道救助", [
        "“博爱送万家”活动覆盖全市十个县区，走访慰问困难群众二千八百户，发放大米、食用油、"
        "棉被等物资，折合人民币三百六十万元。",
        "在汛期防汛救灾中，市红十字会启动四级应急响应，调拨帐篷、折叠床和家庭应急包，"
        "派出救援队员八十余名协助转移受灾群众。",
    ]),
]
TABLE = [["项目", "2022年", "2023年"], ["救护员培训", "3900人", "4200人"], ["无偿献血", "3500单位", "3800单位"]]
TABLE_LINES = ["项目：救护员培训；2022年：3900人；2023年：4200人", "项目：无偿献血；2022年：3500单位；2023年：3800单位"]


def folded(text: str) -> str:
    """The text as a reader types it: what each reader must make of the composed text."""
    return fold_ideographs(text)


# ---------------------------------------------------------------------------------------- Word

WORD_HEADER = "某市红十字会文件（页眉）"
WORD_FOOTER = "内部资料 注意保存（页脚）"
WORD_COMMENT = "审阅意见：此处数字请再核对"


def word_report(core_title: str = "", photo_megabytes: int = 0) -> bytes:
    """The report as Word writes it: Title and Heading 1 styles, an empty (or given) metadata
    title, a table, a page header and footer and a comment, none of which belong in the text;
    and, if asked, a photo of that many megabytes."""
    document = docx.Document()
    if photo_megabytes:
        document.add_picture(io.BytesIO(noise_png(photo_megabytes)))
    document.core_properties.title = core_title
    section = document.sections[0]
    section.header.paragraphs[0].text = WORD_HEADER
    section.footer.paragraphs[0].text = WORD_FOOTER
    document.add_paragraph(TITLE, style="Title")
    for number, (heading, paragraphs) in enumerate(SECTIONS):
        document.add_paragraph(heading, style="Heading 1")
        for text in paragraphs:
            paragraph = document.add_paragraph(text)
            if number == 0:
                document.add_comment(paragraph.runs, text=WORD_COMMENT, author="审阅人")
        if number == 0:
            table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
            for r, row in enumerate(TABLE):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
    return _saved(document)


def word_without_styles() -> bytes:
    """A report typed without styles: a centred first line for its title, a bold line for a
    heading, a soft line break and tracked changes inside a paragraph, a leftover program name
    as metadata title."""
    document = docx.Document()
    document.core_properties.title = "Microsoft Word - 旧模板.doc"
    document.add_paragraph("某县红十字会工作总结").alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph().add_run("一、组织建设").bold = True
    paragraph = document.add_paragraph("今年以来，县红十字会完成换届，")
    paragraph.add_run().add_break()
    paragraph.add_run("新发展团体会员十二个")
    for change in (f'<w:ins {nsdecls("w")} w:id="1" w:author="审阅人"><w:r><w:t>，其中学校红十字会两个</w:t></w:r></w:ins>',
                   f'<w:del {nsdecls("w")} w:id="2" w:author="审阅人"><w:r><w:delText>和企业</w:delText></w:r></w:del>'):
        paragraph._p.append(parse_xml(change))
    paragraph.add_run("。")
    table = document.add_table(rows=2, cols=2)
    for r, (label, value) in enumerate([("联系人", "李红"), ("电话：", "0571-1234567")]):
        table.cell(r, 0).text, table.cell(r, 1).text = label, value
    return _saved(document)


def noise_png(megabytes: int) -> bytes:
    """An uncompressed PNG of random pixels (so it stays that big inside a .docx)."""
    width = 1024
    height = megabytes * 2**20 // (3 * width)
    noise = random.Random(0)
    rows = b"".join(b"\x00" + noise.randbytes(3 * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


def _saved(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------------------- PDF

PDF_HEADER = "某市红十字会 2023年工作报告（内部资料）"
PDF_STYLE = """
body { font-family: 'Noto Serif CJK SC'; font-size: 26px; line-height: 2.1; margin: 0; }
h1 { text-align: center; font-size: 40px; margin: 0 0 24px; }
h2 { font-size: 32px; margin: 18px 0; }
p { text-indent: 2em; margin: 0 0 14px; }
table { border-collapse: collapse; margin: 12px 0; } td { border: 1px solid #000; padding: 4px 12px; }
"""


def report_html(copies: int = 1) -> str:
    """The report as a page to print (its sections `copies` times over): every paragraph breaks
    over several lines."""
    body = [f"<h1>{escape(TITLE)}</h1>"]
    for heading, paragraphs in SECTIONS * copies:
        body.append(f"<h2>{escape(heading)}</h2>")
        body += [f"<p>{escape(text)}</p>" for text in paragraphs]
    return (f'<!doctype html><html><head><meta charset="utf-8"><style>{PDF_STYLE}</style></head>'
            f'<body>{"".join(body)}</body></html>')


SCAN_HTML = ("<!doctype html><html><body><canvas id=c width=700 height=900></canvas><svg width=300 height=80>"
             "<rect width=300 height=80 fill=#888 /></svg><script>const x=document.getElementById('c')"
             ".getContext('2d');x.fillStyle='#ddd';x.fillRect(0,0,700,900);x.fillStyle='#000';"
             "x.font='32px sans-serif';x.fillText('扫描件：某市红十字会2023年工作报告',40,120);</script></body></html>")


@contextmanager
def chromium():
    """Debian's chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def printed_pdf(browser, html: str, furniture: bool = True) -> bytes:
    """`html` printed to A4 by chromium, with a running head and "第 N 页 共 M 页" at the foot."""
    page = browser.new_page()
    try:
        page.set_content(html)
        options = dict(format="A4", print_background=True,
                       margin={"top": "90px", "bottom": "90px", "left": "70px", "right": "70px"})
        if furniture:
            options.update(display_header_footer=True,
                           header_template=f'<div style="font-size:10px;width:100%;text-align:center">'
                                           f'{escape(PDF_HEADER)}</div>',
                           footer_template='<div style="font-size:10px;width:100%;text-align:center">'
                                           '第 <span class="pageNumber"></span> 页 共 '
                                           '<span class="totalPages"></span> 页</div>')
        return page.pdf(**options)
    finally:
        page.close()


def encrypted(pdf: bytes, password: str = "rc2023") -> bytes:
    """The PDF locked with a user password (AES-256), as a PDF editor saves it."""
    from pypdf import PdfReader, PdfWriter
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- HTML

NEWS_TITLE = "某县红十字会开展“博爱送万家”新春慰问活动"
NEWS_SITE = "某省红十字会"
NEWS_DATE = "2024-01-26"
NEWS_PARAGRAPHS = [
    "1月25日，某县红十字会联合县慈善总会开展“博爱送万家”新春慰问活动，为困难群众送去大米、"
    "食用油、棉被等慰问物资，折合人民币共计十二万元。",
    "活动中，工作人员走进困难家庭，详细了解他们的生活状况和实际困难，叮嘱他们注意身体，"
    "并送上新春祝福。",
]
NEWS_HEADING = "持续开展人道救助"
NEWS_LAST = ("近年来，某县红十字会坚持把人道救助作为核心业务，累计救助困难群众三千余人次，"
             "受到社会各界好评。")
# Furniture around the article: none of it may become a passage.
NEWS_FURNITURE = ["网站首页", "新闻中心", "信息公开", "我要捐赠", "当前位置", "基层动态", "分享到", "微信", "微博",
                  "上一篇", "下一篇", "相关新闻", "造血干细胞捐献宣传", "网友评论", "为红十字会点赞", "版权所有",
                  "备案号", "统计代码", "浏览次数", "责任编辑"]


def news_page(charset: str = "utf-8") -> bytes:
    """A news article as a browser saves it from a provincial Red Cross site."""
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    paragraphs = "".join(f"<p>{escape(text)}</p>" for text in NEWS_PARAGRAPHS)
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head>{meta}
<title>{escape(NEWS_TITLE)}_基层动态_{NEWS_SITE}</title>
<meta name="keywords" content="红十字,博爱送万家">
<script>var _hmt = _hmt || []; document.write("统计代码");</script>
<style>.nav li {{ display: inline; }}</style>
</head><body>
<div class="header"><div class="logo">{NEWS_SITE}</div>
<ul class="nav"><li><a href="/">网站首页</a></li><li><a href="/xw/">新闻中心</a></li>
<li><a href="/gk/">信息公开</a></li><li><a href="/jz/">我要捐赠</a></li></ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">新闻中心</a> &gt; 基层动态</div>
<div class="main"><div class="article">
<h1>{escape(NEWS_TITLE)}</h1>
<div class="info">发布时间：{NEWS_DATE} 10:32 来源：某县红十字会 浏览次数：123</div>
<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>
<div class="content" id="content">{paragraphs}
<h2>{escape(NEWS_HEADING)}</h2><p>{escape(NEWS_LAST)}</p></div>
<div class="editor">责任编辑：李四</div>
<div class="prevnext"><a href="/p">上一篇：某县红十字会召开理事会</a> <a href="/n">下一篇：某县开展应急救护培训</a></div>
</div>
<div class="related"><h3>相关新闻</h3><ul><li><a href="/a">某市红十字会开展造血干细胞捐献宣传</a></li>
<li><a href="/b">某区红十字会举办救护员培训班</a></li></ul></div>
<div class="comments"><h3>网友评论</h3><div class="comment">网友甲：为红十字会点赞！</div></div>
</div>
<div class="footer">版权所有：{NEWS_SITE} 地址：某市某路1号 备案号：某ICP备12345678号</div>
<script>console.log("footer");</script>
</body></html>"""
    return page.encode("gb18030" if charset.lower() in ("gbk", "gb2312") else charset)


OLD_NEWS_TITLE = "某县红十字会举办应急救护师资培训班"
OLD_NEWS_DATE = "2023-11-08"
OLD_NEWS_PARAGRAPHS = [
    "11月6日至8日，某县红十字会举办应急救护师资培训班，来自全县各乡镇和学校的四十名学员参加培训。",
    "培训采用理论讲授与实操演练相结合的方式，学员们系统学习了心肺复苏、创伤止血包扎和气道异物梗阻急救等内容。",
    "经考核，三十八名学员取得应急救护师资证书，将在各自单位开展普及培训。",
]


def old_news_page() -> bytes:
    """A page from an old table-layout site, saved in GBK without a declared charset: the
    headline in bold, paragraphs separated by <br> and full-width spaces, the date in Chinese."""
    paragraphs = "<br>".join("\u3000\u3000" + escape(text) for text in OLD_NEWS_PARAGRAPHS)
    page = f"""<html><head><title>{OLD_NEWS_TITLE}_县红十字会</title></head><body>
<table width="100%"><tr><td><a href="/">网站首页</a> | <a href="/gk/">信息公开</a> | <a href="/fw/">志愿服务</a></td></tr></table>
<table width="760"><tr><td class="title"><b>{OLD_NEWS_TITLE}</b></td></tr>
<tr><td class="info">发布日期：2023年11月8日 来源：县红十字会 【字体：大 中 小】 【打印】 【关闭】</td></tr>
<tr><td id="zoom">{paragraphs}</td></tr></table>
<table width="100%"><tr><td>Copyright 某县红十字会 版权所有</td></tr></table></body></html>"""
    return page.encode("gbk")


# ------------------------------------------------------------ report text that looks like furniture

LOOKALIKE_TITLE = "某区红十字会2024年上半年工作简报"
LOOKALIKE_SECTIONS = ("一、应急救护", "二、无偿献血与人道救助")
# Paragraphs that begin as page widgets and links do (收藏, 热门, 点击, 打印, 关闭, 首页); the
# word each is found by.
LOOKALIKE_PARAGRAPHS = {
    "紫砂壶": "收藏家周先生向区红十字会捐赠紫砂壶四十把，义卖所得全部用于资助困难学生。",
    "夜校": "热门的夜校急救课程名额很快报满，区红十字会又加开了两期周末班。",
    "海姆立克": "点击量最高的一部科普短片讲解海姆立克急救法，累计播放二十万次。",
    "耗材": "打印耗材厂的四十六名职工在工会组织下参加了无偿献血。",
    "倡议书": "首页刊登的倡议书发出后，两百多名居民报名成为红十字志愿者。",
    "博爱超市": "关闭三年的博爱超市重新开张，为困难群众提供免费的米面粮油。",
}
# A paragraph as hard-wrapped text breaks it: a line in mid-sentence begins with 更多.
LOOKALIKE_WRAPPED = ["今年区红十字会把急救课堂搬进建筑工地和农贸市场，让",
                     "更多群众掌握了心肺复苏和止血包扎技能，全年培训",
                     "一万二千人次。"]
# A table under a header row whose labels read like a page's metadata (时间, 地点 …), and one
# without a header, at the very end of the report.
LOOKALIKE_TABLE = [["时间", "地点", "内容", "人数"], ["3月5日", "翠湖社区", "心肺复苏培训", "120"],
                   ["4月9日", "槐荫小学", "防溺水宣传", "300"], ["5月8日", "红枫广场", "首页展板与宣传折页", "80"]]
LOOKALIKE_PLAIN_TABLE = [["樱桃沟村", "12", "600"], ["杏林街道", "9", "450"], ["更多社区", "5", "210"]]
LOOKALIKE_PROBES = [*LOOKALIKE_PARAGRAPHS, "止血包扎", "翠湖", "槐荫", "折页", "樱桃沟", "杏林"]


def lookalike_blocks() -> list[tuple[str, object]]:
    """The report in reading order: ("title" | "heading" | "paragraph", text),
    ("wrapped", lines) and ("table" | "plain table", rows)."""
    p = LOOKALIKE_PARAGRAPHS
    return [("title", LOOKALIKE_TITLE), ("paragraph", p["紫砂壶"]), ("paragraph", p["夜校"]),
            ("heading", LOOKALIKE_SECTIONS[0]), ("wrapped", LOOKALIKE_WRAPPED), ("paragraph", p["海姆立克"]),
            ("table", LOOKALIKE_TABLE), ("heading", LOOKALIKE_SECTIONS[1]), ("paragraph", p["耗材"]),
            ("paragraph", p["倡议书"]), ("paragraph", p["博爱超市"]), ("plain table", LOOKALIKE_PLAIN_TABLE)]


def lookalike_passages() -> list[tuple[str, str, str]]:
    """(role, heading, text) of every passage the report must give in any format."""
    header, *rows = LOOKALIKE_TABLE
    passages, heading = [], ""
    for kind, content in lookalike_blocks():
        if kind == "title":
            passages.append(("lead", "", content))
        elif kind == "heading":
            heading = content
            passages.append(("heading", heading, heading))
        elif kind == "wrapped":
            passages.append(("paragraph", heading, "".join(content)))
        elif kind == "table":
            passages += [("paragraph", heading, "；".join(f"{label}：{cell}" for label, cell in zip(header, row)))
                         for row in rows]
        elif kind == "plain table":
            passages += [("paragraph", heading, " | ".join(row)) for row in content]
        else:
            passages.append(("paragraph", heading, content))
    return passages


def lookalike_text(markdown: bool) -> bytes:
    """The report as a text file (Markdown marks its title and headings): hard-wrapped lines,
    Markdown tables with and without a header row."""
    lines = []
    for kind, content in lookalike_blocks():
        if kind in ("title", "heading"):
            lines.append(("# " if kind == "title" else "## ") * markdown + content)
        elif kind == "wrapped":
            lines.append("\n".join(content))
        elif kind in ("table", "plain table"):
            rows = ["| " + " | ".join(row) + " |" for row in content]
            if kind == "table":
                rows.insert(1, "|" + "---|" * len(content[0]))
            lines.append("\n".join(rows))
        else:
            lines.append(content)
    return "\n\n".join(lines).encode()


def lookalike_word() -> bytes:
    """The report as a Word file: styles, a paragraph hard-wrapped with line breaks, a table
    whose first row Word repeats as its header, and a table without a header."""
    document = docx.Document()
    for kind, content in lookalike_blocks():
        if kind == "title":
            document.add_paragraph(content, style="Title")
        elif kind == "heading":
            document.add_paragraph(content, style="Heading 1")
        elif kind == "wrapped":
            paragraph = document.add_paragraph()
            for number, line in enumerate(content):
                run = paragraph.add_run(line)
                if number < len(content) - 1:
                    run.add_break()
        elif kind in ("table", "plain table"):
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
            if kind == "table":
                table.rows[0]._tr.get_or_add_trPr().append(parse_xml(f'<w:tblHeader {nsdecls("w")}/>'))
        else:
            document.add_paragraph(content)
    return _saved(document)


def lookalike_html(page: bool) -> str:
    """The report as HTML: to print to PDF (the wrapped paragraph broken by hand with <br>),
    or as a news page (`page`) whose article holds it, tables with a <th> header row and without."""
    body = []
    for kind, content in lookalike_blocks():
        if kind in ("title", "heading"):
            tag = "h1" if kind == "title" else "h2"
            body.append(f"<{tag}>{escape(content)}</{tag}>")
        elif kind == "wrapped":
            body.append("<p>" + ("" if page else "<br>").join(escape(line) for line in content) + "</p>")
        elif kind in ("table", "plain table"):
            rows = [["th" if kind == "table" and r == 0 else "td", row] for r, row in enumerate(content)]
            body.append("<table>" + "".join("<tr>" + "".join(f"<{tag}>{escape(cell)}</{tag}>" for cell in row)
                                            + "</tr>" for tag, row in rows) + "</table>")
        else:
            body.append(f"<p>{escape(content)}</p>")
    if not page:
        return (f'<!doctype html><html><head><meta charset="utf-8"><style>{PDF_STYLE}</style></head>'
                f'<body>{"".join(body)}</body></html>')
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(LOOKALIKE_TITLE)}_工作动态_某区红十字会'
            f'</title></head><body><div class="nav"><a href="/">网站首页</a></div><div class="article">{body[0]}'
            f'<div class="content">{"".join(body[1:])}</div></div><div class="footer">版权所有：某区红十字会</div>'
            f'</body></html>')
