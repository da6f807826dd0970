"""Enrichment: regions of the seed reports and composed web captures, gazetteer look-ups,
mentioned places and years (topics: test_topics.py)."""
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.enrich import (Gazetteer, Region, detect_region,
                           mentioned_places, report_year, short_name)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
COMPOSED = Path(__file__).resolve().parent / "data" / "composed"
ZHEJIANG = Region("浙江省")


@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer.load()


def seed_text(stem: str) -> str:
    return next(SEEDS.glob(f"{stem}_*.txt")).read_text(encoding="utf-8")


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def seed_unit(stem: str, title_lines: int) -> tuple[str, list[str]]:
    """A whole seed report: its first lines are the headline and byline, the rest its body."""
    lines = lines_of(seed_text(stem))
    return "\n".join(lines[:title_lines]), lines[title_lines:]


def report_004_units() -> dict[str, tuple[str, list[str]]]:
    """The parts of seed 004, cut at their heading lines: name → (heading lines, paragraphs)."""
    lines = lines_of(seed_text("004"))
    starts = [("opening", "贯彻落实省委党的群团工作会议精神", 1),
              ("绍兴", "深化改革强化服务 全力打造“群众身边的红十字会”", 2),
              ("东阳", "省级救援队风采", 3),
              ("永昌村", "“博爱家园”建设", 2),
              ("水口乡", "打造“群众身边的红十字会”", 2)]
    positions = [lines.index(first) for _, first, _ in starts] + [len(lines)]
    return {name: ("\n".join(lines[at:at + heads]), lines[at + heads:end])
            for (name, _, heads), at, end in zip(starts, positions, positions[1:])}


def composed(name: str) -> list[str]:
    path = next(COMPOSED.glob(f"{name}_*"))
    return lines_of(path.read_bytes().decode("gb18030" if name == "c08" else "utf-8"))


@pytest.mark.parametrize("stem, title_lines, expected", [
    ("000", 2, Region("四川省")),
    ("001", 2, Region("河北省", "石家庄市")),
    ("002", 3, Region("云南省", "昭通市")),
    ("004", 1, Region("浙江省")),          # the whole report: four cities' sub-articles, one province
])
def test_seed_report_region(gazetteer, stem, title_lines, expected):
    title, paragraphs = seed_unit(stem, title_lines)
    assert detect_region(title, paragraphs, gazetteer) == expected


def test_seed_003_region_with_masthead_before_headline(gazetteer):
    lines = lines_of(seed_text("003"))
    at = lines.index("在大战大考中践行初心使命 奋力谱写新时代新篇章")
    title, paragraphs = "\n".join(lines[at:at + 2]), lines[:at] + lines[at + 2:]
    assert detect_region(title, paragraphs, gazetteer) == Region("陕西省", "西安市")


@pytest.mark.parametrize("unit, expected", [
    ("opening", ZHEJIANG),                               # no place of its own: the document's region
    ("绍兴", Region("浙江省", "绍兴市")),
    ("东阳", Region("浙江省", "金华市", "东阳市")),        # only says 浙江省红十字(东阳) and 东阳市
    ("永昌村", Region("浙江省", "杭州市", "富阳区")),      # 永昌村 is not 永昌县 (甘肃)
    ("水口乡", Region("浙江省", "湖州市", "长兴县")),
])
def test_seed_004_sub_article_region(gazetteer, unit, expected):
    title, paragraphs = report_004_units()[unit]
    assert detect_region(title, paragraphs, gazetteer, default=ZHEJIANG) == expected
    # The headings repeated as the first paragraph do not hide the opening sentence.
    assert detect_region(title, [title, *paragraphs], gazetteer, default=ZHEJIANG) == expected


def test_seed_004_opening_alone_has_no_region(gazetteer):
    title, paragraphs = report_004_units()["opening"]
    assert detect_region(title, paragraphs, gazetteer) == Region()


@pytest.mark.parametrize("name, headline, expected", [
    ("c01", "芦溪县红十字会走进敬老院开展健康义诊", Region("江西省", "萍乡市", "芦溪县")),  # a county alone
    ("c02", "榆次区红十字会举办造血干细胞捐献志愿者座谈会", Region("山西省", "晋中市", "榆次区")),  # 太原 masthead
    ("c03", "铜仁市红十字会开展防汛救灾物资储备检查", Region("贵州省", "铜仁市")),  # spam: 南宁 长春 合肥
    ("c04", "临沂市红十字会驰援受灾地区", Region("山东省", "临沂市")),  # 新乡 receives, 郑州 is a partner
    ("c05", None, Region("上海市", "上海市", "金山区")),
    ("c07", None, Region("广东省")),                 # traditional characters
    ("c08", None, Region("陕西省", "榆林市", "定边县")),  # GB18030
    ("c10", None, Region("江西省", "吉安市", "吉安县")),  # 吉安县 is not 吉安市
])
def test_capture_region(gazetteer, name, headline, expected):
    lines = composed(name)
    title = headline or ""
    paragraphs = [line for line in lines if line != headline]
    assert detect_region(title, paragraphs, gazetteer) == expected
    # Furniture taken for the title, headline left in the body: same answer.
    assert detect_region(lines[0], lines[1:], gazetteer) == expected


@pytest.mark.parametrize("title, paragraphs, default, expected", [
    ("北京市朝阳区红十字会开展急救培训", ["近日,北京市朝阳区红十字会在社区开展应急救护培训。"], None,
     Region("北京市", "北京市", "朝阳区")),
    # 朝阳区 exists in 北京 and 长春: no guess.
    ("朝阳区红十字会开展急救培训", ["近日,朝阳区红十字会在社区开展应急救护培训,参训居民120人。"], None, Region()),
    # ... unless the parent is evidenced, here by the document's region.
    ("鼓楼区红十字会开展急救培训", ["近日,鼓楼区红十字会在社区开展应急救护培训,参训居民120人。"],
     Region("福建省"), Region("福建省", "福州市", "鼓楼区")),
    ("", ["近日,鼓楼区红十字会联合福州市第一中学开展活动。福州市红十字会有关负责人出席。"], None,
     Region("福建省", "福州市", "鼓楼区")),
    ("南京市红十字会开展活动", ["南京市红十字会在鼓楼区开展活动,北京牛皮癣医院哪家好。"], None,
     Region("江苏省", "南京市")),
    ("山西省红十字会召开工作会议", ["会议强调,要确保长治久安,推动事业发展。"], None, Region("山西省")),
    ("恩施州红十字会开展活动", ["恩施州红十字会近日开展活动。"], None, Region("湖北省", "恩施土家族苗族自治州")),
    ("仙桃市红十字会开展捐赠活动", ["仙桃市红十字会接收爱心企业捐赠。"], None, Region("湖北省", "仙桃市")),
    ("安康市红十字会开展博爱送万家活动", ["春节前夕,安康市红十字会走访慰问困难群众。"], None,
     Region("陕西省", "安康市")),
    ("", ["会议要求市红十字会和县红十字会加强合作,大同小异,长治久安。"], None, Region()),
    # Link lists and hospital spam are no evidence.
    ("", ["友情链接: 中国红十字会总会 浙江省红十字会 杭州市红十字会 宁波市红十字会 温州市红十字会",
          "近日,湖州市红十字会开展应急救护培训,参训人员50人。"], None, Region("浙江省", "湖州市")),
    ("", ["热门城市 北京 上海 广州 深圳 天津", "近日,县红十字会开展应急救护培训,参训人员50人。"], None, Region()),
    ("", ["近日,县红十字会开展应急救护培训,北京治疗白癜风最好的医院,北京哪家医院看癫痫好。"], None, Region()),
    ("市红十字会召开全体会议", ["会议由市红十字会党组书记主持。"], Region("河北省", "石家庄市"),
     Region("河北省", "石家庄市")),
])
def test_region_rules(gazetteer, title, paragraphs, default, expected):
    assert detect_region(title, paragraphs, gazetteer, default) == expected


JIAXING = Region("浙江省", "嘉兴市")
HUZHOU = Region("浙江省", "湖州市")


@pytest.mark.parametrize("title, paragraphs, expected", [
    # A provincial organisation's report: no city from its meeting's venue or the cities it lists.
    ("甘肃省红十字会召开全省应急救护工作会议",
     ["会议在天水召开,天水市红十字会承办,天水市红十字会、平凉市红十字会作交流发言。"], Region("甘肃省")),
    ("全省红十字系统工作推进会在天水举办", ["省红十字会党组书记出席。会议由天水市红十字会承办,天水市红十字会作交流发言。"],
     Region("甘肃省")),
    ("全区红十字工作会议在桂林召开", ["自治区红十字会负责人出席,桂林市红十字会承办。"], Region("广西壮族自治区")),
    # The venue counts for its province only; the organisation that held the meeting is its author.
    ("", ["近日,应急救护工作现场会在长兴县召开,湖州市红十字会负责人出席。"], HUZHOU),
    ("", ["近日,长兴县红十字会在水口乡召开现场会,湖州市红十字会负责人出席。"], Region("浙江省", "湖州市", "长兴县")),
    # The organisation named first in the headline is the author, however often others are named.
    ("德清县红十字会2022年工作总结", ["我县红十字会在湖州市红十字会的指导下开展工作。", "湖州市红十字会负责人来我县调研。",
                               "湖州市红十字会提出整改要求。"], Region("浙江省", "湖州市", "德清县")),
    ("武汉市红十字会组织东西湖区红十字志愿者协会开展活动", ["活动在景区开展。"], Region("湖北省", "武汉市")),
    # How the text names its own level (全区, 全县, 全市, 本省 …) settles between a city and a county…
    ("", ["嘉兴市红十字会近日召开会议,南湖区红十字会作交流发言。", "全区新增救护员300人。"],
     Region("浙江省", "嘉兴市", "南湖区")),
    ("", ["湖州市红十字会近日召开会议,德清县红十字会作交流发言。", "全县新增救护员300人。"],
     Region("浙江省", "湖州市", "德清县")),
    ("", ["浙江省红十字会近日召开会议,嘉兴市红十字会作交流发言。", "全市新增救护员300人。"], JIAXING),
    # … and words that only look like it do not: 社区, 健全县级, 安全市场, 甘肃省红十字会, 各市红十字会.
    ("", ["嘉兴市红十字会近日召开会议,南湖区红十字会作交流发言。", "社区红十字服务站新增救护员300人。"], JIAXING),
    ("", ["湖州市红十字会近日召开会议,德清县红十字会作交流发言。", "会议要求健全县级红十字会组织。"], HUZHOU),
    ("", ["浙江省红十字会近日召开会议,嘉兴市红十字会作交流发言。", "食品安全市场监管部门参加。"], Region("浙江省")),
    ("", ["浙江省红十字会近日召开会议,嘉兴市红十字会作交流发言。", "各市红十字会、各县红十字会参加会议。"],
     Region("浙江省")),
    # Names that several places bear are settled by the province or city also named, never guessed.
    ("永定区红十字会开展应急救护培训", ["永定区红十字会在景区开展培训。"], Region()),
    ("永定区红十字会开展应急救护培训", ["永定区红十字会在景区开展培训。张家界市红十字会副会长到场。"],
     Region("湖南省", "张家界市", "永定区")),
    ("象山红十字会开展应急救护培训", ["象山红十字会在景区开展培训。"], Region()),
    ("象山红十字会开展应急救护培训", ["象山红十字会在景区开展培训。宁波市红十字会副会长到场。"],
     Region("浙江省", "宁波市", "象山县")),
    ("和平区红十字会走访困难群众", ["和平区红十字会走访慰问困难群众。天津市红十字会负责人参加。"],
     Region("天津市", "天津市", "和平区")),
    ("城关区红十字会开展救护培训", ["兰州市城关区红十字会走进中小学。"], Region("甘肃省", "兰州市", "城关区")),
    ("长安区红十字会召开会员代表大会", ["长安区红十字会召开大会。石家庄市红十字会负责人出席。"],
     Region("河北省", "石家庄市", "长安区")),
    # A street is no mention of the place it is named after.
    ("", ["近日,市红十字会在南京路、北京东路和长安街开展宣传,在新华路社区设点。"], Region()),
])
def test_who_did_the_work(gazetteer, title, paragraphs, expected):
    assert detect_region(title, paragraphs, gazetteer) == expected


CITY_REPORT = ("2019年工作总结", ["一年来,市红十字会扎实推进各项工作,全市新增救护员1万人。"])
COUNTY_REPORT = ("年度工作总结", ["一年来,县红十字会扎实推进各项工作,全县新增救护员2000人,组织志愿者赴杭州学习。"])
NO_LEVEL = ("红十字救援队工作总结", ["救援队全年参与应急救援任务46次,在绍兴开展联合演练。"])


@pytest.mark.parametrize("unit, path, expected", [
    # A folder or a file name that names a place.
    (CITY_REPORT, "宁波/2019/工作总结", Region("浙江省", "宁波市")),
    (CITY_REPORT, "浙江/宁波/2019/工作总结", Region("浙江省", "宁波市")),
    (CITY_REPORT, "宁波 第二例造血干细胞捐献 (1)", Region("浙江省", "宁波市")),
    (COUNTY_REPORT, "2023年长兴县红十字会工作报告", Region("浙江省", "湖州市", "长兴县")),
    (COUNTY_REPORT, "安吉县/2022/工作总结", Region("浙江省", "湖州市", "安吉县")),
    (CITY_REPORT, "东阳 救援队年度总结", Region("浙江省", "金华市", "东阳市")),
    (CITY_REPORT, "辽宁/朝阳/工作总结", Region("辽宁省", "朝阳市")),
    # A path place beats places merely mentioned (赴杭州学习, 在绍兴开展演练).
    (NO_LEVEL, "舟山/工作总结", Region("浙江省", "舟山市")),
    (COUNTY_REPORT, "德清县/工作总结", Region("浙江省", "湖州市", "德清县")),
    # A short county name inside a word, an ambiguous or everyday word, a street, a place aid went
    # to, a newspaper: no region.
    (CITY_REPORT, "东阳救援队年度总结", Region()),
    (CITY_REPORT, "朝阳/工作总结", Region()),
    (CITY_REPORT, "平安春运/和平社区/博爱家园项目总结", Region()),
    (CITY_REPORT, "南京路社区/工作总结", Region()),
    (CITY_REPORT, "驰援武汉物资清单", Region()),
    (CITY_REPORT, "湖北日报 2020-02-03", Region()),
    (NO_LEVEL, "000_ce03444764b2e6d0", Region("浙江省", "绍兴市")),
])
def test_the_path_a_report_is_filed_under(gazetteer, unit, path, expected):
    title, paragraphs = unit
    assert detect_region(title, paragraphs, gazetteer, path=path) == expected


@pytest.mark.parametrize("title, paragraphs, path, expected", [
    # The organisation the text names wins over the path …
    ("绍兴市红十字会举办师资培训班", ["绍兴市红十字会近日举办培训。"], "杭州 应急救护培训", Region("浙江省", "绍兴市")),
    ("第二期师资培训班开班", ["近日,台州市红十字会第二期师资培训班开班。"], "舟山/培训", Region("浙江省", "台州市")),
    ("浙江省红十字会召开全省工作会议", ["会议总结全省工作。"], "宁波/会议", Region("浙江省")),
    ("德清县红十字会开展救护培训", ["德清县红十字会近日开展培训。"], "湖州/培训", Region("浙江省", "湖州市", "德清县")),
    # … but a province's organisation named in passing in the body does not.
    ("2019年工作总结", ["在浙江省红十字会的指导下,市红十字会开展各项工作。"], "宁波/2019/总结", Region("浙江省", "宁波市")),
])
def test_the_text_names_its_organisation_over_the_path(gazetteer, title, paragraphs, path, expected):
    assert detect_region(title, paragraphs, gazetteer, path=path) == expected


@pytest.mark.parametrize("name, level, expected", [
    ("石家庄", "city", [("130100", "石家庄市", "city", "河北省", "石家庄市", None)]),
    ("石家庄市", "city", [("130100", "石家庄市", "city", "河北省", "石家庄市", None)]),
    ("东阳", "city", [("330783", "东阳市", "county", "浙江省", "金华市", "东阳市")]),
    ("金华", "city", [("330700", "金华市", "city", "浙江省", "金华市", None)]),
    ("浙江", "province", [("330000", "浙江省", "province", "浙江省", None, None)]),
    ("上海", "province", [("310000", "上海市", "province", "上海市", "上海市", None)]),
    ("上海", "city", [("310000", "上海市", "province", "上海市", "上海市", None)]),
    ("青浦区", "city", [("310118", "青浦区", "county", "上海市", "上海市", "青浦区")]),
    ("长沙", "city", [("430100", "长沙市", "city", "湖南省", "长沙市", None)]),
    ("仙桃", "city", [("429004", "仙桃市", "county", "湖北省", "仙桃市", "仙桃市")]),
    ("吉林", "province", [("220000", "吉林省", "province", "吉林省", None, None)]),
    ("吉林", "city", [("220200", "吉林市", "city", "吉林省", "吉林市", None)]),
    ("内蒙古", "province", [("150000", "内蒙古自治区", "province", "内蒙古自治区", None, None)]),
    ("朝阳", "city", [("110105", "朝阳区", "county", "北京市", "北京市", "朝阳区"),
                      ("211300", "朝阳市", "city", "辽宁省", "朝阳市", None),
                      ("220104", "朝阳区", "county", "吉林省", "长春市", "朝阳区")]),
    ("石家庄", "province", []),
    ("浙江", "city", []),
    ("火星", "city", []),
    ("", "city", []),
    ("东阳", "county", []),
])
def test_resolve(gazetteer, name, level, expected):
    found = [(d.code, d.name, d.level, d.province, d.city, d.county) for d in gazetteer.resolve(name, level)]
    assert found == expected


@pytest.mark.parametrize("region, codes", [
    (Region("浙江省", "金华市", "东阳市"), ("330000", "330700", "330783")),
    (Region("上海市", "上海市", "青浦区"), ("310000", "310118")),
    (Region("上海市"), ("310000",)),
    (Region("湖北省", "仙桃市"), ("420000", "429004")),
    (Region("北京市", "北京市", "朝阳区"), ("110000", "110105")),
    (Region(), ()),
])
def test_region_codes(region, codes):
    assert region.codes() == codes


@pytest.mark.parametrize("full, short", [
    ("浙江省", "浙江"), ("上海市", "上海"), ("广西壮族自治区", "广西"), ("内蒙古自治区", "内蒙古"),
    ("新疆维吾尔自治区", "新疆"), ("香港特别行政区", "香港"), ("凉山彝族自治州", "凉山"),
    ("伊犁哈萨克自治州", "伊犁"), ("海西蒙古族藏族自治州", "海西"), ("龙胜各族自治县", "龙胜"),
    ("积石山保安族东乡族撒拉族自治县", "积石山"), ("阿里地区", "阿里"), ("兴安盟", "兴安"),
    ("神农架林区", "神农架"), ("长沙县", "长沙"), ("富阳区", "富阳"), ("和县", None), ("矿区", None),
])
def test_short_name(full, short):
    assert short_name(full) == short


@pytest.mark.parametrize("text, places", [
    ("永昌村位于杭州市富阳区西北部山区", ["杭州市", "富阳区"]),
    ("在成都(成华区红十字会)、泸州(四川警察学院)、内江(内江卫生与健康职业学院)建立三大救护培训基地",
     ["成都市", "成华区", "泸州市", "四川省", "内江市"]),
    ("仪式分别为长沙县红十字水上救援志愿服务队和县红十字志愿服务队医疗分队授旗", ["长沙县"]),
    ("浙江省红十字(东阳)大众卫生与供水救援队", ["浙江省", "东阳市"]),
    ("北京市朝阳区红十字会", ["北京市", "朝阳区"]),
    ("朝阳区红十字会", []),
    ("活动将苏州癫痫病十佳医院在全市210个社区开展", []),
    ("确保长治久安,建设博爱家园", []),
    ("向湖北、武汉捐赠款物1.24亿元,湖北", ["湖北省", "武汉市"]),
    ("", []),
])
def test_mentioned_places(gazetteer, text, places):
    assert mentioned_places(text, gazetteer) == places


def read_whole(gazetteer: Gazetteer, text: str) -> list[tuple[int, int, str]]:
    """The place names the gazetteer's automaton finds reading all of the text, every character
    (Gazetteer.scan reads only the stretches of it a name may lie in)."""
    return [(end + 1 - len(name), end + 1, name) for end, name in gazetteer._names.iter_long(text)]


def scanned(gazetteer: Gazetteer, text: str) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.name) for m in gazetteer.scan(text)]


@pytest.mark.parametrize("text", [
    "会议在五大连池召开", "去五大连", "去五大连看看", "五大连同仁县南和县", "杭州市富阳区西北部",
    "湖北、武汉", "北京市朝阳区红十字会", "长沙县长沙市", "", "红十字会",
])
def test_scan_reads_stretches_as_the_whole_text(gazetteer, text):
    # 五大连 (of 五大连池) is reported as 大连 only where a character follows that does not go on.
    assert scanned(gazetteer, text) == read_whole(gazetteer, text)


@pytest.fixture(scope="module")
def names_and_beginnings(gazetteer) -> tuple[list[str], list[str]]:
    """Every place name, and the beginnings of names that end with another name (五大连 of
    五大连池 ends with 大连): the automaton reports that name only when it sees that the next
    character does not go on."""
    names = sorted(set(gazetteer.names("province") + gazetteer.names("city")))
    known = set(names)
    beginnings = sorted({n[:k] for n in names for k in range(3, len(n))
                         if n[:k] not in known and any(n[i:k] in known for i in range(1, k - 1))})
    return names, beginnings


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_scan_finds_what_reading_the_whole_text_finds(gazetteer, names_and_beginnings, data):
    names, beginnings = names_and_beginnings
    name = st.sampled_from(names)
    cut = st.integers(1, 7)
    piece = st.one_of(
        name,
        st.tuples(name, cut).map(lambda t: t[0][:t[1]]),
        st.tuples(name, cut).map(lambda t: t[0][-t[1]:]),
        st.sampled_from(beginnings),
        st.text(alphabet="的在和省市县区红十字会人民东西南北中山江河,。 、()1", min_size=1, max_size=3),
    )
    text = "".join(data.draw(st.lists(piece, min_size=1, max_size=8)))
    assert scanned(gazetteer, text) == read_whole(gazetteer, text)


@pytest.mark.parametrize("stem, year", [
    ("000", 2020),   # latest year reported
    ("001", 2021),   # 截至2021年12月; 十九届六中全会
    ("002", 2023),
    ("003", 2020),   # dateline 2020年12月22日
    ("004", 2020),   # 十九届五中全会 (力争在2021年 is a plan, 2019年底 is past)
])
def test_report_year_of_seeds(stem, year):
    lines = lines_of(seed_text(stem))
    assert report_year(lines[0], seed_text(stem)) == year


@pytest.mark.parametrize("title, text, year", [
    ("陕西省西安市红十字会2020年工作总结", "2021年将继续", 2020),
    ("", "2018年成立。到2025年,力争建成。2035年远景目标", 2018),
    ("", "培训22000余名学生,2000余人,1978.5万元", None),
    ("", "", None),
])
def test_report_year_rules(title, text, year):
    assert report_year(title, text) == year
