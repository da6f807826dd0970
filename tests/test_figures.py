"""Figures: the quantities a passage states, and the numbers that are no quantity.

Each table row is a sentence written for this test and every figure it must give, as
(text, value, value_max, unit, subject, approx) — nothing more, nothing less."""
from decimal import Decimal

import jieba
import jieba.posseg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import analysis
from search.figures import Figure, _pos_tokenizer, figures, from_json, to_json


def read(sentence: str) -> list[tuple]:
    return [(f.text, f.value, f.value_max, f.unit, f.subject, f.approx) for f in figures(sentence)]


@pytest.mark.parametrize("sentence, expected", [
    # What it counts, before the number back to an adverb, a place or an organisation.
    ("今年全市新增注册志愿者4521人，募集善款836.5万元。",
     [("4521人", 4521, None, "人", "新增注册志愿者", None), ("836.5万元", 8365000, None, "元", "募集善款", None)]),
    ("全县共培训红十字救护员2.35万人，采血量达12.8万毫升。",
     [("2.35万人", 23500, None, "人", "培训红十字救护员", None), ("12.8万毫升", 128000, None, "毫升", "采血量", None)]),
    ("全市救护培训普及率达到23.5%，满意度提高了4个百分点。",
     [("23.5%", 23.5, None, "%", "救护培训普及率", None), ("4个百分点", 4, None, "百分点", "满意度提高", None)]),
    # ... after a classifier when a noun follows it, also through 的 and a quoted name.
    ("区红十字会为1860名留守儿童送去过冬衣物。", [("1860名", 1860, None, "名", "留守儿童", None)]),
    ("组建5支应急救援队，发放救灾帐篷300顶。",
     [("5支", 5, None, "支", "应急救援队", None), ("300顶", 300, None, "顶", "发放救灾帐篷", None)]),
    ("捐赠价值120万元的防疫物资。", [("120万元", 1200000, None, "元", "防疫物资", None)]),
    ("建成800平方米的“博爱家园”活动中心，表彰10名“最美志愿者”。",
     [("800平方米", 800, None, "平方米", "“博爱家园”活动中心", None), ("10名", 10, None, "名", "最美志愿者", None)]),
    ("在全市80余个参与评比的部门中。", [("80余个", 80, None, "个", "部门", "余")]),
    # ... from the figure it is listed with, the list 等 closes, the people who did something.
    ("全市累计救助困难群众300户、1200人。",
     [("300户", 300, None, "户", "救助困难群众", None), ("1200人", 1200, None, "人", "救助困难群众", None)]),
    ("走访社区、企业、学校等420个，发放物资22批次，共计8.2万余件。",
     [("420个", 420, None, "个", "走访社区、企业、学校等", None), ("22批次", 22, None, "批次", "发放物资", None),
      ("8.2万余件", 82000, None, "件", "发放物资", "余")]),
    ("3000人参加培训。", [("3000人", 3000, None, "人", "参加培训", None)]),
    # Qualifiers kept as written, before, inside and after.
    ("约500人参加演练，活动吸引逾千名市民，超过3000人次受益，培训学员800人以上，筹款50万元左右。",
     [("约500人", 500, None, "人", "参加演练", "约"), ("逾千名", 1000, None, "名", "市民", "逾"),
      ("超过3000人次", 3000, None, "人次", "受益", "超过"), ("800人以上", 800, None, "人", "培训学员", "以上"),
      ("50万元左右", 500000, None, "元", "筹款", "左右")]),
    ("不少于20人的救援队，参与人数近乎两千人，受助家庭1200余户，志愿者300多名。",
     [("不少于20人", 20, None, "人", "救援队", "不少于"), ("近乎两千人", 2000, None, "人", "参与人数", "近乎"),
      ("1200余户", 1200, None, "户", "受助家庭", "余"), ("300多名", 300, None, "名", "志愿者", "多")]),
    ("近3万余人受益。", [("近3万余人", 30000, None, "人", "受益", "近…余")]),
    # A qualifier's characters that end another word qualify nothing.
    ("附近3个社区的群众，预约3000人次。",
     [("3个", 3, None, "个", "社区", None), ("3000人次", 3000, None, "人次", "预约", None)]),
    # Chinese numerals.
    ("救治十二例患者，组建两支队伍，慰问二百三十八人，动员两千余名群众，覆盖三万余人。",
     [("十二例", 12, None, "例", "患者", None), ("两支", 2, None, "支", "队伍", None),
      ("二百三十八人", 238, None, "人", "慰问", None), ("两千余名", 2000, None, "名", "群众", "余"),
      ("三万余人", 30000, None, "人", "覆盖", "余")]),
    ("为千名环卫工人免费体检，上百名志愿者参加。",
     [("千名", 1000, None, "名", "环卫工人", None), ("上百名", 100, None, "名", "志愿者", "上")]),
    # Ranges keep both ends; 几 and 数 are a range and say so.
    ("每组3至5人，每队8-12人，三四百人参加，十几名队员，每人补助5-10万元，投入3万至5万元，数十名群众。",
     [("3至5人", 3, 5, "人", "", None), ("8-12人", 8, 12, "人", "", None), ("三四百人", 300, 400, "人", "参加", None),
      ("十几名", 11, 19, "名", "队员", "几"), ("5-10万元", 50000, 100000, "元", "补助", None),
      ("3万至5万元", 30000, 50000, "元", "投入", None), ("数十名", 20, 90, "名", "群众", "数")]),
    ("百分之九十的社区建立了服务站。", [("百分之九十", 90, None, "%", "社区", None)]),
    # Traditional and full-width text reads as the rest; text and subject stay as written.
    ("全縣註冊志願者３６７１人，捐款1,220.6萬元，兩千餘名志願者。",
     [("３６７１人", 3671, None, "人", "註冊志願者", None), ("1,220.6萬元", 12206000, None, "元", "捐款", None),
      ("兩千餘名", 2000, None, "名", "志願者", "余")]),
    ("采购ＡＥＤ设备20台。", [("20台", 20, None, "台", "采购ＡＥＤ设备", None)]),
])
def test_figures_of_a_sentence(sentence, expected):
    assert read(sentence) == expected


@pytest.mark.parametrize("sentence", [
    # Years, dates and times.
    "2023年3月25日上午9时，在14:30召开的2023年度总结会上。",
    "2022-2023年，二〇二三年，2023.3.25。",
    # Ordinals, ranks, numbered sessions and meetings.
    "第238例造血干细胞捐献，第六次会员代表大会，第二版手册，第一批示范点，第三、四、五届大赛。",
    "位列全省第3名，排至20至30名，进入前3名。",
    "召开十一届二次理事会，学习党的十九届六中全会精神，省委十四届八次全会，二期工程。",
    "2023届毕业生。",
    # Slogans and set phrases, quoted or not; book titles.
    "增强四个意识，做到两个维护，落实中央八项规定精神，省委十项规定，践行“三个摆进去”。",
    "开展“一帮一”结对，推进“三献”工作，编制十四五规划，落实“三会一课”，做好三篇文章。",
    "荣获学雷锋志愿服务“四个100”最佳项目。",
    "《关于表彰2022年度100名优秀志愿者的决定》",
    # Phone numbers, codes and document numbers.
    "咨询电话0311-87654321，印发冀红字〔2021〕12号文件，依据〔2023〕5号通知。",
    # Event names.
    "“7·20”洪涝灾害，“5·8”世界红十字日，5·12汶川地震。",
    # Durations, ages, product and disease names: no counted unit.
    "奋战51天，连续3年，80岁老人，5A级景区，H7N9疫情，COVID-19疫情，3个月。",
    # An article, an idiom, a campaign's name.
    "献出一份爱心，千家万户，博爱送万家，急救知识万人学，千人计划。",
])
def test_numbers_that_are_no_figure(sentence):
    assert read(sentence) == []


@pytest.mark.parametrize("sentence, expected", [
    # Beside an ordinal or a set phrase, a count stays a count.
    ("第二批发放物资300箱，四个社区建成服务站。",
     [("300箱", 300, None, "箱", "发放物资", None), ("四个", 4, None, "个", "社区", None)]),
    # A quotation is no name: the figures in it count.
    ("他说：“今年我们培训了3000人，明年还要更多。”", [("3000人", 3000, None, "人", "培训", None)]),
    # A Chinese numeral after a figure is no numbered name when the figure is in digits.
    ("一次性发放救助金4.1万元。", [("4.1万元", 41000, None, "元", "发放救助金", None)]),
    # A year before a figure is no part of it.
    ("2023年全市共有志愿者3671人。", [("3671人", 3671, None, "人", "志愿者", None)]),
])
def test_figures_beside_what_is_left_out(sentence, expected):
    assert read(sentence) == expected


def test_figures_survive_the_index_json():
    found = figures("全市新增注册志愿者4521人，每组3至5人，近3万余人受益。")
    assert from_json(to_json(found)) == found
    assert from_json("") == []


UNITS = ["人", "人次", "名", "例", "份", "元", "毫升", "吨", "支", "个", "户", "所", "套", "次", "场", "台", "%"]
SUBJECTS = ["注册志愿者", "捐款", "培训学员", "无偿献血", "采集血样", "发放救助金", "救助困难群众"]
CHINESE = {2: "两", 3: "三", 12: "十二", 40: "四十", 238: "二百三十八", 2000: "两千", 30000: "三万"}


@st.composite
def stated_figures(draw):
    """A clause stating one figure, in digits (with 万 or 亿) or in Chinese: (clause, figure, value)."""
    subject, unit = draw(st.sampled_from(SUBJECTS)), draw(st.sampled_from(UNITS))
    if draw(st.booleans()):
        value = draw(st.sampled_from(sorted(CHINESE)))
        return subject + CHINESE[value] + unit, CHINESE[value] + unit, value
    cents = draw(st.integers(min_value=100, max_value=99_999_999))
    digits = f"{cents // 100}.{cents % 100:02d}".rstrip("0").rstrip(".")
    multiplier = draw(st.sampled_from(["", "万", "亿"]))
    # In decimal, as the text states it: 528750.55亿 is 52875055000000, not float's ….01.
    value = float(Decimal(digits) * {"": 1, "万": 10_000, "亿": 100_000_000}[multiplier])
    return subject + digits + multiplier + unit, digits + multiplier + unit, value


@settings(max_examples=150, deadline=None)
@given(st.lists(stated_figures(), min_size=1, max_size=4), st.sampled_from(["，", "；", "。", "、"]))
def test_each_figure_written_is_read_with_its_value(clauses, separator):
    passage = separator.join(clause for clause, _, _ in clauses) + "。"
    found = figures(passage)
    assert [(f.text, f.value) for f in found] == [(text, value) for _, text, value in clauses]
    assert all(f.text == passage[f.start:f.end] for f in found)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789.,-至余多近约万千百十两三四五六七八九个人名元次年月日第的“”，。、共培训志愿者捐款发放", max_size=60))
def test_any_text_gives_figures_that_stand_in_it(passage):
    for figure in figures(passage):
        assert figure.text == passage[figure.start:figure.end]
        assert isinstance(figure, Figure) and figure.value >= 0
        assert figure.value_max is None or figure.value_max > figure.value
        assert figure.unit in figure.text or figure.unit == "%"


@pytest.fixture(scope="module")
def jiebas_own_tagger():
    """jieba's part-of-speech tagger built the public way, over the index's dictionary."""
    tokenizer = jieba.Tokenizer()
    tokenizer.load_userdict(str(analysis.USER_DICT))
    return jieba.posseg.POSTokenizer(tokenizer)


# Words jieba knows, names it reads with its hidden Markov model, and what stands between.
KNOWN_AND_UNKNOWN = "李霞张秀兰杨秀胡洋谢菲菲黑格比奎香丽水市红十字会参加应急救护培训造血干细胞捐献的了在和，。、（）07AZx 　\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(alphabet=KNOWN_AND_UNKNOWN, min_size=1, max_size=12),
                          st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1,
                                  max_size=12)), min_size=1, max_size=4))
def test_the_figures_tagger_tags_as_jiebas_own(jiebas_own_tagger, pieces):
    text = "".join(pieces)
    tagged = [(pair.word, pair.flag) for pair in _pos_tokenizer(analysis.USER_DICT).cut(text)]
    assert tagged == [(pair.word, pair.flag) for pair in jiebas_own_tagger.cut(text)]
