"""Figures: the quantities a passage states, as value, unit, what they count and how exactly.

注册志愿者3671人 → 3671 人 (注册志愿者); 新增救护员4.39万人 → 43900 人; 为3220名群众采集血样 →
3220 名 (群众); 近3万人 → 30000 人, approx 近; 三四百人 → 300–400 人; 两千余名 → 2000 名, approx 余.

A figure is a number (Arabic, or Chinese read with cn2an) with a counted unit from
data/figures.toml. Numbers that are not quantities are left out by the shape of the text
around them: years, dates, times, phone numbers and codes have no counted unit or are
chained to other digits (2023年, 3月25日, 14:30, 0311-8…, 〔2023〕5号, 5·12); ordinals follow 第
(第238例) or use 二 before a classifier (二期工程); names and slogans are quoted (“四个意识”,
《…》) or listed as set phrases; a bare 一 is an article (献出一份爱心), a bare 百/千/万 an
idiom (千家万户, 博爱送万家) unless a qualifier makes it a figure (万余人, 上千名).

The subject is read from jieba's part-of-speech tags within the clause: the noun phrase
after a classifier (3220名|群众), else the words before the number back to an adverb,
a preposition, a time, a place or an organisation (全市共|培训学员|3000人).

Text is normalized (analysis.normalize maps one character to one), so offsets point into
the passage as written, traditional or full-width.
"""
from __future__ import annotations

import bisect
import functools
import json
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from search import analysis

if TYPE_CHECKING:
    from search.jieba_internals import SharedTagsPOSTokenizer

FIGURES_FILE = analysis.DATA_DIR / "figures.toml"

CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖"
CN_MAGNITUDES = "十百千万亿拾佰仟"
MULTIPLIERS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
ARABIC = r"\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
NUMBER = rf"{ARABIC}|数[十百千万]+|[{CN_DIGITS}{CN_MAGNITUDES}几]+"
# What a NUMBER (or 百分之) starts with: looked ahead for, it lets re pass other characters at once.
NUMBER_START = rf"(?=[\d数{CN_DIGITS}{CN_MAGNITUDES}几])"
MAGNITUDE = r"[十百千]?[万亿]|[百千]"
RANGE_MARKS = "至|到|-|~|—|–"
# Two neighbouring digits read as a range (三四百人, 十七八岁, 两三千): 一两 and 两三 are said too.
NEIGHBOURS = {"一两", "一二", "两三", "二三", "三四", "四五", "五六", "六七", "七八", "八九"}
ADJACENT = re.compile(rf"^(?P<head>|.*[{CN_MAGNITUDES}])(?P<pair>[一二两三四五六七八九]{{2}})(?P<tail>[{CN_MAGNITUDES}]*)$")
CLAUSE_BREAK = re.compile(r"[,.;:!?、()\[\]“”‘’\"'《》【】「」『』\n\t。…—|/]")
HARD_BREAK = re.compile(r"[,.;:!?()\[\]“”‘’\"'《》【】「」『』\n\t。…—|/]")  # a clause break less 、
# Quoted names (“四个意识”, “7·20”) are short and hold no clause; book titles are always names.
QUOTES = tuple(re.compile(rf"{a}([^{a}{b}]*){b}") for a, b in ("“”", "‘’", "「」", "『』", '""', "《》"))
QUOTE_AT = re.compile(r"[“‘「『\"]([^”’」』\"]*)[”’」』\"]")
NAME_CHARS = 12
CHAINED = re.compile(r"[\d.·・:/#_\-a-zA-Z]")
# 第238例, 第3、4名 (the ordinal runs through a list), 前3名 (a rank).
ORDINAL_BEFORE = re.compile(rf"第(?:(?:{ARABIC}|[{CN_DIGITS}{CN_MAGNITUDES}]+)[、,和及至到\-~])*$")
CHAIN_AFTER = re.compile(r"[.·・:/]\d|[a-zA-Z]")
SESSION_NAME = re.compile(r"[一二三四五六七八九十中]*(?:全会|会议|大会|理事会|常委会|执委会|监事会)")
RANK_UNITS = frozenset("名位")
PEOPLE_COUNTED = RANK_UNITS  # 千名环卫工人 counts people; 千家万户, 万人学 are idioms
# A classifier that counts sessions, glued to a meeting's name, numbers the session (十一届|二次|理事会).
SESSION_UNITS = frozenset("届次期")
COHORT_UNITS = frozenset("届级期批版")
ORGANISATION = re.compile(r"红十字会|红会|基金会|委员会|协会|总会|分会|理事会|监事会|执委会|工会|学会|联合会"
                          r"|^[全各本该我此][市省县区国州镇乡村会]$")
ADMINISTRATIVE = re.compile(r"..[省市县区州旗盟镇乡]$")
SKIPPED_BEFORE = frozenset(("d", "t"))  # adverbs and times between a subject and its number
NOMINAL_FLAGS = frozenset(("vn", "an", "b", "j", "l", "i", "eng", "zg", "k"))
JOINERS = ("、", "和", "及", "与", "以及")
MAX_LIST_CHARS = 24
RELATIVE_CHARS = 10  # how far after a classifier a relative clause's 的 may stand
MAX_SUBJECT_WORDS = 6
MAX_SUBJECT_CHARS = 16
MAX_AFTER_WORDS = 6


@dataclass(frozen=True)
class Figure:
    """One quantity a passage states: `text` is passage[start:end], as written."""

    value: float
    value_max: float | None  # the upper end of a range (3至5人, 三四百人), else None
    unit: str                # the counted unit without multiplier: 人, 元, 毫升, %
    text: str
    subject: str             # what it counts, as the sentence names it ("" when it does not)
    approx: str | None       # the qualifiers that make it inexact, as written (近, 余, 近…余)
    start: int
    end: int


@dataclass(frozen=True)
class Vocabulary:
    """Units, qualifiers, linking words and set phrases (data/figures.toml)."""

    classifiers: frozenset[str]
    people: frozenset[str]
    measures: frozenset[str]
    aliases: dict[str, str]
    not_units: frozenset[str]
    approx_before: tuple[str, ...]
    approx_inside: frozenset[str]
    approx_after: tuple[str, ...]
    linkers: frozenset[str]
    rank_verbs: tuple[str, ...]
    set_phrases: tuple[str, ...]

    @classmethod
    def load(cls, path: Path = FIGURES_FILE) -> Vocabulary:
        """Read the vocabulary file."""
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        longest_first = lambda words: tuple(sorted(words, key=len, reverse=True))
        return cls(frozenset(data["classifiers"]), frozenset(data["people"]), frozenset(data["measures"]), dict(data["aliases"]),
                   frozenset(data["not_units"]), longest_first(data["approx_before"]),
                   frozenset(data["approx_inside"]), longest_first(data["approx_after"]),
                   frozenset(data["linkers"]), longest_first(data["rank_verbs"]),
                   longest_first(data["set_phrases"]))

    @functools.cached_property
    def units(self) -> frozenset[str]:
        """Every unit a figure may count in (what a unit filter may ask for)."""
        return (self.classifiers | self.measures | set(self.aliases.values()) | {"%", "‰"}) - self.not_units

    @property
    def written_units(self) -> tuple[str, ...]:
        """Every string a unit may be written as (and those that only look like one), longest first."""
        return tuple(sorted(self.classifiers | self.measures | set(self.aliases) | self.not_units,
                            key=len, reverse=True))


class FigureReader:
    """Finds the figures of passages with one vocabulary and one jieba dictionary."""

    def __init__(self, vocabulary: Vocabulary, user_dict: Path = analysis.USER_DICT):
        self.vocabulary = vocabulary
        self.user_dict = user_dict
        units = "|".join(map(re.escape, vocabulary.written_units))
        inside = "|".join(map(re.escape, vocabulary.approx_inside))
        self._quantity = re.compile(
            rf"{NUMBER_START}(?P<pct>[百千]分之)?(?P<n1>{NUMBER})(?P<mag1>{MAGNITUDE})?"
            rf"(?:(?P<u1>{units})?(?P<sep>{RANGE_MARKS})(?P<n2>{NUMBER}))?"
            rf"(?P<mid>{inside})?(?P<mag>{MAGNITUDE})?(?P<mid2>{inside})?(?P<unit>{units})?")
        self._set_phrases = _set_phrases(vocabulary.set_phrases)
        # The qualifiers that may stand before a number, by their last character (longest first).
        self._approx_before = _by_last_character(vocabulary.approx_before)

    def figures(self, text: str) -> list[Figure]:
        """The figures stated in `text`, in the order they are written."""
        norm = analysis.normalize(text)
        names = self._name_spans(norm)
        found: list[Figure] = []
        for match in self._quantity.finditer(norm):
            if not (match["unit"] or match["pct"]):
                continue    # a number that counts nothing: most of them (统一, 一是, 2023年)
            figure = self._figure(text, norm, match, names, found[-1] if found else None)
            if figure is not None:
                found.append(figure)
        return found

    def _name_spans(self, norm: str) -> list[tuple[int, int]]:
        """Spans of quoted names, book titles and set phrases: no figure starts inside one."""
        spans = []
        for quotes in QUOTES:   # one kind at a time: a name may be quoted inside a quotation
            for match in quotes.finditer(norm):
                inner = match.group(1)
                if match.group(0).startswith("《") or _is_name(inner):
                    spans.append(match.span())
        if self._set_phrases:
            spans += [m.span() for m in self._set_phrases.finditer(norm)]
        return spans

    def _figure(self, text: str, norm: str, match: re.Match, names: list[tuple[int, int]],
                previous: Figure | None) -> Figure | None:
        v = self.vocabulary
        written_unit = match["unit"]
        if match["pct"]:
            unit, end = ("%" if match["pct"] == "百分之" else "‰"), match.end("n1")
            if match["n2"] or match["mag1"]:
                return None
        elif not written_unit or written_unit in v.not_units:
            return None
        else:
            unit, end = v.aliases.get(written_unit, written_unit), match.end()
        amount = self._amount(match, unit)
        if amount is None:
            return None
        low, high, marker = amount
        start = match.start()
        approx = []
        before = next((w for w in self._approx_before.get(norm[start - 1:start], ()) if norm.endswith(w, 0, start)),
                      None)
        if before and _stands_alone(norm, start - len(before), start, self.user_dict) \
                and (before != "上" or _is_bare_magnitude(match["n1"])):
            start -= len(before)
            approx.append(before)
        if marker:
            approx.append(marker)
        approx += [match[g] for g in ("mid", "mid2") if match[g] and match.end(g) <= end]
        after = next((w for w in v.approx_after if norm.startswith(w, end)), None)
        if after and not (after == "多" and approx):
            approx.append(after)
            end += len(after)
        if not self._is_quantity(norm, match, start, end, unit, approx, names, high):
            return None
        return Figure(float(low), None if high is None else float(high), unit, text[start:end],
                      self._subject(text, norm, start, end, unit, previous), "…".join(approx) or None, start, end)

    def _amount(self, match: re.Match, unit: str) -> tuple[Decimal, Decimal | None, str | None] | None:
        """(value, upper end or None, the 几/数 that made it vague or None) of the number written."""
        first = _number(match["n1"])
        if first is None:
            return None
        low, high, marker = first
        if match["n2"] is None:
            scale = _multiplier(match["mag1"]) * _multiplier(match["mag"])
            return low * scale, None if high is None else high * scale, marker
        second = _number(match["n2"])
        if second is None or high is not None or second[1] is not None:
            return None
        if match["u1"] and self.vocabulary.aliases.get(match["u1"], match["u1"]) != unit:
            return None
        scale = _multiplier(match["mag"])
        low, high = low * (_multiplier(match["mag1"]) if match["mag1"] else scale), second[0] * scale
        return (low, high, None) if high > low else None

    def _is_quantity(self, norm: str, match: re.Match, start: int, end: int, unit: str, approx: list[str],
                     names: list[tuple[int, int]], high: Decimal | None) -> bool:
        """False for the numbers that only look like quantities: see the module docstring."""
        n1, first = match["n1"], match.start("n1")
        if any(a <= first < b for a, b in names) or ORDINAL_BEFORE.search(norm, 0, start):
            return False
        if unit in RANK_UNITS and (norm.endswith("前", 0, start) or any(
                norm.endswith(verb, 0, start) and _stands_alone(norm, start - len(verb), start, self.user_dict)
                for verb in self.vocabulary.rank_verbs)):
            return False
        following = norm[end:end + 1]
        if not n1[0].isdigit() and following and (following in CN_DIGITS or following.isdigit()):
            return False    # 十一届二次, 一对一, 四个100: a numbered name, not a count
        if unit in SESSION_UNITS and SESSION_NAME.match(norm, end):
            return False    # 三次全会, 十九届六中全会
        if n1[0].isdigit():
            if start == first and start and CHAINED.match(norm[start - 1]):
                return False
            chain_end = match.end("n2") if match["n2"] else match.end("n1")
            if CHAIN_AFTER.match(norm, chain_end):
                return False
            return not (re.match(r"0\d", n1) or (unit in COHORT_UNITS and re.fullmatch(r"(19|20)\d\d", n1)))
        if high is None and not approx and not match["pct"] and (n1 in ("一", "壹", "二") or (
                _is_bare_magnitude(n1) and not (unit in PEOPLE_COUNTED and _starts_noun(norm, end)))):
            return False    # 献出一份爱心, 二期工程, 千家万户; but 千名环卫工人
        return _starts_word(norm, match.start(), self.user_dict)

    # What a figure counts ------------------------------------------------------------

    def _subject(self, text: str, norm: str, start: int, end: int, unit: str, previous: Figure | None) -> str:
        """What the figure counts, as written: the noun phrase after a classifier (3220名|群众),
        else the words before the number (培训学员|3000人), else the subject of the figure it is
        listed with or compared to (救助群众300户、1200人; 由3名增至5名), else the verb phrase after
        it (3000人|参加培训)."""
        clause_start = _clause_start(norm, start)
        next_break = CLAUSE_BREAK.search(norm, end)
        clause_end = next_break.start() if next_break else len(norm)
        linked = norm.startswith("的", end)
        right = end + 1 if linked else end
        if linked:  # 559人的高素质、专业化的|志愿服务队伍: the head noun follows the last 的
            right, clause_end = _after_last_de(norm, right)
        after = self._quoted_name(norm, right) or self._phrase_after(norm, right, clause_end)
        if after is None and unit in self.vocabulary.classifiers:
            after = self._relative_head(norm, end, clause_end)
        if after and (unit in self.vocabulary.classifiers or linked):
            return _written(text, after)    # the words before need no tagging
        left_from = max(clause_start, previous.end if previous else 0)
        before = self._enumeration_before(norm, left_from, start) or self._phrase_before(norm, left_from, start)
        if after and (not before or (before.ends_with_verb and after.starts_with_noun)):
            return _written(text, after)
        if before:
            return _written(text, before)
        if previous and previous.subject and self._only_links(norm[previous.end:start]):
            return previous.subject
        if unit in self.vocabulary.people:   # 3000人|参加培训: the people are those who did it
            return _written(text, self._verb_phrase_after(norm, end, clause_end))
        return ""

    def _words(self, norm: str, start: int, end: int) -> list[_Word]:
        """jieba's tagged words of norm[start:end], with their offsets; white space dropped."""
        words, offset = [], start
        for word, flag in _tagged(norm[start:end], self.user_dict):
            if not word.isspace():
                words.append(_Word(word, flag, offset))
            offset += len(word)
        return words

    def _phrase_before(self, norm: str, start: int, end: int) -> _Phrase | None:
        """The words right before a number that name what it counts, back to an adverb, a
        preposition, a time, a number, a place or an organisation (全市共|培训学员|3000人)."""
        words = self._words(norm, start, end)
        while words and (words[-1].text in self.vocabulary.linkers or words[-1].flag in SKIPPED_BEFORE
                         or words[-1].text in ("的", "中", "年", "了") or words[-1].text.isdigit()):
            words.pop()     # 知晓率|达到, 基层组织|现已达到, 销售额|中的, 杂志|2020年|超过, 培训|了
        taken: list[_Word] = []
        for word in reversed(words):
            if word.text in self.vocabulary.linkers or not _names_or_acts(word):
                break
            if len(taken) == MAX_SUBJECT_WORDS or sum(len(w.text) for w in taken) + len(word.text) > MAX_SUBJECT_CHARS:
                break
            taken.insert(0, word)
        if not taken:
            return None
        first = words.index(taken[0])
        if len(taken[0].text) == 1 and first and analysis.has_word_char(words[first - 1].text) \
                and words[first - 1].flag != "m":
            taken.insert(0, words[first - 1])   # a word jieba cut apart: 红十字会|员, 即时|率
        return _Phrase(taken[0].start, taken[-1].end, not _is_nominal(taken[-1]))

    def _enumeration_before(self, norm: str, start: int, end: int) -> _Phrase | None:
        """A list closed by 等 before the number (走访社区、企业、商家等|4.5万个): its items."""
        closer = next((c for c in ("等等", "等") if norm.endswith(c, start, end)), None)
        if closer is None:
            return None
        hard_start = max((m.end() for m in HARD_BREAK.finditer(norm, 0, end)), default=0)
        item_end, first = end - len(closer), None
        for item in reversed(list(re.finditer(r"[^、]+", norm[hard_start:item_end]))):
            phrase = self._phrase_before(norm, hard_start + item.start(), hard_start + item.end())
            if phrase is None:
                break
            first = phrase.start
            if phrase.start != hard_start + item.start() or end - first > MAX_LIST_CHARS:
                break
        return None if first is None else _Phrase(first, end, False)

    def _phrase_after(self, norm: str, start: int, end: int) -> _Phrase | None:
        """The noun phrase right after a unit (3220名|群众|采集血样), up to and with an organisation."""
        taken: list[_Word] = []
        words = self._words(norm, start, end)
        for i, word in enumerate(words[:MAX_AFTER_WORDS]):
            joins = word.text in JOINERS or word.flag in ("a", "ad", "s")
            if word.text in self.vocabulary.linkers or not (_is_nominal(word) or (taken or word.flag != "c") and joins):
                break
            if taken and word.flag == "vn" and i + 1 < len(words) and words[i + 1].flag == "v":
                break   # 环卫工人|免费体检: a verbal noun that opens the predicate
            taken.append(word)
            if ORGANISATION.search(word.text):
                break
        following = words[len(taken)] if taken and len(taken) < len(words) else None
        if taken and ORGANISATION.search(taken[-1].text) and following and len(following.text) == 1 \
                and _is_nominal(following):
            taken.append(following)     # a word jieba cut apart: 红十字会|员
        while taken and not _is_nominal(taken[-1]):
            taken.pop()
        return _Phrase(taken[0].start, taken[-1].end, False, taken[0].flag.startswith("n")) if taken else None

    def _quoted_name(self, norm: str, start: int) -> _Phrase | None:
        """The name quoted right after a figure (10名“最美志愿者”), with the noun it names
        (800平方米的“博爱家园”活动中心)."""
        match = QUOTE_AT.match(norm, start)
        if not (match and _is_name(match.group(1))):
            return None
        clause = CLAUSE_BREAK.search(norm, match.end())
        head = self._phrase_after(norm, match.end(), clause.start() if clause else len(norm))
        return _Phrase(start, head.end, False) if head else _Phrase(start + 1, match.end() - 1, False)

    def _relative_head(self, norm: str, start: int, clause_end: int) -> _Phrase | None:
        """The noun a relative clause after a classifier leads to (80余个|参与评比的|市级部门)."""
        de = norm.find("的", start, min(clause_end, start + RELATIVE_CHARS))
        words = self._words(norm, start, de) if de > start else []
        if not words or not words[0].flag.startswith("v") or words[0].text in self.vocabulary.linkers:
            return None
        head = norm.find("的", de + 1, clause_end)  # 参与评比的|…的|市级部门: the last 的 of the clause
        while head >= 0:
            de, head = head, norm.find("的", head + 1, clause_end)
        return self._phrase_after(norm, de + 1, clause_end)

    def _verb_phrase_after(self, norm: str, start: int, end: int) -> _Phrase | None:
        """A verb and what follows it after the figure (3000人|参加培训, 631人|得到挽救)."""
        words = self._words(norm, start, end)
        if not words or not words[0].flag.startswith("v") or words[0].text in self.vocabulary.linkers:
            return None
        taken = [words[0]]
        for word in words[1:3]:
            if not _is_nominal(word):
                break
            taken.append(word)
        if len(taken) == 1 and len(words) > 1 and words[1].flag.startswith("v"):
            taken.append(words[1])  # 631人|得到挽救
        return _Phrase(taken[0].start, taken[-1].end, True)

    def _only_links(self, gap: str) -> bool:
        """Whether what stands between two figures only lists or compares them (300户、1200人;
        由3名增至5名; 22批次,共计8.2万余件)."""
        if gap.strip() in JOINERS:
            return True
        words = [w for w in self._words(gap, 0, len(gap)) if w.text != ","]
        return bool(words) and all(w.text in self.vocabulary.linkers or w.text in JOINERS for w in words)


@dataclass(frozen=True)
class _Word:
    """A tagged word of normalized text and where it starts."""

    text: str
    flag: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class _Phrase:
    """A span of normalized text naming a figure's subject."""

    start: int
    end: int
    ends_with_verb: bool  # 发放|50万元救助金: the noun after the figure is what it counts
    starts_with_noun: bool = False


def _after_last_de(norm: str, start: int, limit: int | None = None) -> tuple[int, int]:
    """Where the noun after the last 的 before the next hard break (and `limit`) starts, and
    where its clause ends; `start` itself when there is no 的."""
    hard = HARD_BREAK.search(norm, start)
    stop = min(hard.start() if hard else len(norm), limit or len(norm))
    head = norm.rfind("的", start, stop) + 1 or start
    clause = CLAUSE_BREAK.search(norm, head)
    return head, clause.start() if clause else len(norm)


def _clause_start(norm: str, position: int) -> int:
    """Where the clause holding `position` starts: right after the last clause break before it."""
    ends = _clause_ends(norm)
    return ends[bisect.bisect_right(ends, position) - 1]


@functools.lru_cache(maxsize=8)
def _clause_ends(norm: str) -> tuple[int, ...]:
    """0 and the end of every clause break of normalized text, found once for all its figures."""
    return (0, *(m.end() for m in CLAUSE_BREAK.finditer(norm)))


def _set_phrases(phrases: tuple[str, ...]) -> re.Pattern | None:
    """The set phrases' pattern (N: any Chinese numeral), led by a look-ahead for their first
    characters so that re passes other characters without trying each phrase."""
    if not phrases:
        return None
    numeral = f"{CN_DIGITS}{CN_MAGNITUDES}"
    first = "".join(sorted({numeral if p.startswith("N") else re.escape(p[0]) for p in phrases}))
    alternatives = [re.escape(p).replace("N", f"[{numeral}]+") for p in phrases]
    return re.compile(f"(?=[{first}])(?:{'|'.join(alternatives)})")


def _by_last_character(words: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The words ending in each character, in their order."""
    grouped: dict[str, list[str]] = {}
    for word in words:
        grouped.setdefault(word[-1], []).append(word)
    return {char: tuple(group) for char, group in grouped.items()}


def _written(text: str, phrase: _Phrase | None) -> str:
    """A phrase as the passage writes it, white space removed."""
    return "" if phrase is None else "".join(text[phrase.start:phrase.end].split())


def _is_name(inner: str) -> bool:
    """Whether quoted text is a name (short, no clause in it) rather than a quotation."""
    return 0 < len(inner) <= NAME_CHARS and not CLAUSE_BREAK.search(inner)


def _multiplier(magnitude: str | None) -> Decimal:
    scale = Decimal(1)
    for char in magnitude or "":
        scale *= MULTIPLIERS[char]
    return scale


def _is_bare_magnitude(number: str) -> bool:
    """百, 千, 万, 百万 …: a magnitude without a digit (十 is a number of its own)."""
    return bool(number) and number[0] != "十" and all(c in CN_MAGNITUDES for c in number)


def _number(written: str) -> tuple[Decimal, Decimal | None, str | None] | None:
    """(value, upper end or None, vagueness marker or None) of one written number, None when it is not one."""
    if written[0].isdigit():
        return Decimal(written.replace(",", "")), None, None
    if written.startswith("数"):
        low, high = _chinese("二" + written[1:]), _chinese("九" + written[1:])
        return None if low is None or high is None else (low, high, "数")
    if "几" in written:
        head, _, tail = written.partition("几")
        if "几" in tail or not (head or tail):
            return None
        low, high = _chinese(head + ("一" if head.endswith("十") else "二") + tail), _chinese(head + "九" + tail)
        return None if low is None or high is None else (low, high, "几")
    adjacent = ADJACENT.match(written)
    if adjacent and adjacent["pair"] in NEIGHBOURS:
        head, pair, tail = adjacent["head"], adjacent["pair"], adjacent["tail"]
        low, high = _chinese(head + pair[0] + tail), _chinese(head + pair[1] + tail)
        return None if low is None or high is None else (low, high, None)
    value = _chinese("一" + written if _is_bare_magnitude(written) else written)
    return None if value is None else (value, None, None)


@functools.lru_cache(maxsize=4096)
def _chinese(written: str) -> Decimal | None:
    """A Chinese numeral's value (cn2an, normal mode: 两, 廿 and financial digits too)."""
    import cn2an  # 0.2 s to import: paid by the indexer only, never by a server answering searches
    try:
        return Decimal(str(cn2an.cn2an(written, "normal")))
    except (ValueError, KeyError, IndexError, InvalidOperation):
        return None


def _names_or_acts(word: _Word) -> bool:
    """Whether a word before a number can belong to what it counts (nouns, verbs, adjectives);
    places, organisations, times, adverbs, prepositions and numbers end it."""
    if ORGANISATION.search(word.text) or (word.flag == "ns" and ADMINISTRATIVE.search(word.text)):
        return False
    return _is_nominal(word) or word.flag.startswith("v") or word.flag in ("a", "ad")


def _is_nominal(word: _Word) -> bool:
    """Nouns and noun-like words. jieba tags many common nouns as names (青少年 nr, 普及 ns):
    names count as nouns, and places are told by their administrative suffix instead."""
    return (word.flag.startswith("n") and word.flag != "nt") or word.flag in NOMINAL_FLAGS \
        or (word.flag == "x" and analysis.has_word_char(word.text))


@functools.lru_cache(maxsize=8192)
def _tagged(text: str, user_dict: Path) -> tuple[tuple[str, str], ...]:
    """jieba's words and part-of-speech tags of a clause piece."""
    return tuple((w.word, w.flag) for w in _pos_tokenizer(user_dict).cut(text, HMM=True))


@functools.lru_cache(maxsize=2)
def _pos_tokenizer(user_dict: Path) -> SharedTagsPOSTokenizer:
    """A part-of-speech tagger over the index's own segmenter, with the domain words' tags.
    Imported here: jieba.posseg's model and tags take 0.25 s and 54 MB to load, which a server
    answering searches (it imports this module for the figure table) does not need for that."""
    from search.jieba_internals import SharedTagsPOSTokenizer
    tagger = SharedTagsPOSTokenizer(analysis.segmenter(user_dict))
    if user_dict.exists():
        for line in user_dict.read_text(encoding="utf-8").splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) == 3:
                tagger.word_tag_tab[parts[0]] = parts[2]
    return tagger


def _starts_noun(norm: str, position: int) -> bool:
    """Whether a Chinese word character (not a numeral) follows."""
    return "\u4e00" <= norm[position:position + 1] <= "\u9fff" and norm[position] not in CN_DIGITS + CN_MAGNITUDES


def _stands_alone(norm: str, start: int, end: int, user_dict: Path) -> bool:
    """Whether norm[start:end] is not the tail of a longer word (附近 is no 近, 预约 no 约)."""
    freq = analysis.segmenter(user_dict).FREQ
    return not any(freq.get(norm[start - k:end]) for k in range(1, min(3, start) + 1))


def _starts_word(norm: str, position: int, user_dict: Path) -> bool:
    """Whether jieba starts a word at `position` (a Chinese numeral inside 红十字, 统一 is none)."""
    clause_start = _clause_start(norm, position)
    offset = clause_start
    for word in analysis.segmenter(user_dict).cut(norm[clause_start:position + 2], HMM=False):
        if offset >= position:
            return offset == position
        offset += len(word)
    return offset == position


@functools.lru_cache(maxsize=2)
def reader(path: Path = FIGURES_FILE, user_dict: Path = analysis.USER_DICT) -> FigureReader:
    """The reader of the packaged vocabulary (built once per process)."""
    return FigureReader(Vocabulary.load(path), user_dict)


def figures(text: str) -> list[Figure]:
    """The figures stated in `text` (a passage), read with the packaged vocabulary."""
    return reader().figures(text)


def to_json(found: list[Figure]) -> str:
    """Compact JSON of figures, as the index stores them with their passage."""
    rows = [[plain_number(f.value), plain_number(f.value_max), f.unit, f.text, f.subject, f.approx, f.start, f.end]
            for f in found]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def from_json(stored: str) -> list[Figure]:
    """The figures `to_json` stored ("" for none)."""
    return [Figure(float(v), None if m is None else float(m), u, t, s, a, start, end)
            for v, m, u, t, s, a, start, end in json.loads(stored or "[]")]


def to_rows(found: list[Figure]) -> bytes:
    """The numbers of figures as the index's `figure_rows` column holds them: [value, unit,
    1 when approximate] each (what the figure table filters, counts and sorts by)."""
    rows = [[plain_number(f.value), f.unit, int(f.approx is not None)] for f in found]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8") if rows else b""


def from_rows(packed: bytes) -> list[tuple[float, str, int]]:
    """The (value, unit, approximate) rows `to_rows` packed."""
    return [(float(v), u, a) for v, u, a in json.loads(packed)] if packed else []


def plain_number(value: float | None) -> float | int | None:
    """A value as JSON writes it best: a whole number without its ".0"."""
    return int(value) if value is not None and value.is_integer() and abs(value) < 2 ** 53 else value
