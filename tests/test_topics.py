"""Topics: the taxonomy file, the words that count as evidence, the classifier's decisions and
explanations, what the index stores of them, the labelled composed reports and the model fitted on them."""
import json

import pytest

import topic_eval
from search import index, topics
from search.topics import Evidence, PassageInput, PassageTopics, TopicClassifier, TopicModel, TopicRules

TEXT, HEADING, TITLE, NEIGHBOURS = topics.TEXT, topics.HEADING, topics.TITLE, topics.NEIGHBOURS
ALL_TOPICS = ("应急救援", "救护培训", "人道救助", "无偿献血", "造血干细胞捐献", "遗体器官捐献", "志愿服务",
              "青少年工作", "疫情防控", "募捐与公开透明", "党的建设", "改革与组织建设", "宣传传播",
              "脱贫攻坚与乡村振兴", "对外交流")
MINIMAL_TOML = '[weights]\nstrong = 3\nkeywords = 1.5\nweak = 0.5\n'


@pytest.fixture(scope="module")
def classifier():
    return TopicClassifier.load()


# -- the taxonomy -------------------------------------------------------------

def test_topic_names_and_aliases(classifier):
    assert classifier.rules.names == ALL_TOPICS
    assert classifier.rules.expand("三献") == ["无偿献血", "造血干细胞捐献", "遗体器官捐献"]
    assert classifier.rules.expand("党的建设") == ["党的建设"]
    assert classifier.rules.expand("火星") == []


@pytest.mark.parametrize("toml, message", [
    (MINIMAL_TOML + '[[topic]]\nname = "党的建设"\nstrong = ["党建"]\n[aliases]\n"三献" = ["献血"]\n',
     "aliases name unknown topics: 献血"),
    (MINIMAL_TOML + '[[topic]]\nname = "党的建设"\nstrong = ["党建"]\n'
                    '[[topic]]\nname = "宣传传播"\nweak = ["宣传", "党建"]\n',
     "keyword 党建 is listed twice \\(under 党的建设 and 宣传传播\\)"),
    ('[weights]\nstrong = 3\n[[topic]]\nname = "党的建设"\nstrong = ["党建"]\n',
     r"\[weights\] must give exactly strong, keywords, weak"),
])
def test_taxonomy_mistakes_are_errors_naming_them(tmp_path, toml, message):
    path = tmp_path / "topics.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        TopicRules.load(path)


def test_a_model_fitted_for_other_measures_is_refused(tmp_path):
    path = tmp_path / "topic_model.json"
    path.write_text(json.dumps({"coefficients": {"own": 1.0, "colour": 2.0}, "intercept": 0, "threshold": 0.5}),
                    encoding="utf-8")
    with pytest.raises(ValueError, match="refit it with `make topic-model`"):
        TopicModel.load(path)


# -- the words that count -------------------------------------------------------

@pytest.mark.parametrize("text, hits", [
    ("配置AED,开展心肺复苏培训", [("aed", "救护培训"), ("心肺复苏", "救护培训"), ("培训", "救护培训")]),
    # longest first across topics: one word of 救护培训, not also 应急救援 of 应急救援
    ("开展应急救援培训12场", [("应急救援培训", "救护培训")]),
    ("“三献”工作成效明显", [("三献", "无偿献血"), ("三献", "造血干细胞捐献"), ("三献", "遗体器官捐献")]),
    # honours and titles awarded are no evidence ...
    ("先后荣获“全国无偿献血先进城市”“全省造血干细胞捐献先进单位”等称号。", []),
    ("被评为全国无偿献血先进城市。全年献血2万人次", [("献血", "无偿献血")]),
    # ... but commending donors is blood-donation work, and 获得 alone awards nothing
    ("表彰无偿献血奉献奖获得者1.1万人", [("无偿献血", "无偿献血")]),
    ("获得救助的困难群众达500户", [("救助", "人道救助"), ("困难群众", "人道救助")]),
    # a shortcoming stated is no work; the sentence after it is
    ("存在基层组织力量薄弱、募捐能力不足等短板。全年接收捐赠款物500万元", [("接收捐赠", "募捐与公开透明")]),
    # offices and titles hide the keyword inside them, the keyword alone still counts
    ("省委宣传部部长为市红会党组书记颁奖", []),
    ("加强宣传,党组会议研究", [("宣传", "宣传传播"), ("党组", "党的建设")]),
    ("统筹资源形成合力", []),        # 筹资 across 统筹|资源
    # a goal the work serves is no work on it; the work beside it is
    ("坚持服务于乡村振兴，助力乡村振兴，巩固拓展脱贫攻坚成果", []),
    ("助力乡村振兴，开展救护培训12场", [("救护培训", "救护培训")]),
    ("在献血点服务献血者", [("献血点", "无偿献血"), ("献血者", "无偿献血")]),
    # shortcomings said plainly, units listed as structure, officials as participants
    ("基层组织作用发挥不够，救护培训覆盖面不广，筹资能力弱。", []),
    ("服务队下设应急救援、救护培训等6个分队，全年开展志愿服务96场", [("志愿服务", "志愿服务")]),
    ("286名党员干部参加献血", [("献血", "无偿献血")]),
    ("", []),
])
def test_evidence_words(classifier, text, hits):
    assert [(h.word, h.topic) for h in classifier.rules.hits(text)] == hits


# -- the classifier -------------------------------------------------------------

TRAINING = ("全年培训红十字救护员1.2万人，普及性培训9万人次，在地铁站、体育馆和景区配置AED 80台，建成应急救护培训基地5个。"
            "组织开展全市应急救护技能竞赛，14支代表队参赛，并选派救护师资参加全省师资培训，新增培训师22名。"
            "救护培训同时进入交通、电力、旅游等行业，行业救护员在突发事件中多次成功施救。市红十字会还在各类宣传活动中普及急救知识。")
QUEUE = "活动从早上八点持续到下午四点，市民们冒着高温排起长队，不少人是第三次、第四次前来参加，为缓解夏季临床用血紧张贡献了力量。"
DONATIONS = "全年无偿献血1.2万人次，献血量4000升。"
REPORT_TITLE = "某市红十字会2023年无偿献血工作纪实"


@pytest.mark.parametrize("text, context, expected", [
    # one mention makes a short passage's subject ...
    ("全市成功捐献造血干细胞累计86例，居全省前列。", {}, ("造血干细胞捐献",)),
    ("新增造血干细胞捐献志愿者2人。", {}, ("造血干细胞捐献",)),
    # ... not a page-long passage's about something else
    (TRAINING, {}, ("救护培训",)),
    ("市红十字会先后荣获“全国无偿献血先进城市”“全国红十字模范单位”等称号。", {}, ()),
    # a passage that barely names its subject takes it from its heading and the passage beside it ...
    (QUEUE, {}, ()),
    (QUEUE, {"heading": "无偿献血进社区", "neighbours": [DONATIONS]}, ("无偿献血",)),
    # ... and one that names nothing (a caption, a quote, a step of a story) its context's
    # subject, when heading, title and neighbours agree on it; a note in brackets is about nothing
    ("活动当天，共有32名市民报名。", {"heading": "无偿献血进社区", "neighbours": [DONATIONS]}, ()),
    ("活动当天，共有32名市民报名。", {"heading": "无偿献血进社区", "title": REPORT_TITLE, "neighbours": [DONATIONS]},
     ("无偿献血",)),
    ("（市红十字会 供稿）", {"heading": "无偿献血进社区", "title": REPORT_TITLE, "neighbours": [DONATIONS]}, ()),
    ("", {}, ()),
])
def test_passage_topics(classifier, text, context, expected):
    assert classifier.passage(text, **context).topics == expected


def test_each_topic_comes_with_the_words_that_gave_it(classifier):
    found = classifier.passage("全市新增中华骨髓库志愿者120人，配型成功3例。", heading="生命相髓 大爱接力",
                               neighbours=["全年无偿献血1.2万人次。"])
    assert found.evidence == {"造血干细胞捐献": (Evidence("中华骨髓库志愿者", TEXT), Evidence("配型", TEXT),
                                                Evidence("相髓", HEADING))}
    assert classifier.passage(QUEUE, heading="无偿献血进社区", neighbours=[DONATIONS]).evidence == {
        "无偿献血": (Evidence("用血", TEXT), Evidence("无偿献血", HEADING), Evidence("无偿献血", NEIGHBOURS),
                     Evidence("献血量", NEIGHBOURS))}


def test_only_paragraphs_read_their_context(classifier):
    """A heading is about what it names and the title lines about what they say: neither takes
    the topic of the paragraphs around it, nor does a note in brackets."""
    passages = [PassageInput("机关单位带头", "机关单位带头", "heading"),
                PassageInput("3月，市级机关干部职工集中献血，286人参加。", "机关单位带头"),
                PassageInput("▲机关干部撸起袖子献热血", "机关单位带头"),
                PassageInput("（嵊州市红十字会 供稿）", "机关单位带头")]
    found = classifier.document([REPORT_TITLE], passages)
    assert [f.evidence for f in found] == [
        {}, {"无偿献血": (Evidence("献血", TEXT), Evidence("无偿献血", TITLE))},
        {"无偿献血": (Evidence("无偿献血", TITLE), Evidence("献血", NEIGHBOURS))}, {}]


def test_stored_evidence_reads_back():
    found = PassageTopics({"无偿献血": (Evidence("献血", TEXT), Evidence("无偿献血", TITLE))})
    assert found.to_json() == '{"无偿献血":[["献血","text"],["无偿献血","title"]]}'
    assert PassageTopics.from_json(found.to_json()) == found
    assert PassageTopics.from_json("") == PassageTopics()


def test_index_stores_each_passages_topics_with_their_words(tmp_path, halves):
    report = next(topic_eval.LABELLED.glob("t13_*"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / report.name).write_bytes(report.read_bytes())
    index.update_index([tmp_path / "src"], tmp_path / "index")
    with index.open_index(tmp_path / "index").searcher() as searcher:
        stored = sorted(searcher.documents(kind="passage"), key=lambda f: f["passage"])
    labelled = [set(label.topics) for label in halves[0].labels if label.doc == "t13"]
    assert [set(filter(None, f["topics"].split(","))) for f in stored] == labelled
    assert [set(PassageTopics.from_json(f["topic_evidence"]).topics) for f in stored] == labelled
    # A caption that names nothing has its topic from the report's title and the passage above it.
    assert stored[9]["text"] == "▲机关干部撸起袖子献热血"
    assert PassageTopics.from_json(stored[9]["topic_evidence"]).evidence == {
        "无偿献血": (Evidence("无偿献血", TITLE), Evidence("献血", NEIGHBOURS))}


# -- the labelled reports and the model fitted on them --------------------------

@pytest.fixture(scope="module")
def halves():
    return (topic_eval.LabelSet.load("tuning half", topic_eval.TUNE, topic_eval.LABELLED),
            topic_eval.LabelSet.load("held-out half", topic_eval.HELD_OUT, topic_eval.LABELLED))


def test_each_label_names_the_passage_it_starts(halves):
    for half in halves:
        for label in half.labels:
            doc, i = half.locate(label)
            assert topic_eval._norm(doc.passages[i].text).startswith(label.starts), (half.name, label)


def test_halves_are_split_by_report_and_each_holds_every_topic(halves):
    tune, held_out = halves
    assert {d.doc_id for d in tune.documents}.isdisjoint({d.doc_id for d in held_out.documents})
    for half in halves:
        assert {t for label in half.labels for t in label.topics} == set(ALL_TOPICS)
    assert (len(tune.labels), len(held_out.labels)) == (279, 167)


def test_shipped_model_is_what_the_fit_command_builds(tmp_path, halves, capsys):
    fitted = tmp_path / "topic_model.json"
    topic_eval.fit(halves[0], TopicRules.load(topics.TOPICS_FILE), fitted)
    assert json.loads(fitted.read_text(encoding="utf-8")) == json.loads(topics.MODEL_FILE.read_text(encoding="utf-8"))
    assert "leave-one-report-out" in capsys.readouterr().out
