"""Page furniture: the lines of a captured web page or newspaper page that are not the report.

Saved pages carry, around the article, lines that no reader takes for its text:
metadata (时间:2019-02-25 来源:本网 访问量: -), navigation (当前位置:首页 > 动态,
上一篇, 这已经是最后一期了哦, 第A05版), site controls (EN, 手机版, RSS, 打开), share
widgets (分享到: 微信 微博), browser notices (建议使用IE9及以上版本浏览器。), editors'
credits (一审丨编辑 … 二审丨值班主任 …), a newspaper's imprint (主管主办, its web site and
e-mail), lists of phrases joined by `_` or `|` (link bars, keyword spam), and mastheads or
site names (汽车配件网, 兰州晨报数字版). The rules describe what such a line looks like in
general (a whole short line, no sentence, made of labels, separators and interface words),
not particular sites: `kind(line)` names the kind of furniture a line would be, or None.

Where a line stands decides whether it is asked about at all: ingest asks only about the
lines around a report's body (before it and after it), never about a line of the body, a
table row, or a line that continues a sentence.
"""
from __future__ import annotations

import re

from search.analysis import normalize

METADATA = "metadata"
NAVIGATION = "navigation"
CONTROLS = "site controls"
SHARE = "share"
NOTICE = "browser notice"
EDITORIAL = "editorial credit"
IMPRINT = "imprint"
LINK_LIST = "link list"
MASTHEAD = "masthead"
BYLINE = "byline"
# Kinds that are no part of the report at all. Mastheads and bylines stay with the report's
# lead lines: they are neither its title nor where it was written, but a byline names people
# and a site name alone may be a headline's last word (ingest drops a masthead only where it
# cannot be: above the page's navigation, or beside its imprint).
DROPPED = (METADATA, NAVIGATION, CONTROLS, SHARE, NOTICE, EDITORIAL, IMPRINT, LINK_LIST)

# Furniture is short and never a sentence: a line holding a full stop, or stopping at a comma,
# is text. A pop-up's line may end in ! or ? (已经是最后一篇了！). Lines are folded first
# (normalize: half-width punctuation, lower-case Latin, simplified characters).
MAX_FURNITURE_CHARS = 150
SENTENCE_END = re.compile(r"[。!?]")
POP_UP_END = "!?~ "
CUT_SENTENCE_END = ",、;"
LABELS = ("发布时间|发布日期|发表时间|发表日期|更新时间|更新日期|录入时间|时间|日期|信息来源|文章来源|稿件来源|来源|出处"
          "|发布者|发布人|发布单位|发布机构|作者|撰稿|供稿|投稿|责任编辑|责编|编辑|主编|审核|审校|审稿|校对|摄影|图片"
          "|记者|通讯员|访问量|访问次数|阅读量|阅读数|阅读次数|阅读|浏览量|浏览次数|浏览数|浏览|点击量|点击数|点击次数|点击"
          "|评论数|评论|点赞|转发|本文字数|字数|字体|字号|所属栏目|栏目|关键词|关键字|标签|分类|索引号|文号|发文机关")
LABEL = re.compile(rf"(?:{LABELS})\s*:")
DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?")
TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
WEEKDAY = re.compile(r"(星期|周|礼拜)[一二三四五六日天]")
# Size and print controls: 字体：大 中 小, 【打印】【关闭】.
CONTROLS_BAR = re.compile(r"[大中小]\s+[大中小]\s+[大中小]|【\s*大\s*中\s*小\s*】|【\s*(?:打印|关闭|收藏|返回顶部|关闭窗口|打印本页)\s*】")
COPYRIGHT = re.compile(r"版权所有|copyright|©|icp备|icp证|公网安备|技术支持:")
# A trail's label may stand anywhere in the line (EN 打开 · 手机版 您当前的位置:首页 > …); a bare
# 位置 only with its colon (位置偏远的山村… is a headline).
CRUMB_LABEL = re.compile(r"(?:[您你](?:当前|现在)?(?:的|所在的?)位置|当前位置|现在的?位置|所在位置|位置\s*:)\s*:?")
BREADCRUMB_SEPARATOR = re.compile(r"\s*(?:>>|>|»|›|→|＞)\s*")
MAX_CRUMB_CHARS = 12
MIN_HEADLINE_CJK = 6
# A pager word is the whole line, or stands before a colon, a separator or the next control
# (上一篇：…, 上一期 下一期, 更多>>); 更多志愿者加入… and 返回家乡的… are headlines.
PAGER = re.compile(r"^(?:上一篇|下一篇|上一条|下一条|上一页|下一页|上一期|下一期|上一版|下一版|前一篇|后一篇|返回目录|返回首页"
                   r"|返回列表|返回顶部|返回|更多|首页|尾页|没有了)(?:$|[\s:>»›|/\]】)])")
END_OF_SERIES = re.compile(r"^(?:已经|这已经|这|已|当前已)?是?(?:最后|第一)一?(?:篇|期|页|条|版)[了啦哦喔咯呢]*$")
PAGE_LABEL = re.compile(r"^第\s*[a-z]?\s*\d{1,3}\s*版|^[a-z]\d{1,2}\s*版")
# The headings of a page's side boxes and footer lists (热门文章, 相关新闻, 猜你喜欢 …).
WIDGET_HEADING = re.compile(r"^(?:热门|相关|推荐|猜你|点击|阅读|精彩|最新|延伸|图片)(?:文章|新闻|阅读|推荐|链接|报道|排行|喜欢|资讯)"
                            r"(?:\s*(?:更多|>>|»))?$")
LETTER_INDEX = re.compile(r"^(?:[a-z]\s+){3,}[a-z]?$")
# Where a page's footer starts: what follows is navigation or another story, never this report.
PAGE_END = re.compile(r"^(?:上一篇|下一篇|上一条|下一条|相关(?:新闻|阅读|文章|链接|报道)|推荐阅读|猜你喜欢|热门(?:推荐|文章|新闻)"
                      r"|【\s*(?:打印|关闭)|版权所有|copyright|©)")
# Site controls and the words of a page's tool bars: a line made of these alone is no text.
INTERFACE_WORDS = re.compile(
    r"english|en|中文版?|简体中文|繁体中文|简体|繁体|手机版|手机站|移动版|电脑版|pc版|触屏版|rss订阅|rss|订阅|打开|关闭窗口|关闭"
    r"|登录|注册|退出|站内搜索|高级搜索|搜索|无障碍浏览|无障碍|长者模式|关怀版|适老化|网站地图|设为首页|加入收藏|收藏本站"
    r"|收藏本页|收藏|返回顶部|返回首页|返回|网站首页|首页|正文|打印本页|打印|小程序|客户端|app")
INTERFACE_SEPARATORS = re.compile(r"[\s·•|/\\<>»›→_\-–—【】\[\]():]+")
SHARE_WORDS = re.compile(r"分享到|分享至|一键分享|分享|转发到|扫一扫|扫码|朋友圈|qq空间|新浪微博|腾讯微博|微信|微博"
                         r"|复制链接|收藏本页|加入收藏|打印本页|关闭窗口")
# A notice to the reader about the browser or the screen; it may be a sentence.
BROWSER = re.compile(r"浏览器|分辨率|ie\s*\d|internet explorer|兼容模式|极速模式")
MAX_NOTICE_CHARS = 80
# The editors and reviewers a news site credits under an article (一审丨编辑 张三 二审丨…).
EDITORIAL_CREDIT = re.compile(r"^(?:[一二三初复终]审|责任编辑|责编|编辑|主编|值班主任|值班总编|总编辑?|审核|审校|审稿|校对|签发"
                              r"|监制|出品人?|统筹|策划|美编|核稿|编审)\s*[丨|｜:/／\s]\s*\S")
MAX_CREDIT_CHARS = 80
# A newspaper's imprint: who publishes it (…主管主办, its serial numbers), its web site and
# e-mail address with their labels and little else.
SPONSOR = re.compile(r"主管主办|主管\S{0,20}\s*主办|统一连续出版物号|国内统一刊号|邮发代号|刊号:")
ADDRESS = re.compile(r"https?://[\w./?=&%#~:-]+|www\.[\w.-]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
MAX_ADDRESS_LABEL_CJK = 12
# A channel tag before a headline ([苏州市]…, 【本地新闻】…) files the story under a channel.
CHANNEL_TAG = re.compile(r"^(?:\[[^\[\]]{1,10}\]|【[^【】]{1,10}】)\s*(?=\S)")
LIST_SEPARATOR = re.compile(r"\s*[_|｜丨]\s*")
MIN_LIST_ITEMS = 3
MAX_LIST_ITEM_CHARS = 20
# A masthead or site name: a short name ending as media and sites are named.
MASTHEAD_NAME = re.compile(r"^[\w\s·]{2,14}(?:日报|晚报|晨报|早报|商报|时报|周报|周刊|都市报|报|新闻网|网|在线|新闻|客户端"
                           r"|频道|电视台|广播电台|之声|头条|融媒|数字报|数字版|电子版|官网|官方网站|网站|门户)$")
# … but a report is named like one too: 某区红十字会2023年工作简报, 疫情防控捐赠情况通报.
REPORT_NAME = re.compile(r"\d{4}年|(?:简|通|汇|公|快)报$")
BYLINE_WORDS = re.compile(r"(?:本报|特约|见习|实习)?记者|通讯员|实习生|摄影|作者|撰稿|文\s*/|图\s*/")
MAX_BYLINE_CHARS = 40


def kind(line: str) -> str | None:
    """The kind of furniture a whole line of a page would be (METADATA, NAVIGATION, CONTROLS,
    SHARE, NOTICE, EDITORIAL, IMPRINT, LINK_LIST, MASTHEAD, BYLINE), or None when it may be the
    report's own text."""
    text = _folded(line)
    if not text or len(text) > MAX_FURNITURE_CHARS:
        return None
    if len(text) <= MAX_NOTICE_CHARS and BROWSER.search(text):
        return NOTICE
    if not _whole_short_line(text):
        return None
    for name, test in ((NAVIGATION, _is_navigation), (EDITORIAL, _is_editorial), (METADATA, _is_metadata),
                       (CONTROLS, _is_controls), (SHARE, _is_share), (IMPRINT, _is_imprint),
                       (LINK_LIST, _is_link_list), (MASTHEAD, _is_masthead), (BYLINE, _is_byline)):
        if test(text):
            return name
    return None


def is_dropped(line: str) -> bool:
    """Whether a line, where furniture stands, is furniture that is no part of the report."""
    return kind(line) in DROPPED


def ends_page(line: str) -> bool:
    """Whether a line after a report's body starts the page's footer (上一篇：…, 相关新闻,
    版权所有 …): from it on, the page is navigation or another story."""
    text = _folded(line)
    return len(text) <= MAX_FURNITURE_CHARS and _whole_short_line(text) and bool(PAGE_END.match(text))


def headline_after_crumbs(line: str) -> str | None:
    """The headline a page glued to the end of its breadcrumb trail (EN 打开 · 手机版
    您当前的位置:首页 > 专题集锦 > 某县红十字会开展…), or None: the last step of a trail
    that has a label or two steps before it, when it is longer than a trail's step."""
    text = " ".join(line.split())
    label = CRUMB_LABEL.search(normalize(text))
    parts = [part.strip() for part in BREADCRUMB_SEPARATOR.split(text[label.end():] if label else text)]
    if len(parts) < (2 if label else 3):
        return None
    *steps, last = parts
    if all(len(step) <= MAX_CRUMB_CHARS for step in steps) and len(last) > MAX_CRUMB_CHARS \
            and _cjk(last) >= MIN_HEADLINE_CJK:
        return last
    return None


def without_channel_tag(headline: str) -> str:
    """A headline without the channel tag before it, if it has one ([苏州市]…, 【本地新闻】…)."""
    return CHANNEL_TAG.sub("", headline, count=1)


def date_in(line: str) -> str | None:
    """The first date a line gives, as YYYY-MM-DD (2019-02-25, 2019年2月25日, 2019/2/25)."""
    match = DATE.search(line)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _folded(line: str) -> str:
    # Traditional characters and full-width forms read as their plain forms.
    return normalize(line).strip()


def _whole_short_line(text: str) -> bool:
    """Not a sentence nor a piece of one: no sentence end (a pop-up's final ! or ? aside), and
    not stopping at a comma."""
    core = text.rstrip(POP_UP_END)
    return bool(core) and not SENTENCE_END.search(core) and core[-1] not in CUT_SENTENCE_END


def _cjk(text: str) -> int:
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff")


def _is_metadata(text: str) -> bool:
    labels = len(LABEL.findall(text))
    if LABEL.match(text) or labels >= 2 or CONTROLS_BAR.search(text) or COPYRIGHT.search(text):
        return True
    rest = TIME.sub("", WEEKDAY.sub("", DATE.sub("", text)))
    dated = rest != text
    # A line that is a date (and a time, a weekday) and little else, or a date with a label.
    return dated and (labels >= 1 or not re.search(r"[\w]", rest.replace("_", "")))


def _is_navigation(text: str) -> bool:
    core = text.rstrip(POP_UP_END)
    if (PAGER.match(core) or END_OF_SERIES.match(core) or PAGE_LABEL.match(text) or WIDGET_HEADING.match(text)
            or LETTER_INDEX.match(text) or headline_after_crumbs(text)):
        return True
    label = CRUMB_LABEL.search(text)
    trail = text[label.end():] if label else text
    parts = [p for p in BREADCRUMB_SEPARATOR.split(trail) if p]
    if label:
        return all(len(p) <= MAX_CRUMB_CHARS for p in parts)
    return len(parts) >= 2 and all(len(p) <= MAX_CRUMB_CHARS for p in parts)


def _is_controls(text: str) -> bool:
    """A line of site controls and tool-bar words alone (EN, 打开 · 手机版, RSS, >>)."""
    return not INTERFACE_SEPARATORS.sub("", INTERFACE_WORDS.sub(" ", text))


def _is_share(text: str) -> bool:
    words = SHARE_WORDS.findall(text)
    rest = SHARE_WORDS.sub("", text)
    return bool(words) and len(re.sub(r"[\W_]", "", rest)) <= 4


def _is_editorial(text: str) -> bool:
    return len(text) <= MAX_CREDIT_CHARS and bool(EDITORIAL_CREDIT.match(text))


def _is_imprint(text: str) -> bool:
    if SPONSOR.search(text):
        return True
    return bool(ADDRESS.search(text)) and _cjk(ADDRESS.sub("", text)) <= MAX_ADDRESS_LABEL_CJK


def _is_link_list(text: str) -> bool:
    items = [item for item in LIST_SEPARATOR.split(text) if item]
    return len(items) >= MIN_LIST_ITEMS and all(len(item) <= MAX_LIST_ITEM_CHARS for item in items)


def _is_masthead(text: str) -> bool:
    return bool(MASTHEAD_NAME.match(text)) and not REPORT_NAME.search(text)


def _is_byline(text: str) -> bool:
    return len(text) <= MAX_BYLINE_CHARS and bool(BYLINE_WORDS.search(text)) and not re.search(r"[，,；;]", text)
