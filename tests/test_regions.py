"""Where a report is from, on composed reports kept under the folders and file names people
give them (tests/data/regions): the path is evidence of the region, weaker than the
organisation the text names; provincial reports get no city from their meetings' venues;
county reports that only say 我县 keep their county; ambiguous names need their context."""
import shutil
from pathlib import Path

import docx
import pytest

from search.facets import Filters
from search.index import _enrichment, passage_records, update_index
from search.sources import source_files
from search.ingest import read_document
from search.engine import Engine
from search.querylang import SearchRequest

REGIONS = Path(__file__).resolve().parent / "data" / "regions"
WORD_REPORT = "2023年长兴县红十字会工作报告.docx"
# A county's report that names its county only in its file name, and its city's organisation twice.
WORD_PARAGRAPHS = [
    "2023年，县红十字会在县委县政府和湖州市红十字会的坚强领导下，坚持以“三救三献”为核心，全县红十字事业实现新发展。",
    "一、应急救护培训",
    "全县举办救护员培训班42期，培训持证救护员2100人，在水口、煤山等乡镇新增AED设备36台。",
    "二、人道救助",
    "“博爱送万家”活动走访慰问困难群众920户。湖州市红十字会领导专程来我县参加慰问。",
]

PROVINCIAL, MUNICIPAL, COUNTY, NATIONAL = "省级", "市级", "县级", "全国"
EXPECTED = {
    # The path alone names the place.
    "宁波/2019/工作总结": ("浙江省", "宁波市", None, MUNICIPAL),
    "宁波 第二例造血干细胞捐献 (1)": ("浙江省", "宁波市", None, MUNICIPAL),  # text: 浙江大学, 山东, 我市
    "2023年长兴县红十字会工作报告": ("浙江省", "湖州市", "长兴县", COUNTY),
    "安吉县/博爱家园建设情况": ("浙江省", "湖州市", "安吉县", COUNTY),       # text: 赴杭州学习
    "东阳 救援队年度总结": ("浙江省", "金华市", "东阳市", COUNTY),
    "义乌 红十字会博爱家园": ("浙江省", "金华市", "义乌市", COUNTY),
    "四川省红十字会/2021年度工作报告": ("四川省", None, None, PROVINCIAL),   # text lists 成都, 绵阳, 南充
    "湖北/恩施州/2020年工作报告": ("湖北省", "恩施土家族苗族自治州", None, MUNICIPAL),  # 全州 is no 全州县
    "天津/和平区/工作总结": ("天津市", "天津市", "和平区", COUNTY),
    "兰州/城关区/总结": ("甘肃省", "兰州市", "城关区", COUNTY),
    "城关区/总结": (None, None, None, NATIONAL),       # the same text: 兰州's or 拉萨's, no guess
    "辽宁/朝阳/2021年工作总结": ("辽宁省", "朝阳市", None, MUNICIPAL),
    # The organisation the text names wins over the path.
    "杭州 应急救护培训": ("浙江省", "绍兴市", None, MUNICIPAL),
    "舟山/救护师资培训班开班": ("浙江省", "台州市", None, MUNICIPAL),
    # Everyday words in the path are no places.
    "平安春运/和平社区博爱家园项目总结": (None, None, None, NATIONAL),
    # Web captures.
    "r01_city_spam": ("浙江省", "嘉兴市", None, MUNICIPAL),
    "r02_county_never_repeats": ("浙江省", "湖州市", "德清县", COUNTY),
    "r03_province_venue": ("甘肃省", None, None, PROVINCIAL),
    "r04_province_unqualified": ("甘肃省", None, None, PROVINCIAL),
    "r05_municipality_district": ("北京市", "北京市", "海淀区", COUNTY),
    "r06_county_level_city": ("浙江省", "金华市", "东阳市", COUNTY),
    "r07_chaoyang_beijing": ("北京市", "北京市", "朝阳区", COUNTY),
    "r08_heping_tianjin": ("天津市", "天津市", "和平区", COUNTY),
    "r09_chengguan_lanzhou": ("甘肃省", "兰州市", "城关区", COUNTY),
    "r10_changan_xian": ("陕西省", "西安市", "长安区", COUNTY),
    "r11_xinhua_road": ("河北省", "石家庄市", None, MUNICIPAL),
    "r12_yongding_zhangjiajie": ("湖南省", "张家界市", "永定区", COUNTY),
    "r13_province_city_list": ("江苏省", None, None, PROVINCIAL),
    "r14_county_only_org_in_body": ("浙江省", "台州市", "天台县", COUNTY),
    "r15_city_venue_county": ("浙江省", "湖州市", None, MUNICIPAL),
    "r16_autonomous_region_venue": ("广西壮族自治区", None, None, PROVINCIAL),
    "r17_district_city_guest": ("浙江省", "杭州市", "萧山区", COUNTY),
    "r18_city_venue_in_title": ("浙江省", "宁波市", None, MUNICIPAL),
    "r19_changan_shijiazhuang": ("河北省", "石家庄市", "长安区", COUNTY),
}


def write_word_report(path: Path) -> None:
    document = docx.Document()
    document.add_heading("2023年工作报告", level=1)
    for text in WORD_PARAGRAPHS:
        document.add_paragraph(text)
    document.save(path)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The composed reports under their folders and names, with the Word report written."""
    root = tmp_path_factory.mktemp("regions") / "sources"
    shutil.copytree(REGIONS, root, ignore=shutil.ignore_patterns("README.md"))
    write_word_report(root / WORD_REPORT)
    return root


@pytest.fixture(scope="module")
def regions(folder) -> dict[str, set[tuple]]:
    """Each report's passage regions and levels, as indexing records them."""
    found = {}
    for source in source_files([folder], []):
        records = passage_records(read_document(source.path, source.doc_id), *_enrichment())
        found[source.doc_id] = {(r["province"] or None, r["city"] or None, r["county"] or None, r["level"])
                                for r in records}
    return found


def test_every_composed_report_is_expected(regions):
    assert sorted(regions) == sorted(EXPECTED)


@pytest.mark.parametrize("doc_id", sorted(EXPECTED))
def test_a_report_gets_the_region_of_who_did_the_work(regions, doc_id):
    assert regions[doc_id] == {EXPECTED[doc_id]}


@pytest.fixture(scope="module")
def engine(folder, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("regions-index")
    summary = update_index([folder], index_dir, workers=1)
    assert summary.failed == []
    with Engine(index_dir) as engine:
        yield engine


def reports(engine: Engine, **filters) -> list[str]:
    values = {name: (value,) for name, value in filters.items()}
    result = engine.search(SearchRequest(q="", limit=100, filters=Filters(**values)))
    return sorted({hit.doc_id for hit in result.hits})


@pytest.mark.parametrize("filters, doc_ids", [
    ({"city": "宁波"}, ["r18_city_venue_in_title", "宁波 第二例造血干细胞捐献 (1)", "宁波/2019/工作总结"]),
    ({"city": "长兴"}, ["2023年长兴县红十字会工作报告"]),
    ({"city": "天水"}, []),            # the venue of two provincial meetings
    ({"province": "甘肃", "level": PROVINCIAL}, ["r03_province_venue", "r04_province_unqualified"]),
    ({"city": "杭州"}, ["r17_district_city_guest"]),   # the file 杭州 … is 绍兴's report
    ({"city": "朝阳"}, ["r07_chaoyang_beijing", "辽宁/朝阳/2021年工作总结"]),
])
def test_browsing_a_place_lists_the_reports_from_there(engine, filters, doc_ids):
    assert reports(engine, **filters) == doc_ids
