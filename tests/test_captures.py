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
                  "上一期", "分享到", "朋友圈", "白癜风医院排名", "来源："]


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
    # Not furniture: headlines, sentences, lists that are text.
    ("市红十字会召开2021年工作会议", None),
    ("近日，县红十字会开展应急救护培训，来源于群众需求的课程受到欢迎。", None),
    ("做好“三献”工作 分享爱心力量", None),
    ("红十字会法宣传进社区", None),
    ("一、主要工作 | 二、存在问题", None),
])
def test_furniture_lines_are_told_by_their_kind(line, kind):
    assert furniture.kind(line) == kind
