"""Topics of passages: which topics of the taxonomy a passage reports on, and the words that say so.

The taxonomy (data/topics.toml) gives each topic keywords in tiers of weight. A passage's
evidence for a topic is the weight of the topic's keywords in four places: the passage itself
(its opening sentence and its sentences and clauses with figures counted apart), its section
heading, the report's title, and the passages beside it; only a paragraph reads those three,
a heading or the title lines are about what they name and a note in brackets (a credit line)
about nothing. Keywords inside honours (荣获“全国无偿献血先进城市”), in statements of
shortcomings (募捐能力不足, 筹资能力弱), in lists of an organisation's units (下设应急救援、救护
培训等分队), right after the goal work is said to serve (助力乡村振兴) and in the taxonomy's
`ignore` phrases are no evidence.

A logistic model (data/topic_model.json) turns that evidence into the probability that a
reader gives the passage the topic: one mention in a two-line passage makes it its subject,
one in a page-long passage about something else does not; a passage that names its topic only
faintly gets it when its heading and neighbours agree, and a section's topic reported beside
a larger one counts. A paragraph that names no topic at all (a photo caption, a quote, a step
of a story) gets its context's subject when heading, title and neighbours say it clearly
enough. The model's coefficients are shared by all topics and read only these measures, never
words, so an edit of topics.toml takes effect without refitting. `make topic-model` fits it on
the tuning half of the labelled composed reports of tests/data/topics.
"""
from __future__ import annotations

import bisect
import functools
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import ahocorasick

from search.analysis import normalize

DATA_DIR = Path(__file__).parent / "data"
TOPICS_FILE = DATA_DIR / "topics.toml"
MODEL_FILE = DATA_DIR / "topic_model.json"

TIERS = ("strong", "keywords", "weak")
# Where a piece of evidence was found, as explanations name it.
TEXT, HEADING, TITLE, NEIGHBOURS = "text", "heading", "title", "neighbours"

# A quoted title holding one of these words is an honour, an award or a title given: 荣获
# “全国无偿献血先进城市” says nothing of the passage's work on blood donation.
HONOUR_WORDS = "先进|模范|标兵|十佳|最美|最佳|优秀|奖|称号|荣誉|表彰"
QUOTED_HONOUR = re.compile(rf"“[^“”]{{0,40}}?(?:{HONOUR_WORDS})[^“”]{{0,40}}”")
# … and so is what follows 荣获/被评为 up to the end of the clause, if it names one.
AWARDED = re.compile(rf"(?:荣获|获得|获评|被评为|评为|被授予|授予|荣膺|被命名为|被表彰为)"
                     rf"(?=[^,。;!?:]*?(?:{HONOUR_WORDS}))[^,。;!?:]*")
# A clause that states a shortcoming (基层组织力量薄弱、募捐能力不足、筹资能力弱) reports no work
# on what it names.
SHORTCOMING = re.compile(r"[^。!?;,:]*(?:薄弱|不足|短板|有待|不平衡|不充分|差距|欠缺|不够|不广|不强|不到位|滞后"
                         r"|能力弱|较弱|偏弱)[^。!?;,:]*")
# Units listed as what an organisation has (下设应急救援、救护培训等6个分队) are its structure, not its work.
UNITS = re.compile(r"下设[^,。;!?:]*")
# A goal the work is said to serve is no work on it: in 助力乡村振兴, 服务于乡村振兴, 巩固拓展脱贫
# 攻坚成果 the keyword right after the verb is masked (服务 alone serves people too: 服务献血者).
GESTURE = re.compile(r"(?:助力|助推|服务于|巩固(?:拓展)?|衔接)")
SENTENCE = re.compile(r"[^。!?;]+[。!?;]*")
CLAUSE = re.compile(r"[^。!?;,:]+[。!?;,:]*")
FIGURE = re.compile(r"\d")
# A passage wholly in brackets is a note: a credit line (本版图文由…提供), a source, an author.
NOTE = re.compile(r"^\(.*\)$", re.S)
OPENING_CHARS = 30      # how much of a passage's first sentence announces its subject
SHORT_CHARS = 60        # the length at which a passage half counts as short
REPEAT_BONUS = 0.5      # each further occurrence of a word adds this much of its weight
CONTEXT_SCORE = 3.0     # the evidence at which a heading, title or neighbour speaks fully for its topics


@dataclass(frozen=True)
class Hit:
    """A keyword of a topic found in normalized text."""
    word: str
    topic: str
    weight: float
    start: int


@dataclass(frozen=True)
class Evidence:
    """A word that counted for a topic, and where it was: the passage's text, its section
    heading, the report's title or a neighbouring passage."""
    word: str
    where: str


@dataclass(frozen=True)
class PassageTopics:
    """The topics a passage has, each with the words that gave it, strongest first."""
    evidence: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)

    @property
    def topics(self) -> tuple[str, ...]:
        """Topic names, in taxonomy order."""
        return tuple(self.evidence)

    def to_json(self) -> str:
        """The stored form: {topic: [[word, where], ...]}."""
        return json.dumps({t: [[e.word, e.where] for e in ev] for t, ev in self.evidence.items()},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, stored: str) -> PassageTopics:
        """Read what to_json stored (an empty string is no topics)."""
        data = json.loads(stored) if stored else {}
        return cls({t: tuple(Evidence(w, where) for w, where in ev) for t, ev in data.items()})


@dataclass(frozen=True)
class PassageInput:
    """What topics are judged from: a passage's text, its section heading, its role
    ("lead", "heading" or "paragraph") and the sub-article it belongs to."""
    text: str
    heading: str = ""
    role: str = "paragraph"
    article: int = 0


@dataclass(frozen=True)
class TopicRules:
    """The taxonomy of data/topics.toml: topic names, weighted keywords, ignored phrases, aliases (三献)."""
    names: tuple[str, ...]
    keywords: dict[str, tuple[tuple[str, float], ...]]      # word -> ((topic, weight), ...)
    ignore: frozenset[str] = frozenset()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TopicRules:
        """Rules from a topics.toml file; a keyword listed twice, a missing tier weight or an
        alias naming no topic is an error naming it. An alias's name (三献) is a keyword of
        each of its topics."""
        with open(path, "rb") as f:
            data = tomllib.load(f)
        weights = {tier: float(w) for tier, w in data.get("weights", {}).items()}
        if set(weights) != set(TIERS):
            raise ValueError(f"{path}: [weights] must give exactly {', '.join(TIERS)}")
        keywords: dict[str, tuple[tuple[str, float], ...]] = {}
        for topic in data.get("topic", []):
            for tier in TIERS:
                for word in topic.get(tier, []):
                    word = normalize(word)
                    if word in keywords:
                        raise ValueError(f"{path}: keyword {word} is listed twice "
                                         f"(under {keywords[word][0][0]} and {topic['name']})")
                    keywords[word] = ((topic["name"], weights[tier]),)
        names = tuple(t["name"] for t in data.get("topic", []))
        aliases = {name: tuple(members) for name, members in data.get("aliases", {}).items()}
        unknown = {m for members in aliases.values() for m in members} - set(names)
        if unknown:
            raise ValueError(f"{path}: aliases name unknown topics: {', '.join(sorted(unknown))}")
        for name, members in aliases.items():
            keywords.setdefault(normalize(name), tuple((m, weights["keywords"]) for m in members))
        return cls(names, keywords, frozenset(normalize(p) for p in data.get("ignore", [])), aliases)

    def expand(self, name: str) -> list[str]:
        """Topic names a filter value selects: an alias its members, a topic itself, anything else none."""
        name = (name or "").strip()
        if name in self.aliases:
            return list(self.aliases[name])
        return [name] if name in self.names else []

    @functools.cached_property
    def _automaton(self) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for word, topics in self.keywords.items():
            automaton.add_word(word, (word, topics))
        for phrase in self.ignore:      # longest first: an ignored phrase hides the keywords inside it
            automaton.add_word(phrase, (phrase, ()))
        automaton.make_automaton()
        return automaton

    def hits(self, text: str) -> list[Hit]:
        """Keyword hits in text (normalized here), longest first, leaving out those inside
        honours, statements of shortcomings, lists of units and ignored phrases, and the goals
        work is said to serve."""
        text = normalize(text or "")
        if not self.keywords or not text:
            return []
        masked = [m.span() for pattern in (QUOTED_HONOUR, AWARDED, SHORTCOMING, UNITS) for m in pattern.finditer(text)]
        masked += [(m.end(), m.end() + 1) for m in GESTURE.finditer(text)]
        found = ((end + 1 - len(word), word, topics) for end, (word, topics) in self._automaton.iter_long(text))
        return [Hit(word, topic, weight, start) for start, word, topics in found
                if not any(a <= start < b for a, b in masked) for topic, weight in topics]


def _score(hits: Sequence[Hit]) -> dict[str, float]:
    """Evidence per topic: each word its weight, each further occurrence REPEAT_BONUS of it."""
    counts: dict[tuple[str, str, float], int] = {}
    for h in hits:
        counts[(h.topic, h.word, h.weight)] = counts.get((h.topic, h.word, h.weight), 0) + 1
    scores: dict[str, float] = {}
    for (topic, _, weight), n in counts.items():
        scores[topic] = scores.get(topic, 0.0) + weight * (1 + REPEAT_BONUS * (n - 1))
    return scores


def _shares(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values())
    return {t: s / total for t, s in scores.items()} if total else {}


def _strengths(scores: dict[str, float]) -> dict[str, float]:
    """What a heading, title or neighbour says of each topic: its share of their evidence, and
    less when that evidence is below one strong word (one weak word in a title says little)."""
    total = max(sum(scores.values()), CONTEXT_SCORE)
    return {t: s / total for t, s in scores.items()}


@dataclass(frozen=True)
class _Reading:
    """A passage's own evidence: its hits, its length, and per topic its score overall, as a
    share of all topics' score, in its opening sentence, in its sentences with figures and in
    its clauses with figures; and whether it is a note in brackets."""
    hits: tuple[Hit, ...]
    length: int
    score: dict[str, float]
    share: dict[str, float]
    opening: dict[str, float]
    figures: dict[str, float]
    counted: dict[str, float]
    note: bool = False

    @classmethod
    def of(cls, rules: TopicRules, text: str) -> _Reading:
        text = normalize(text or "")
        hits = tuple(rules.hits(text))
        first = SENTENCE.match(text)
        opening_end = min(first.end(), OPENING_CHARS) if first else 0
        score = _score(hits)
        return cls(hits, len("".join(text.split())), score, _shares(score),
                   _score([h for h in hits if h.start < opening_end]),
                   _score(_with_figures(text, hits, SENTENCE)), _score(_with_figures(text, hits, CLAUSE)),
                   bool(NOTE.match(text)))


def _with_figures(text: str, hits: Sequence[Hit], unit: re.Pattern) -> list[Hit]:
    """The hits that sit in a unit (sentence or clause) of text holding a figure."""
    ends, figured = [], []
    for m in unit.finditer(text):
        ends.append(m.end())
        figured.append(bool(FIGURE.search(m.group())))
    return [h for h in hits if (i := bisect.bisect_right(ends, h.start)) < len(ends) and figured[i]]


MEASURES = ("own", "share", "density", "opening", "figures", "counted",
            "heading_if_short", "title_if_short", "neighbours_if_short", "heading_if_named", "context_if_silent")


def measures(topic: str, own: _Reading, heading: dict[str, float], title: dict[str, float],
             neighbours: dict[str, float], silent: bool = False) -> dict[str, float]:
    """What the model weighs for one topic of one passage (MEASURES): its own evidence overall,
    as a share of the passage's evidence, per 100 characters, in the opening sentence, in
    sentences and in clauses with figures; what the heading, the title and the neighbours
    say of it, counted the more the shorter the passage is; the heading again when the
    passage itself names the topic (a section's topic reported beside a larger one); and the
    strongest of the three when the passage names no topic at all (`silent`)."""
    score = own.score.get(topic, 0.0)
    short = 1 / (1 + own.length / SHORT_CHARS)
    return {
        "own": math.log1p(score),
        "share": own.share.get(topic, 0.0),
        "density": math.log1p(100 * score / max(own.length, 1)),
        "opening": math.log1p(own.opening.get(topic, 0.0)),
        "figures": math.log1p(own.figures.get(topic, 0.0)),
        "counted": math.log1p(own.counted.get(topic, 0.0)),
        "heading_if_short": heading.get(topic, 0.0) * short,
        "heading_if_named": heading.get(topic, 0.0) * (score > 0),
        "title_if_short": title.get(topic, 0.0) * short,
        "neighbours_if_short": neighbours.get(topic, 0.0) * short,
        "context_if_silent": silent * short * max(heading.get(topic, 0.0), title.get(topic, 0.0),
                                                  neighbours.get(topic, 0.0)),
    }


@dataclass(frozen=True)
class TopicModel:
    """A logistic model: the measures it weighs with their coefficients, and the probability a
    topic needs."""
    coefficients: dict[str, float]
    intercept: float
    threshold: float = 0.5

    @classmethod
    def load(cls, path: Path) -> TopicModel:
        """The model a `make topic-model` run wrote; one fitted for other measures is an error."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        coefficients = data["coefficients"]
        if set(coefficients) != set(MEASURES):
            raise ValueError(f"{path} weighs other measures ({', '.join(sorted(coefficients))}) than this "
                             f"rcsearch takes ({', '.join(MEASURES)}): refit it with `make topic-model`")
        return cls(coefficients, data["intercept"], data["threshold"])

    def probability(self, features: dict[str, float]) -> float:
        """How likely a reader gives the topic, from its measures."""
        z = self.intercept + sum(c * features[name] for name, c in self.coefficients.items())
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Candidate:
    """One topic a passage has some evidence for, with its measures."""
    topic: str
    features: dict[str, float]


@dataclass(frozen=True)
class _Sources:
    """The hits a passage's topics are judged from, by place."""
    text: tuple[Hit, ...]
    heading: tuple[Hit, ...]
    title: tuple[Hit, ...]
    neighbours: tuple[Hit, ...]

    def evidence(self, topic: str) -> tuple[Evidence, ...]:
        """The words that counted for a topic, strongest first within each place, each word once per place."""
        found: dict[tuple[str, str], None] = {}
        for where, hits in ((TEXT, self.text), (HEADING, self.heading), (TITLE, self.title),
                            (NEIGHBOURS, self.neighbours)):
            for h in sorted((h for h in hits if h.topic == topic), key=lambda h: -h.weight):
                found.setdefault((h.word, where))
        return tuple(Evidence(word, where) for word, where in found)


class TopicClassifier:
    """Assigns topics to the passages of a report, explaining each."""

    def __init__(self, rules: TopicRules, model: TopicModel):
        self.rules = rules
        self.model = model

    @classmethod
    def load(cls, topics_file: Path = TOPICS_FILE, model_file: Path = MODEL_FILE) -> TopicClassifier:
        """The classifier of a taxonomy and a fitted model."""
        return cls(TopicRules.load(topics_file), TopicModel.load(model_file))

    def document(self, titles: Sequence[str], passages: Sequence[PassageInput]) -> list[PassageTopics]:
        """Topics of each passage of a report. titles[0] is the report's title lines, titles[i]
        the heading lines of sub-article i."""
        return [self._decide(*judged) for judged in self._judge(titles, passages)]

    def passage(self, text: str, heading: str = "", title: str = "", neighbours: Sequence[str] = ()) -> PassageTopics:
        """Topics of one passage given its section heading, the report's title and the texts
        of the passages beside it, each topic with the words that gave it."""
        return self._decide(*self._candidates(_Reading.of(self.rules, text), self._context(heading),
                                              self._context(title), [_Reading.of(self.rules, n) for n in neighbours],
                                              "paragraph"))

    def candidates(self, titles: Sequence[str], passages: Sequence[PassageInput]) -> list[list[Candidate]]:
        """Per passage, every topic with some evidence, with its measures (what the model is fitted on)."""
        return [found for found, _ in self._judge(titles, passages)]

    def _judge(self, titles: Sequence[str], passages: Sequence[PassageInput]) -> list[tuple[list[Candidate], _Sources]]:
        readings = [_Reading.of(self.rules, p.text) for p in passages]
        titles = [self._context(t) for t in titles] or [({}, ())]
        headings = {p.heading: self._context(p.heading) for p in passages if p.role == "paragraph"}
        return [self._candidates(readings[i], headings[p.heading] if p.role == "paragraph" else ({}, ()),
                                 titles[min(p.article, len(titles) - 1)],
                                 [readings[j] for j in _neighbours(passages, i)], p.role)
                for i, p in enumerate(passages)]

    def _context(self, text: str) -> tuple[dict[str, float], tuple[Hit, ...]]:
        hits = tuple(self.rules.hits(text))
        return _strengths(_score(hits)), hits

    def _candidates(self, own: _Reading, heading: tuple, title: tuple,
                    neighbours: list[_Reading], role: str) -> tuple[list[Candidate], _Sources]:
        # Only a paragraph reads its context: a heading or the title lines are about what they
        # name, and a note in brackets (a credit line) about nothing. A paragraph that names no
        # topic (a caption, a quote, a step of a story) is about its context's subject.
        if role != "paragraph" or own.note:
            heading, title, neighbours = ({}, ()), ({}, ()), []
        said = [_strengths(n.score) for n in neighbours]
        near = {t: sum(n.get(t, 0.0) for n in said) / len(said) for n in said for t in n}
        sources = _Sources(own.hits, heading[1], title[1], tuple(h for n in neighbours for h in n.hits))
        silent = not own.score
        return [Candidate(t, measures(t, own, heading[0], title[0], near, silent))
                for t in self.rules.names if t in own.score or t in heading[0] or t in title[0] or t in near], sources

    def _decide(self, candidates: list[Candidate], sources: _Sources) -> PassageTopics:
        return PassageTopics({c.topic: sources.evidence(c.topic) for c in candidates
                              if self.model.probability(c.features) >= self.model.threshold})


def _neighbours(passages: Sequence[PassageInput], i: int) -> list[int]:
    """The paragraphs beside passage i under the same heading of the same sub-article; for a
    heading, the first paragraph under it; the report's lead lines have none."""
    p = passages[i]

    def beside(j: int) -> bool:
        return (0 <= j < len(passages) and passages[j].role == "paragraph"
                and passages[j].article == p.article and passages[j].heading == p.heading)

    if p.role == "paragraph":
        return [j for j in (i - 1, i + 1) if beside(j)]
    return [i + 1] if p.role == "heading" and beside(i + 1) else []
