"""Enrichment of text units: the region of the organisation that wrote them, topics and year.

Regions come from the administrative-division table packaged with cpca
(``cpca/resources/adcodes.csv``, ~3,500 divisions with 12-digit adcodes), read
with the csv module so that neither cpca nor pandas is imported.  Topics: search/topics.py.
"""
from __future__ import annotations

import csv
import functools
import importlib.metadata
import re
from collections import defaultdict
from dataclasses import dataclass

import ahocorasick

from search.analysis import normalize

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})  # adcode prefixes of 北京, 天津, 上海, 重庆
PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# Longest first, so that 自治州 is stripped before 州-less forms and 地区 before 区.
SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "特区",
            "省", "市", "盟", "县", "区", "旗")
ETHNIC_GROUPS = ("维吾尔 哈萨克 柯尔克孜 乌孜别克 塔吉克 塔塔尔 俄罗斯 鄂温克 鄂伦春 达斡尔 蒙古 朝鲜 "
                 "土家 布依 哈尼 傈僳 东乡 仡佬 拉祜 纳西 仫佬 锡伯 景颇 撒拉 布朗 毛南 普米 阿昌 基诺 "
                 "德昂 保安 裕固 门巴 独龙 赫哲 高山 珞巴 壮 回 满 苗 彝 藏 侗 瑶 白 黎 傣 畲 佤 水 羌 "
                 "土 怒 京 汉 各").split()
# Multi-character ethnic names may stand without 族 (伊犁哈萨克自治州); single characters may not.
ETHNIC_TAIL = re.compile("(?:%s)族?$|(?:%s)族$" % (
    "|".join(e for e in ETHNIC_GROUPS if len(e) > 1), "|".join(e for e in ETHNIC_GROUPS if len(e) == 1)))
# Place names that are also everyday words (长治久安, 大同小异, 博爱家园, 公安局 …): they never count
# as a mention on their own, only inside a compound such as 山西省长治市.
COMMON_WORDS = frozenset("""
安康 长治 大同 中山 吉安 白银 日照 来宾 三明 大理 阿里 普洱 玉树 山南 黄山 白山 四平 开封 黑河 红河 怒江
中卫 海西 兴安 通化 朝阳 河源 北海 包头 资源 合作 比如 南部 和平 武功 平原 解放 公安 前进 港口 友好 共和
城中 东方 长安 江南 城区 河口 古城 太平 新兴 延长 新建 富裕 光泽 万年 东风 红旗 复兴 振兴 宏伟 清新 大方
大名 平定 安定 会同 洞口 工农 三元 天桥 前锋 长子 莲花 友谊 石门 运河 芙蓉 向阳 平安 清水 温泉 中方 南岸
新华 新城 城北 城东 城西 城南 城关 郊区 矿区 东区 西区 市中 高明 安宁 太湖 建平 和顺 永昌 同心 白云 金山
龙泉 九龙 海棠 木兰 元宝 小店 七星 马尾 凤凰 博爱 天涯 灯塔 永和 平房 高台 石棉 无为 钟楼 月湖 双桥 大观
二七 白玉 万安 建华 黄龙 宝塔 文峰 丰满 同仁 太白 盘龙 民权 台前 平和 名山 三门 永福 宁远 桃源 玄武 石龙
六合 回民 龙亭 江岸 西华 长寿 永安 新市 南山 青山 河东 河西 江北 铁西 铁东 桥西 桥东 新区 通州 普陀 宝山
安居 富民 新民 爱民 惠民 惠农 互助 吉利 乐业 双城 东山 临海 新会 方正 长乐 红星 江海 城厢 全州
""".split())

# Evidence weights: a plain mention counts 1; these add to it.
TITLE_BONUS = 5     # in the headline or byline
ORG_BONUS = 3       # names the organisation itself: 武汉市红十字会, 四川红十字, 浙江省红十字(东阳)
LEAD_BONUS = 4      # the first place named in the unit's opening sentence
MIN_EVIDENCE = 4    # below this a unit has no region of its own
DOMINANCE = 2 / 3   # share of the evidence the chosen division must hold among its siblings
ORG_AFTER = ("红十字", "红会")
# A place followed by these is a hospital advert (spam spliced into captures), a media outlet, or
# people from there (台湾同胞, 湖北籍): never the author of the work.
NOT_AUTHOR = re.compile(r".{0,4}?(癫痫|医院|哪家|治疗|男科|妇科|不孕|白癜风|牛皮癣|日报|晚报|晨报|早报|商报|时报|都市报|报社"
                        r"|电视台|广播|客户端|发布|融媒|新闻网|同胞|籍)")
# A place name that names a street (南京路, 北京东路, 长安街, 朝阳大街) is no mention of the place.
STREET = re.compile(r"[东西南北中]?(?:路|大街|街(?!头)|大道|巷|胡同)")
# A place right after these is a partner of the work (联合东西湖区红十字志愿者协会) or, unless it
# names a Red Cross organisation, where aid went (向定西、陇南等地发放, 驰援武汉): not its author.
PARTNER_BEFORE = re.compile(r"(?:联合|携手|协同|会同|联手)(?:了)?$")
RECIPIENT_BEFORE = re.compile(r"(?:向|援助|支援|帮扶|对口|驰援|赴|前往|深入|奔赴)(?:了|到)?$")
# A place between these is where a meeting was held (会议在兰州召开, 于天水市举办): evidence of the
# province, never of the organisation that held it.
VENUE_BEFORE = re.compile(r"[在于]$")
VENUE_AFTER = re.compile(r"[^,，。;；!！?？]{0,8}?(?:召开|举办|举行|开幕|闭幕|开班)")
# Texts whose place names a process keeps (more than a long report's passages, a few MB at most).
SCANNED_TEXTS = 2048
PLACE_LIST_SHARE = 0.6  # a line this much made of place names is a list, not prose
COMPOUND_GAP = re.compile(r"(?:红十字会?)?[((]?")  # between 杭州市|富阳区, 浙江省|红十字(|东阳
LEAD_SENTENCE = re.compile(r"[^。!?!?]*")
# The words of a report's path: runs of letters between separators, digits and punctuation.
PATH_WORD = re.compile(r"[^\W\d_]+")
# A text naming its own level without its place: 我县, 全市, 本省 (not 安全市场, 健全县级 …), or
# 省红十字会 and 县委县政府 standing alone (not 甘肃省红十字会, 各市红十字会). The look-ahead for the
# characters either starts with lets re pass the others without trying the look-behinds.
SELF_LEVEL = re.compile(r"(?=[我全本省市县区州旗盟])(?:(?<![安健完保齐周])[我全本]([省市县区州旗盟])(?!场)"
                        r"|(?:(?<![\u4e00-\u9fff])|(?<=[由在和与及向对经为将同]))([省市县区州旗盟])(?=红十字|委|政府))")


@dataclass(frozen=True)
class Division:
    """One gazetteer entry (province, prefecture-level city or county-level division)."""
    code: str
    name: str
    level: str
    province: str
    city: str | None
    county: str | None


@dataclass(frozen=True)
class Region:
    """Where the organisation behind a text unit sits; any level may be unknown."""
    province: str | None = None
    city: str | None = None
    county: str | None = None

    def codes(self) -> tuple[str, ...]:
        """6-digit adcodes of the province, city and county present (a municipality's twice-named level once)."""
        return Gazetteer.load().region_codes(self)


@dataclass
class _Mention:
    """A place name found in a text unit, with the context that weighs it."""
    start: int
    end: int
    name: str
    candidates: tuple[Division, ...]
    weight: int = 1
    org: bool = False
    bracketed: bool = False
    in_compound: bool = False          # follows its parent's name: 杭州市富阳区, 浙江省红十字(东阳)
    in_title: bool = False             # in the headline or byline
    standalone: bool = False           # a whole word of a report's path: the folder 东阳, `宁波 第二例…`
    venue: bool = False                # where a meeting was held: 会议在兰州召开
    absorbed: bool = False             # is that parent's name: the compound counts as its child
    division: Division | None = None


class Gazetteer:
    """All Chinese divisions with their hierarchy, full and short names."""

    def __init__(self, rows: dict[str, str]):
        self.divisions = {code: self._division(code, rows) for code, name in rows.items()
                          if name not in PLACEHOLDERS}
        self._paths = {code: self._path(d) for code, d in self.divisions.items()}
        self._codes = {self._region_key(code): code for code in self.divisions}
        for code in MUNICIPALITIES:      # Region(上海市) as well as Region(上海市, 上海市)
            self._codes[(rows[code + "0000"],)] = code + "0000"
        self._full, self._short = defaultdict(list), defaultdict(list)
        for d in self.divisions.values():
            self._full[d.name].append(d)
            if short := short_name(d.name):
                self._short[short].append(d)
                if d.name.endswith(("自治州", "自治县", "自治旗")):   # 恩施州, 凉山州, 长阳县: usual forms
                    self._full[short + d.name[-1]].append(d)
        self.full_names = frozenset(self._full)
        self._mentionable = {name: self._preferred(name) for name in {*self._full, *self._short}}
        self._names = ahocorasick.Automaton()
        for name in self._mentionable:
            self._names.add_word(name, name)
        self._names.make_automaton()
        # Every name has two characters or more (a suffix, or short_name's two): where two
        # neighbouring characters stand together in no name, no name goes on.
        self._pairs = frozenset(name[i:i + 2] for name in self._mentionable for i in range(len(name) - 1))
        self._openings = frozenset(name[:2] for name in self._mentionable)
        first, second = ("".join(sorted({opening[i] for opening in self._openings})) for i in (0, 1))
        self._may_open = re.compile(f"[{re.escape(first)}](?=[{re.escape(second)}])")

    @classmethod
    @functools.lru_cache(maxsize=1)
    def load(cls) -> Gazetteer:
        """The gazetteer built from cpca's packaged adcodes.csv (cached: built once per process)."""
        path = importlib.metadata.distribution("cpca").locate_file("cpca/resources/adcodes.csv")
        with open(path, encoding="utf-8", newline="") as f:
            return cls({row["adcode"][:6]: row["name"] for row in csv.DictReader(f)})

    @staticmethod
    def _division(code: str, rows: dict[str, str]) -> Division:
        province = rows[code[:2] + "0000"]
        if code.endswith("0000"):
            city = province if code[:2] in MUNICIPALITIES else None
            return Division(code, province, "province", province, city, None)
        if code.endswith("00"):
            return Division(code, rows[code], "city", province, rows[code], None)
        parent = rows.get(code[:4] + "00")
        if code[:2] in MUNICIPALITIES:
            city = province
        elif parent is None or parent in PLACEHOLDERS:
            city = rows[code]          # 仙桃市 and the like, directly under the province: their own city
        else:
            city = parent
        return Division(code, rows[code], "county", province, city, rows[code])

    @staticmethod
    def _path(d: Division) -> tuple[str, str | None, str | None]:
        """(province, city, county) codes; a county-level unit directly under its province acts as a city."""
        province = d.code[:2] + "0000"
        if d.level == "province":
            return province, province if d.city else None, None
        if d.level == "city":
            return province, d.code, None
        if d.code[:2] in MUNICIPALITIES:
            return province, province, d.code
        if d.city == d.name:
            return province, d.code, None
        return province, d.code[:4] + "00", d.code

    def _region_key(self, code: str) -> tuple[str, ...]:
        return tuple(self.divisions[c].name for c in self._paths[code] if c)

    def region(self, division: Division) -> Region:
        """The Region a division stands for (仙桃市 → 湖北省 › 仙桃市, 青浦区 → 上海市 › 上海市 › 青浦区)."""
        return Region(*self._region_key(division.code))

    def region_codes(self, region: Region) -> tuple[str, ...]:
        """Adcodes of a region's levels, outermost first; unknown names are left out."""
        names = (region.province, region.city, region.county)
        keys = [tuple(n for n in names[:i + 1] if n) for i in range(3) if names[i]]
        return tuple(dict.fromkeys(self._codes[k] for k in keys if k in self._codes))

    def _preferred(self, name: str) -> tuple[Division, ...]:
        """Divisions a mention of `name` may mean: full names beat short ones; a province beats
        its namesakes (吉林, 海南); a division beats those inside it (长沙 is 长沙市, not 长沙县)."""
        if name in self._full:
            return tuple(self._full[name])
        found = self._short[name]
        provinces = [d for d in found if d.level == "province"]
        if provinces:
            return tuple(provinces)
        outer = [d for d in found if all(self._contains(d, o) for o in found)]
        return tuple(outer) if len(outer) == 1 else tuple(found)

    def _contains(self, outer: Division, inner: Division) -> bool:
        return outer.code in self._paths[inner.code]

    def resolve(self, name: str, level: str) -> list[Division]:
        """Filter-value lookup: name may be short or full (石家庄 = 石家庄市, 浙江 = 浙江省, 上海 = 上海市).
        level "province": provinces and municipalities; level "city": prefecture-level cities,
        municipalities and county-level divisions (so the caller can match city OR county).
        Returns [] when unknown."""
        name = re.sub(r"\s+", "", name or "")
        wanted = {"province": ("province",), "city": ("city", "county")}.get(level, ())
        if not wanted:
            return []
        fits = lambda d: d.level in wanted or (level == "city" and d.city == d.name == d.province)
        full = [d for d in self._full.get(name, []) if fits(d)]
        short = [d for d in self._short.get(name, []) if fits(d)]
        return sorted(full or self.outermost(short), key=lambda d: d.code)

    def outermost(self, divisions: list[Division]) -> list[Division]:
        """The divisions not inside another of them (吉安市, not also 吉安县)."""
        return [d for d in divisions if not any(o is not d and self._contains(o, d) for o in divisions)]

    @functools.lru_cache(maxsize=2)
    def names(self, level: str) -> list[str]:
        """Every name, full or short, that a filter of this level ("province" or "city") accepts."""
        return sorted(name for name in {*self._full, *self._short} if self.resolve(name, level))

    def path(self, division: Division) -> tuple[str, str | None, str | None]:
        """(province, city, county) adcodes of a division, as used for aggregating evidence."""
        return self._paths[division.code]

    def scan(self, text: str) -> list[_Mention]:
        """Place names in text, leftmost-longest (长沙县 is not a mention of 长沙市)."""
        return [_Mention(start, end, name, self._mentionable[name]) for start, end, name in self._found(text)]

    @functools.lru_cache(maxsize=SCANNED_TEXTS)
    def _found(self, text: str) -> tuple[tuple[int, int, str], ...]:
        """(start, end, name) of each place name in text. Cached: indexing reads a passage for
        its report's region, for its sub-article's or section's, and for the places it mentions."""
        return tuple((start + end + 1 - len(name), start + end + 1, name)
                     for start, stop in self._stretches(text)
                     for end, name in self._names.iter_long(text[start:stop]))

    def _stretches(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each stretch of text a name may lie in, with the character after it.
        A stretch holds a name's first two characters and ends where two neighbouring characters
        stand together in no name: there the automaton is back at its root or one character
        into a name, with nothing pending, as it would be starting afresh; the character after
        is read with the stretch, since seeing that no name goes on may report one. Reading
        only the stretches finds what reading the whole text finds, several times more cheaply
        (most text is in none, and the automaton's root has a thousand branches to look through)."""
        stretches: list[tuple[int, int]] = []
        end = 0
        for match in self._may_open.finditer(text):
            start = match.start()
            if start < end or text[start:start + 2] not in self._openings:
                continue
            while start > end and text[start - 1:start + 1] in self._pairs:
                start -= 1
            end = match.start() + 2
            while end < len(text) and text[end - 1:end + 1] in self._pairs:
                end += 1
            stretches.append((start, end + 1))
        return stretches

    def is_risky(self, mention: _Mention) -> bool:
        """Whether a county-level name could be a common word: a short name (东阳, 永昌) or a
        two-character full name (和县 in 市和县红十字会)."""
        return all(d.level == "county" for d in mention.candidates) and (
            mention.name not in self._full or len(mention.name) <= 2)


def short_name(full: str) -> str | None:
    """A division's name without its administrative suffix (浙江省 → 浙江, 凉山彝族自治州 → 凉山);
    None when nothing of at least two characters is left."""
    suffix = next((s for s in SUFFIXES if full.endswith(s)), None)
    if suffix is None:
        return None
    stem = full[:-len(suffix)]
    while suffix.startswith("自治") and (tail := ETHNIC_TAIL.search(stem)) and tail.start() >= 2:
        stem = stem[:tail.start()]
    return stem if len(stem) >= 2 else None


def _mentions(text: str, gazetteer: Gazetteer, authors_only: bool = False) -> list[_Mention]:
    """Mentions in one piece of text with their context: organisation, brackets, compounds;
    hospital adverts and media outlets dropped, and with `authors_only` partners and places
    aid went to."""
    kept: list[_Mention] = []
    found = gazetteer.scan(text)
    starts = {m.start for m in found}
    for m in found:
        m.org = text.startswith(ORG_AFTER, m.end)
        street = STREET.match(text, m.end) and m.end not in starts   # not 台州市|路桥区
        if not m.org and (street or NOT_AUTHOR.match(text, m.end, m.end + 8)):
            continue
        before = text[max(0, m.start - 4):m.start]
        if authors_only and (PARTNER_BEFORE.search(before) or (not m.org and RECIPIENT_BEFORE.search(before))):
            continue
        m.bracketed = text[m.start - 1:m.start] in ("(", "(") and text[m.end:m.end + 1] in (")", ")")
        previous = kept[-1] if kept else None
        m.venue = not m.org and bool(VENUE_BEFORE.search(text, 0, m.start)) and bool(VENUE_AFTER.match(text, m.end))
        if previous and COMPOUND_GAP.fullmatch(text, previous.end, m.start):
            inside = tuple(d for d in m.candidates if any(
                p.code in gazetteer.path(d) and p.code != d.code for p in previous.candidates))
            if inside:
                m.candidates, m.in_compound, previous.absorbed = inside, True, True
                m.org = m.org or text.startswith(ORG_AFTER, previous.end)   # 浙江省红十字(东阳)…救援队
                m.venue = m.venue or (previous.venue and not m.org)          # 在甘肃省天水市举办
        kept.append(m)
    return kept


def _is_place_list(paragraph: str, mentions: list[_Mention]) -> bool:
    """Whether a line is mostly names of places (link lists, "热门城市" furniture): no evidence."""
    covered = sum(m.end - m.start + (4 if m.org else 0) for m in mentions)
    return len({m.name for m in mentions}) >= 3 and covered >= PLACE_LIST_SHARE * len(re.sub(r"\s", "", paragraph))


def _resolve(mentions: list[_Mention], gazetteer: Gazetteer, known: set[str]) -> None:
    """Settle each mention on one division: unambiguous safe names first, then ambiguous or
    risky ones only where their parent is evidenced by the former (or by `known` codes)."""
    def settle(m: _Mention, evidence: set[str] | None) -> Division | None:
        if m.in_compound and len(m.candidates) == 1:
            return m.candidates[0]
        # An everyday word is a place only as a whole folder or file-name word, and then only
        # where its parent is evidenced too (辽宁/朝阳/…).
        common = m.name in COMMON_WORDS
        if common and not m.standalone:
            return None
        # 东阳红十字…, (东阳), a folder named 东阳: clearly a place; not so 和县 in 市和县红十字会.
        named = m.standalone or ((m.org or m.bracketed) and m.name not in gazetteer.full_names)
        risky = gazetteer.is_risky(m) and not named
        if len(m.candidates) == 1 and not risky and not common:
            return m.candidates[0]
        if evidence is None:
            return None
        # A risky county needs itself or its city evidenced; an ambiguous name its city, else its province.
        for level in ((2, 1) if risky else (2, 1, 0)):
            fitting = gazetteer.outermost([d for d in m.candidates if gazetteer.path(d)[level] in evidence])
            if fitting:
                return fitting[0] if len(fitting) == 1 else None
        return None

    for m in mentions:
        m.division = settle(m, None)
    evidence = set(known) | {c for m in mentions if m.division for c in gazetteer.path(m.division) if c}
    for m in mentions:
        if m.division is None:
            m.division = settle(m, evidence)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _unit_mentions(title: str, paragraphs: list[str], gazetteer: Gazetteer, known: set[str],
                   filed: list[_Mention]) -> list[_Mention]:
    """All resolved mentions of a unit, weighted by where and how they occur; the places its
    path names (`filed`) are resolved with them, each helping to settle the other's names."""
    in_title = _mentions(title, gazetteer, authors_only=True)
    for m in in_title:
        m.weight += TITLE_BONUS
        m.in_title = True
    headings = set(_lines(title))
    body: list[_Mention] = []
    in_lead: list[_Mention] | None = None
    for paragraph in paragraphs:
        found = _mentions(paragraph, gazetteer, authors_only=True)
        if _is_place_list(paragraph, found):
            continue
        # The lead is the first paragraph of prose: not a short line of page furniture, nor the headings again.
        if in_lead is None and len(re.findall(r"[\u4e00-\u9fff]", paragraph)) >= 15 and \
                not set(_lines(paragraph)) <= headings:
            end = LEAD_SENTENCE.match(paragraph).end()
            in_lead = [m for m in found if m.start < end]
        body += found
    mentions = in_title + body
    _resolve(mentions + filed, gazetteer, known)
    for m in mentions:
        m.weight += ORG_BONUS if m.org else 0
    first = next((m for m in in_lead or () if m.division and not m.absorbed and not m.venue), None)
    if first:
        first.weight += LEAD_BONUS
    return [m for m in mentions if m.division and not m.absorbed]


def _path_mentions(path: str, gazetteer: Gazetteer) -> list[_Mention]:
    """Places named by the folders and file name of a report (宁波/2019/工作总结,
    2023年长兴县红十字会工作报告), weighed like a headline's. A name that is a whole word of the
    path (the folder 东阳, 宁波 in `宁波 第二例…`) is clearly meant as a place."""
    found = []
    for word in PATH_WORD.findall(normalize(path or "")):
        for m in _mentions(word, gazetteer, authors_only=True):
            m.standalone = (m.start, m.end) == (0, len(word))
            m.weight += TITLE_BONUS + (ORG_BONUS if m.org else 0)
            found.append(m)
    return found


def _self_level(text: str) -> str | None:
    """The administrative suffix (省, 市, 县, 区 …) by which a text names its own level, when one
    holds DOMINANCE of its 我县 / 全市 / 本省 / 省红十字会 / 县委县政府 references."""
    counts: dict[str, int] = defaultdict(int)
    for match in SELF_LEVEL.finditer(text):
        counts[match.group(1) or match.group(2)] += 1
    return _dominant(counts)


def _dominant(scores: dict[str, int]) -> str | None:
    """The key holding at least DOMINANCE of the total score, if any."""
    total = sum(scores.values())
    best = max(scores, key=scores.get, default=None)
    return best if best and scores[best] >= DOMINANCE * total else None


def _chain(mentions: list[_Mention], gazetteer: Gazetteer) -> tuple[list[str], dict[str, int], dict[str, int]]:
    """The dominant province, its dominant city and that city's dominant county (as far as one
    dominates its siblings), with the evidence naming each division itself (`own`) and
    naming it or anything inside it (`total`)."""
    own: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for m in mentions:
        # A meeting's venue says which province the meeting was in, not which city held it.
        path = [c for c in gazetteer.path(m.division)[:1 if m.venue else 3] if c]
        own[path[-1]] += m.weight
        for code in dict.fromkeys(path):
            total[code] += m.weight
    paths = {c: gazetteer.path(gazetteer.divisions[c]) for c in total}
    province = _dominant({c: total[c] for c in total if paths[c][0] == c})
    if province is None or total[province] < MIN_EVIDENCE:
        return [], own, total
    cities = {c: total[c] for c in total if paths[c][1] == c and paths[c][0] == province}
    city = province if province[:2] in MUNICIPALITIES else _dominant(cities)
    if city is None:
        return [province], own, total
    county = _dominant({c: own[c] for c in total if paths[c][2] == c and paths[c][1] == city})
    return [province, city] + ([county] if county else []), own, total


def _choose(mentions: list[_Mention], gazetteer: Gazetteer, self_level: str | None) -> Division | None:
    """The author's division among the mentions: the first of the chain named as an
    organisation in the headline (武汉市红十字会组织…东西湖区红十字志愿者协会); else the level
    the evidence reaches, kept to the levels whose names end in the suffix the text calls
    itself by (全省: the province, never the city of its meeting's venue; 我县: the county,
    however often its city's organisation is named)."""
    chain, own, total = _chain(mentions, gazetteer)
    if not chain:
        return None
    headline = next((m.division for m in mentions if m.org and m.in_title and m.division.code in chain), None)
    if headline:
        return headline
    level = _weighed_level(chain, own, total)
    fits = [i for i, code in enumerate(chain) if self_level and gazetteer.divisions[code].name.endswith(self_level)]
    if fits:
        level = min(max(level, fits[0]), fits[-1])
    return gazetteer.divisions[chain[level]]


def _weighed_level(chain: list[str], own: dict[str, int], total: dict[str, int]) -> int:
    """How far down the chain the weights go: a level only when its division outweighs its
    parent's own mentions."""
    if len(chain) < 2 or total[chain[1]] < own[chain[0]]:
        return 0
    return 1 if len(chain) < 3 or own[chain[2]] < own[chain[1]] else 2


def _filed_choice(chosen: Division | None, text: list[_Mention], filed: list[_Mention],
                  gazetteer: Gazetteer, self_level: str | None) -> Division | None:
    """The author's division once the report's path is heard: the path's place, refined by the
    text's mentions inside it, unless the text names its organisation elsewhere (or names a
    division above it as the organisation in its headline)."""
    where = _choose(filed, gazetteer, None)
    if where is None:
        return chosen
    if chosen is not None and where.code not in gazetteer.path(chosen):
        above = chosen.code in gazetteer.path(where)
        if any(m.division is chosen and m.org and (m.in_title or not above) for m in text):
            return chosen
    return _choose(filed + [m for m in text if where.code in gazetteer.path(m.division)], gazetteer, self_level)


@dataclass(frozen=True)
class PassageText:
    """What region detection needs of a passage: its sub-article, its section heading, its text."""
    article: int
    heading: str
    text: str


def passage_regions(lead: str, article_heads: list[str], passages: list[PassageText],
                    gazetteer: Gazetteer, path: str = "") -> list[Region]:
    """The region of each passage: the report's own (from its lead lines, all its text and its
    `path`, the folders and file name it was found under), a sub-article's (article_heads[i - 1]
    heads sub-article i), or a section's whose heading names a place (### 辽宁：…), each falling
    back to the one around it."""
    report = detect_region(lead, [p.text for p in passages], gazetteer, path=path)
    articles = [report] + [detect_region(head, [p.text for p in passages if p.article == number], gazetteer,
                                         default=report)
                           for number, head in enumerate(article_heads, start=1)]
    sections: dict[tuple[int, str], Region] = {}
    for p in passages:
        key = (p.article, p.heading)
        if key not in sections:
            names_place = p.heading and mentioned_places(p.heading, gazetteer)
            sections[key] = detect_region(
                p.heading, [q.text for q in passages if (q.article, q.heading) == key], gazetteer,
                default=articles[p.article]) if names_place else articles[p.article]
    return [sections[(p.article, p.heading)] for p in passages]


def detect_region(title: str, paragraphs: list[str], gazetteer: Gazetteer, default: Region | None = None,
                  path: str = "") -> Region:
    """Region of the organisation that wrote a text unit (a whole report, or one sub-article of a report holding several).
    title: headline/byline lines (strong evidence); paragraphs: body text; path: the report's
    folders and file name, weaker evidence than the organisation the text names, stronger
    than places it merely mentions. Traditional and compatibility characters are folded first
    (紅十字會 reads as 红十字会).
    Returns `default` (or Region()) when the unit has no convincing evidence of its own."""
    title, paragraphs = normalize(title or ""), [normalize(p) for p in paragraphs]
    default = default or Region()
    filed = _path_mentions(path, gazetteer)
    text = _unit_mentions(title, paragraphs, gazetteer, set(default.codes()), filed)
    self_level = _self_level("\n".join([title, *paragraphs]))
    chosen = _choose(text, gazetteer, self_level)
    filed = [m for m in filed if m.division and not m.absorbed]
    if filed:
        chosen = _filed_choice(chosen, text, filed, gazetteer, self_level)
    return gazetteer.region(chosen) if chosen else default


def mentioned_places(text: str, gazetteer: Gazetteer) -> list[str]:
    """Full names of divisions (province/city/county level) a passage merely mentions, unambiguous ones only, deduplicated, in order of appearance."""
    mentions = _mentions(normalize(text or ""), gazetteer)
    _resolve(mentions, gazetteer, set())
    return list(dict.fromkeys(m.division.name for m in mentions if m.division))


YEARS = range(1990, 2036)
# A four-digit year followed by 年, not part of a longer number (22000余名, 1978.5万元).
YEAR = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?=\s*年)")
DATELINE = re.compile(r"(?<![\d.])((?:19|20)\d\d)\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
FUTURE_BEFORE = re.compile(r"(?:到|力争在?|争取在?|计划|预计|将于|将在|目标)\s*$")
FUTURE_AFTER = re.compile(r"\s*年(?:前|远景|将)")
# Reports often date themselves only by the Party congress or plenum they study.
PARTY_EVENTS = {"十八大": 2012, "十九大": 2017, "二十大": 2022} | {
    f"{congress}届{plenum}中全会": start + offset
    for congress, start in (("十八", 2012), ("十九", 2017), ("二十", 2022))
    for plenum, offset in zip("一二三四五六七", (0, 1, 1, 2, 3, 4, 5))}
PARTY_EVENT = re.compile("|".join(PARTY_EVENTS))
DATELINE_SPAN = 300  # a dateline sits in the masthead, before the story


def report_year(title: str, text: str, date: str | None = None) -> int | None:
    """The report's year: a dateline (2020年12月22日) or year in title first, then the date the
    page or file gives (YYYY-MM-DD), else the latest plausible year (1990..2035) the text reports on."""
    title, text = normalize(title or ""), normalize(text or "")
    for match in (*YEAR.finditer(title), *DATELINE.finditer(text, 0, DATELINE_SPAN)):
        if int(match.group(1)) in YEARS:
            return int(match.group(1))
    if date and date[:4].isdigit() and int(date[:4]) in YEARS:
        return int(date[:4])
    reported = [int(m.group(1)) for m in YEAR.finditer(text)
                if not FUTURE_BEFORE.search(text, max(0, m.start() - 4), m.start())
                and not FUTURE_AFTER.match(text, m.end())]
    reported += [PARTY_EVENTS[m.group(0)] for m in PARTY_EVENT.finditer(text)]
    return max((y for y in reported if y in YEARS), default=None)
