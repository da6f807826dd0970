"""Captured web and newspaper pages (composed by the project, tests/data/composed): the title is
the headline, never furniture; the region is the organisation that did the work; furniture
is neither a passage nor evidence."""
from pathlib import Path

import pytest

from search import furniture
from search.index import passage_records, _enrichment
from search.ingest import FIRST_SENTENCE, HEADLINE, read_document

COMPOSED = Path(__file__).resolve().parent / "data" / "composed"


def regions(path: Path) -> set[tuple]:
    doc = read_document(path)
    return {(r["province"] or None, r["city"] or None, r["county"] or None)
            for r in passage_records(doc, *_enrichment())}


@pytest.mark.parametrize("name, title, region, year", [
    ("c01_metadata_line.txt", "芦溪县红十字会走进敬老院开展健康义诊", ("江西省", "萍乡市", "芦溪县"), 2021),
    ("c02_last_issue.txt", "榆次区红十字会举办造血干细胞捐献志愿者座谈会", ("山西省", "晋中市", "榆次区"), None),
    ("c03_spam.txt", "铜仁市红十字会开展防汛救灾物资储备检查", ("贵州省", "铜仁市", None), 2020),
    ("c04_partner_recipient.txt", "临沂市红十字会驰援受灾地区", ("山东省", "临沂市", None), 2021),
    ("c05_district.txt", "金山区红十字会开展“人道万人捐”宣传", ("上海市", "上海市", "金山区"), 2019),
    ("c07_traditional.txt", "廣東省紅十字會舉辦應急救護師資培訓班", ("广东省", None, None), 2022),
    ("c08_gb18030.txt", "定边县红十字会开展“博爱送万家”活动", ("陕西省", "榆林市", "定边县"), None),
    ("c10_county_city_namesake.txt", "吉安县红十字会举办救护员培训班", ("江西省", "吉安市", "吉安县"), None),
    ("c11_numbered_sections_hard_wrapped.txt", "庆元县红十字会2025年工作回顾", ("浙江省", "丽水市", "庆元县"), 2025),
    ("c12_site_controls.txt", "惠东县红十字会开展“5·8”红十字博爱周宣传活动", ("广东省", "惠州市", "惠东县"), 2024),
    ("c13_breadcrumb_headline.txt", "义乌市红十字会为困难家庭安装烟感报警器", ("浙江省", "金华市", "义乌市"), 2023),
    ("c14_old_site.html", "安吉县红十字会举办红十字救护员培训班", ("浙江省", "湖州市", "安吉县"), 2024),
])
def test_a_capture_gets_its_headline_and_the_region_of_who_did_the_work(name, title, region, year):
    doc = read_document(COMPOSED / name)
    assert (doc.title, doc.title_source) == (title, HEADLINE)
    assert regions(COMPOSED / name) == {region}
    assert {r["year"] or None for r in passage_records(doc, *_enrichment())} == {year}


def test_a_page_without_headline_says_its_title_is_the_first_sentence():
    doc = read_document(COMPOSED / "c09_no_headline.txt")
    assert doc.title_source == FIRST_SENTENCE
    assert doc.title == "近日，泸溪县红十字会在县人民医院设立造血干细胞血样采集点，为有意愿加入中华骨髓库…"
    assert regions(COMPOSED / "c09_no_headline.txt") == {("湖南省", "湘西土家族苗族自治州", "泸溪县")}


def test_numbered_sections_are_headings_and_wrapped_lines_rejoin():
    """The report's numbered sections open its body (the first is not its title), and a line
    with a comma after a sentence broken mid-way continues that sentence, not a heading."""
    doc = read_document(COMPOSED / "c11_numbered_sections_hard_wrapped.txt")
    assert [(p.role, p.text) for p in doc.passages if p.role == "heading"] == [
        ("heading", "一、凝聚博爱力量，助力山区共富"), ("heading", "二、应急救护培训进村入企"),
        ("heading", "三、无偿献血与造血干细胞捐献")]
    assert any(p.text == "全年举办救护员培训班23期，培训持证救护员1046人，普及性培训覆盖群众8000余人次，"
                         "在县人民医院、菇城广场等处新增AED设备15台。" for p in doc.passages)


def test_each_section_heading_that_names_a_province_gives_its_section_that_province():
    doc = read_document(COMPOSED / "c06_sections.md")
    records = passage_records(doc, *_enrichment())
    by_heading = {}
    for passage, record in zip(doc.passages, records):
        by_heading.setdefault(passage.heading, set()).add(record["province"] or None)
    assert by_heading == {"": {None}, "吉林：送棉衣进山区": {"吉林省"}, "河北：关爱留守儿童": {"河北省"},
                          "甘肃：困难群众过冬有保障": {"甘肃省"}}


FURNITURE_TEXT = ["网站首页", "当前位置", "访问量", "字体", "上一篇", "下一篇", "没有了", "最后一期", "第A03版",
                  "上一期", "分享到", "朋友圈", "白癜风医院排名", "来源：", "EN", "RSS", "手机版", "打开", "浏览器",
                  "主管主办", "网址", "邮箱", "东岭日报", "一审", "值班总编", "编辑", "审核", "最后一篇", "专题集锦",
                  "基层动态", "浏览次数", "发布时间"]


def test_site_controls_notices_imprint_and_credits_around_a_capture_are_not_text():
    """Everything of c12 but its headline (with its channel tag, region evidence) and its two
    paragraphs is furniture: controls, a browser notice that is a sentence, a masthead with its
    imprint, metadata, editors' credits, a pop-up that ends in ！."""
    doc = read_document(COMPOSED / "c12_site_controls.txt")
    assert [(p.role, p.text) for p in doc.passages] == [
        ("lead", "[惠州市]惠东县红十字会开展“5·8”红十字博爱周宣传活动"),
        ("paragraph", "5月8日，惠东县红十字会在县城文化广场开展“5·8”红十字博爱周宣传活动，志愿者现场演示心肺复苏和止血包扎，"
                      "发放宣传资料一千余份。"),
        ("paragraph", "活动还设置了无偿献血和造血干细胞捐献咨询台，三十余名市民现场登记成为献血志愿者。")]


def test_a_headline_glued_to_a_breadcrumb_trail_is_kept_alone():
    doc = read_document(COMPOSED / "c13_breadcrumb_headline.txt")
    assert (doc.title, doc.lead_lines, doc.date) == (
        "义乌市红十字会为困难家庭安装烟感报警器", ("【本地新闻】义乌市红十字会为困难家庭安装烟感报警器",), "2023-11-20")
    assert [p.text for p in doc.passages if p.role == "paragraph"] == [
        "11月18日，义乌市红十字会联合消防志愿者走进稠城街道，为六十户独居老人和困难家庭安装烟感报警器，"
        "并讲解家庭防火和初期火灾处置知识。",
        "志愿者还检查了各户的用电线路，更换老化插座四十余个。"]


@pytest.mark.parametrize("name", sorted(p.name for p in COMPOSED.glob("c*")))
def test_furniture_never_becomes_a_passage(name):
    doc = read_document(COMPOSED / name)
    assert [(p.number, word) for p in doc.passages for word in FURNITURE_TEXT if word in p.text] == []


@pytest.mark.parametrize("line, kind", [
    ("时间:2019-02-25 10:59:00 来源:本网 访问量: -", furniture.METADATA),
    ("发布日期：2020年3月2日  作者：李红  浏览次数：326", furniture.METADATA),
    ("2021-07-09 08:00:01", furniture.METADATA),
    ("2023年5月9日 星期二", furniture.METADATA),
    ("【字体：大 中 小】【打印】【关闭】", furniture.METADATA),
    ("來源：本網 編輯：陳明", furniture.METADATA),
    ("当前位置：首页 > 新闻中心 > 图片新闻", furniture.NAVIGATION),
    ("首页 » 工作动态", furniture.NAVIGATION),
    ("这已经是最后一期了哦", furniture.NAVIGATION),
    ("已经是第一篇", furniture.NAVIGATION),
    ("上一篇：市红十字会召开工作会议", furniture.NAVIGATION),
    ("第B12版：社会", furniture.NAVIGATION),
    ("分享到： 微信 微博 QQ空间", furniture.SHARE),
    ("—分享—", furniture.SHARE),
    ("癫痫病医院_治疗癫痫的方法_癫痫病能治好吗", furniture.LINK_LIST),
    ("新华网 | 人民网 | 央视网", furniture.LINK_LIST),
    ("汽车配件网", furniture.MASTHEAD),
    ("兰州晨报数字版", furniture.MASTHEAD),
    ("本报记者 王小明 通讯员 李华", furniture.BYLINE),
    ("已经是最后一篇了！", furniture.NAVIGATION),
    ("没有了？", furniture.NAVIGATION),
    ("更多>>", furniture.NAVIGATION),
    ("相关新闻", furniture.NAVIGATION),
    ("A B C D E F G", furniture.NAVIGATION),
    ("EN 打开 · 手机版 您当前的位置:首页 > 专题集锦 > 某县红十字会开展博爱周宣传活动", furniture.NAVIGATION),
    ("EN", furniture.CONTROLS),
    ("RSS", furniture.CONTROLS),
    ("打开 · 手机版", furniture.CONTROLS),
    ("正文", furniture.CONTROLS),
    (">>", furniture.CONTROLS),
    ("建议使用IE9及以上版本浏览器。", furniture.NOTICE),
    ("为了获得更好的浏览效果，请使用1280×800以上分辨率", furniture.NOTICE),
    ("一审丨编辑 张某 二审丨值班主任 李某 三审丨值班总编 王某", furniture.EDITORIAL),
    ("审核丨吴某某", furniture.EDITORIAL),
    ("某某日报社主管主办", furniture.IMPRINT),
    ("报社网站: www.example.cn", furniture.IMPRINT),
    ("电子邮箱：editor@example.cn", furniture.IMPRINT),
    ("版权所有 © 2024 某县红十字会", furniture.METADATA),
    # Not furniture: headlines, sentences, lists that are text.
    ("市红十字会召开2021年工作会议", None),
    ("近日，县红十字会开展应急救护培训，来源于群众需求的课程受到欢迎。", None),
    ("做好“三献”工作 分享爱心力量", None),
    ("红十字会法宣传进社区", None),
    ("一、主要工作 | 二、存在问题", None),
    ("某区红十字会2023年工作简报", None),  # a report's own title, named like a paper
    ("市红十字会疫情防控捐赠情况通报", None),
])
def test_furniture_lines_are_told_by_their_kind(line, kind):
    assert furniture.kind(line) == kind


@pytest.mark.parametrize("line", [
    "更多志愿者加入红十字应急救护队伍", "返回家乡的大学生加入红十字志愿服务", "首页设计大赛为红十字博爱周征集作品",
    "这是最后一期救护员培训班", "位置偏远的山村迎来急救培训", "收藏家王先生向市红十字会捐赠字画", "热门岗位急救讲师",
    "更多群众掌握了心肺复苏技能，", "编辑部的记者走进献血屋", "审核通过的救助申请", "全年全市无偿献血已达到历史最高水平！",
    "欢迎登录市红十字会官网www.example.org了解捐赠信息", "大中小学生应急救护知识竞赛",
])
def test_headlines_and_pieces_of_sentences_are_never_dropped(line):
    """Lines that begin with a widget's or a label's word, or end in ！, are text where they stand."""
    assert not furniture.is_dropped(line)

