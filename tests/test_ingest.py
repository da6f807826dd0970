"""Ingest: encodings, structure, line-break repair, passages, bad files."""
import re
from pathlib import Path

import pytest

from search.ingest import IngestError, decode, parse_document, read_document, split_long
from search.engine import Engine
from search.index import document_topics
from search.querylang import SearchRequest
from search.topics import TopicClassifier

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seed(prefix: str):
    return read_document(next(SEEDS.glob(prefix + "_*")))


def passage_containing(doc, text):
    return [p for p in doc.passages if text in p.text]


@pytest.mark.parametrize("prefix, title", [
    ("000", "高扬旗帜 逐梦前行"),
    ("001", "用爱心凝聚人道力量 用行动弘扬红十字精神"),
    ("002", "砥砺奋进 担当作为 奋力书写红十字事业高质量发展新篇章"),
    ("003", "在大战大考中践行初心使命 奋力谱写新时代新篇章"),
    ("004", "贯彻落实省委党的群团工作会议精神"),
])
def test_seed_titles_are_the_headlines(prefix, title):
    assert seed(prefix).title == title


@pytest.mark.parametrize("prefix, joined", [
    ("000", "捐赠物资接受和管理机制"),
    ("000", "国际急救培训师培训班"),
    ("000", "防艾青春行系列活动"),
    ("004", "普及全民应急救护知识和技能"),
    ("003", "在全市各学校成立红十字会基层组织的通知"),
    ("001", "爱心企业加入红十字公益事业"),
    ("004", "搭建面向公众的捐献救助信息化平台"),
])
def test_hard_line_breaks_are_repaired(prefix, joined):
    assert len(passage_containing(seed(prefix), joined)) == 1


def test_heading_that_interrupts_a_sentence_becomes_the_section_heading():
    doc = seed("000")
    [passage] = passage_containing(doc, "抓好巡视整改")
    assert passage.heading == "全面从严治党 深推改革发展"
    assert [p.role for p in passage_containing(doc, "全面从严治党 深推改革发展")] == ["heading"]


def test_photo_captions_stay_separate_passages():
    doc = seed("001")
    captions = passage_containing(doc, "石家庄市红十字会领导看望造血干细胞捐献者。")
    assert [p.text for p in captions] == ["石家庄市红十字会领导看望造血干细胞捐献者。"]


def test_report_with_sub_articles_is_split_into_articles():
    doc = seed("004")
    assert [a.heading_lines[-1] for a in doc.articles[1:]] == [
        "绍兴市红十字会", "浙江省红十字(东阳)大众卫生与供水救援队",
        "数字赋能博爱家园 促进乡村振兴", "行业联合建会 打造“群众身边的红十字会”"]
    [yongchang] = passage_containing(doc, "永昌村位于杭州市富阳区")
    assert yongchang.article == 3


def test_passages_are_numbered_and_short():
    for path in SEEDS.iterdir():
        doc = read_document(path)
        assert [p.number for p in doc.passages] == list(range(1, len(doc.passages) + 1))
        assert max(len(p.text) for p in doc.passages) <= 1000


def test_long_paragraph_is_cut_at_sentence_ends():
    text = "红十字会开展救护培训。" * 200
    pieces = split_long(text)
    assert "".join(pieces) == text
    assert all(p.endswith("。") and len(p) <= 1000 for p in pieces)


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "big5", "utf-8-sig", "utf-8"])
def test_encodings_are_detected(encoding):
    text = "紅十字會開展應急救護培訓，志願者積極參與。" if encoding == "big5" else "红十字会开展应急救护培训，志愿者积极参与。"
    assert decode((text * 5).encode(encoding), "x.txt") == text * 5


def test_web_capture_furniture_is_not_the_title():
    page = "汽车配件网\n\n当前位置:首页\n>>\n正文\n\n今年本市将建立80支红十字应急救护志愿服务队\n\n" \
           "记者 王晨 昨天是世界急救日，市红十字会宣布，今年将在全市80个社区建立应急救护志愿服务队。\n"
    doc = parse_document("capture", page.encode("utf-8"), "txt")
    assert doc.title == "今年本市将建立80支红十字应急救护志愿服务队"
    assert all("首页" not in p.text and p.text != "正文" for p in doc.passages)
    assert all("汽车配件网" not in p.text for p in doc.passages)


@pytest.mark.parametrize("page, kept", [
    # No navigation above the headline: the name may be the headline's own last line.
    ("市红十字会携手本地媒体上线\n公益服务网\n\n近日，市红十字会与本地媒体合作，上线公益服务平台，"
     "居民可在线预约应急救护培训。\n", "公益服务网"),
    # Below the trail a site-like line is the article's, not the page header's.
    ("当前位置:首页 > 新闻\n\n青年志愿者走进社区\n红十字在线\n\n近日，区红十字会组织青年志愿者走进社区，"
     "开展应急救护知识宣传，发放资料300余份。\n", "红十字在线"),
])
def test_a_site_name_the_page_does_not_put_above_its_navigation_is_kept(page, kept):
    doc = parse_document("capture", page.encode("utf-8"), "txt")
    assert any(kept in p.text for p in doc.passages) or kept in doc.title


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"  \n\n ", "empty file"),
    (b"\x00\x01\x02binary\xff\xfe" * 50, "binary file"),
])
def test_bad_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(IngestError, match=reason):
        parse_document("bad", data, "txt")


def test_web_page_footer_and_the_next_story_are_not_passages():
    page = ("首页 > 新闻\n\n某市红十字会开展应急救护培训\n\n"
            "近日，某市红十字会在社区开展应急救护培训，培训居民200余人，普及心肺复苏和AED使用方法，受到居民欢迎。\n\n"
            "责任编辑：张三\n\n上一篇：另一条新闻\n\n"
            "另一条新闻的正文讲的是别的城市的事情，和这篇报告没有关系，不应成为段落，也不应影响地区判断。\n")
    doc = parse_document("page", page.encode(), "txt")
    assert doc.title == "某市红十字会开展应急救护培训"
    assert [p.text for p in doc.passages if p.role == "paragraph"] == [
        "近日，某市红十字会在社区开展应急救护培训，培训居民200余人，普及心肺复苏和AED使用方法，受到居民欢迎。"]


def test_file_cut_inside_its_last_character_keeps_the_rest():
    data = "红十字会开展应急救护培训。".encode() + "志".encode()[:2]
    assert decode(data, "cut.txt") == "红十字会开展应急救护培训。"


def paragraphs(page: str, fmt: str = "txt") -> list[str]:
    return [p.text for p in parse_document("page", page.encode(), fmt).passages if p.role == "paragraph"]


def test_a_wrapped_line_that_ends_the_report_and_looks_like_a_pager_is_its_last_sentence():
    page = ("某区红十字会开展急救培训\n\n近日，区红十字会在社区开展应急救护培训，共有八十名居民参加。\n"
            "下一步，区红十字会将为每个社区配备急救箱，让\n更多家庭备齐家用急救包\n")
    assert paragraphs(page) == ["近日，区红十字会在社区开展应急救护培训，共有八十名居民参加。",
                                "下一步，区红十字会将为每个社区配备急救箱，让更多家庭备齐家用急救包"]


def test_only_a_whole_footer_line_ends_the_page():
    """A paragraph that begins as a footer does (相关报道…) and an editor's line between two
    stories are the report's; the footer 上一篇：… ends it."""
    page = ("某市红十字会开展博爱周活动\n\n5月8日，市红十字会在中心广场开展博爱周宣传，发放资料三千份。\n\n"
            "相关报道显示，今年参与博爱周活动的志愿者人数创历史新高。\n\n责任编辑：李某\n\n"
            "5月9日，市红十字会走进敬老院开展义诊，为八十余名老人测量血压。\n\n上一篇：另一条新闻\n\n"
            "另一条新闻的正文讲的是别的城市的事情，和这篇报告没有关系。\n")
    doc = parse_document("page", page.encode(), "txt")
    assert [(p.role, p.text) for p in doc.passages] == [
        ("lead", "某市红十字会开展博爱周活动"), ("paragraph", "5月8日，市红十字会在中心广场开展博爱周宣传，发放资料三千份。"),
        ("paragraph", "相关报道显示，今年参与博爱周活动的志愿者人数创历史新高。"), ("heading", "责任编辑：李某"),
        ("paragraph", "5月9日，市红十字会走进敬老院开展义诊，为八十余名老人测量血压。")]


@pytest.mark.parametrize("table, rows", [
    ("地点 | 场次 | 人数\n--- | :---: | ---:\n樱桃沟村 | 12 | 600\n杏林街道 | 9 | 450",
     ["地点：樱桃沟村；场次：12；人数：600", "地点：杏林街道；场次：9；人数：450"]),
    ("| 樱桃沟村 | 12 | 600 |\n| 杏林\\|桃园 | 9 | 450 |", ["樱桃沟村 | 12 | 600", "杏林|桃园 | 9 | 450"]),
    ("| 联系人 | 李红 |\n| 电话： | 0571-1234567 |", ["联系人：李红", "电话：0571-1234567"]),
    ("| 时间 | 地点 |\n|---|---|\n| 3月5日 | 翠湖社区 |\n\n| 时间 | 内容 |\n|---|---|\n| 4月9日 | 防溺水宣传 |",
     ["时间：3月5日；地点：翠湖社区", "时间：4月9日；内容：防溺水宣传"]),
])
def test_markdown_table_rows_are_passages_labelled_by_their_header_row(table, rows):
    page = f"# 某区红十字会培训情况\n\n今年区红十字会在各街道开展应急救护培训，情况如下。\n\n{table}\n"
    assert paragraphs(page, "md") == ["今年区红十字会在各街道开展应急救护培训，情况如下。", *rows]


SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]+[”’」』)）]*")


def test_every_sentence_of_every_seed_is_found_as_a_phrase(seed_index):
    """Ingest drops no sentence of a report: each one a seed holds, searched as an exact phrase,
    finds its own report."""
    engine = Engine(seed_index)
    lost = []
    for path in sorted(SEEDS.iterdir()):
        for line in decode(path.read_bytes(), path.name).splitlines():
            for sentence in SENTENCE.findall(line.lstrip("# ")):
                phrase = "".join(sentence.split()).replace('"', "")
                hits = engine.search(SearchRequest(q=f'"{phrase}"', limit=50, correct=False)).hits
                if not any(hit.doc_id == path.stem and phrase in "".join(hit.text.split()) for hit in hits):
                    lost.append((path.stem, phrase))
    assert lost == []


def test_a_marked_title_is_never_furniture_whatever_it_holds():
    page = "# 市红十字会官网 www.example.org 上线捐赠查询\n\n## 更多\n\n即日起，捐赠人可在官网查询每一笔捐赠的去向。\n"
    doc = parse_document("page", page.encode(), "md")
    assert (doc.title, [(p.role, p.text) for p in doc.passages]) == (
        "市红十字会官网 www.example.org 上线捐赠查询",
        [("lead", "市红十字会官网 www.example.org 上线捐赠查询"), ("heading", "更多"),
         ("paragraph", "即日起，捐赠人可在官网查询每一笔捐赠的去向。")])


def test_a_lone_line_between_bars_atop_a_text_capture_is_a_link_bar_not_a_table():
    page = "| 首页 | 新闻 | 关于我们 |\n某县红十字会召开理事会会议\n5月20日，某县红十字会召开理事会会议，审议通过年度工作报告。\n"
    doc = parse_document("page", page.encode(), "txt")
    assert (doc.title, [(p.role, p.text) for p in doc.passages]) == ("某县红十字会召开理事会会议", [
        ("lead", "某县红十字会召开理事会会议"), ("paragraph", "5月20日，某县红十字会召开理事会会议，审议通过年度工作报告。")])


NEWSPAPER_PAGE = """某市红十字会专版

社区里的急救课
3月起，市红十字会在各社区开展急救培训，200名居民参加。
张秀兰

打造“群众身边的红十字会”
村村都有服务站
全市新建村级红十字服务站30个。
王建国
"""


def test_a_name_after_an_articles_last_paragraph_is_its_byline_not_the_next_headline():
    doc = parse_document("page", NEWSPAPER_PAGE.encode(), "txt")
    assert [article.heading_lines for article in doc.articles] == [(), ("打造“群众身边的红十字会”", "村村都有服务站")]
    assert [(p.role, p.article, p.heading, p.text) for p in doc.passages] == [
        ("lead", 0, "", "某市红十字会专版\n社区里的急救课"),
        ("paragraph", 0, "", "3月起，市红十字会在各社区开展急救培训，200名居民参加。"),
        ("byline", 0, "", "张秀兰"),
        ("heading", 1, "村村都有服务站", "打造“群众身边的红十字会”\n村村都有服务站"),
        ("paragraph", 1, "村村都有服务站", "全市新建村级红十字服务站30个。"),
        ("byline", 1, "村村都有服务站", "王建国"),
    ]


def test_a_name_heading_its_own_paragraph_a_list_of_names_and_a_common_word_are_never_bylines():
    report = ("某县红十字会2023年工作总结\n全年开展救护培训20场。\n"
              "王永波\n民警王永波生前登记捐献器官，今年3月实现捐献。\n"
              "受到表彰的志愿者如下。\n张秀兰\n李建国\n全年开展志愿服务96场。\n"
              "荣誉\n二、志愿服务\n全年新增注册志愿者300人。\n")
    doc = parse_document("report", report.encode(), "txt")
    assert [(p.role, p.text) for p in doc.passages] == [
        ("lead", "某县红十字会2023年工作总结"), ("paragraph", "全年开展救护培训20场。"),
        ("heading", "王永波"), ("paragraph", "民警王永波生前登记捐献器官，今年3月实现捐献。"),
        ("paragraph", "受到表彰的志愿者如下。"), ("heading", "张秀兰\n李建国"), ("paragraph", "全年开展志愿服务96场。"),
        ("heading", "荣誉\n二、志愿服务"), ("paragraph", "全年新增注册志愿者300人。"),
    ]


def test_a_newspaper_pages_bylines_close_their_articles_and_keep_no_topic():
    doc = seed("004")
    bylines = [(p.article, p.text) for p in doc.passages if p.role == "byline"]
    assert bylines == [(3, "屠丽敏"), (4, "顾彩祥")]
    assert doc.articles[4].heading_lines == ("打造“群众身边的红十字会”", "行业联合建会 打造“群众身边的红十字会”")
    assigned = document_topics(doc, TopicClassifier.load())
    assert [assigned[p.number - 1].topics for p in doc.passages if p.role == "byline"] == [(), ()]


def test_a_report_titled_like_a_paper_keeps_its_title():
    doc = parse_document("brief", "某区红十字会2023年工作简报\n\n一、无偿献血\n\n全年组织无偿献血活动48场。\n".encode(), "txt")
    assert (doc.title, doc.lead_lines) == ("某区红十字会2023年工作简报", ("某区红十字会2023年工作简报",))
