"""Page furniture: the lines of a captured web page or newspaper page that are not the report.

Saved pages carry, around the article, lines that no reader takes for its text:
metadata (时间:2019-02-25 来源:本网 访问量: -), navigation (当前位置:首页 > 动态,
上一篇, 这已经是最后一期了哦, 第A05版), share widgets (分享到: 微信 微博), lists of
phrases joined by `_` or `|` (link bars, keyword spam), and mastheads or site names
(汽车配件网, 兰州晨报数字版). The rules describe what such a line looks like in
general (short, no sentence ends, made of labels, separators and widget words),
not particular sites: `kind(line)` names the kind of furniture a line is, or None.
"""
from __future__ import annotations

import re

from search.analysis import normalize

METADATA = "metadata"
NAVIGATION = "navigation"
SHARE = "share"
LINK_LIST = "link list"
MASTHEAD = "masthead"
BYLINE = "byline"

# Furniture is short and never a sentence: a line holding a full stop is text.
MAX_FURNITURE_CHARS = 150
SENTENCE_END = re.compile(r"[。！？!?]")
LABELS = ("发布时间|发布日期|发表时间|发表日期|更新时间|更新日期|录入时间|时间|日期|信息来源|文章来源|稿件来源|来源|出处"
          "|发布者|发布人|发布单位|发布机构|作者|撰稿|供稿|投稿|责任编辑|责编|编辑|主编|审核|审校|审稿|校对|摄影|图片"
          "|记者|通讯员|访问量|访问次数|阅读量|阅读数|阅读次数|阅读|浏览量|浏览次数|浏览数|浏览|点击量|点击数|点击次数|点击"
          "|评论数|评论|点赞|转发|本文字数|字数|字体|字号|所属栏目|栏目|关键词|关键字|标签|分类|索引号|文号|发文机关")
LABEL = re.compile(rf"(?:{LABELS})\s*[:：]")
DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?")
TIME = re.compile(r"\d{1,2}[:：]\d{2}(?:[:：]\d{2})?")
WEEKDAY = re.compile(r"(星期|周|礼拜)[一二三四五六日天]")
# Size and print controls: 字体：大 中 小, 【打印】【关闭】.
CONTROLS = re.compile(r"[大中小]\s+[大中小]\s+[大中小]|【\s*(?:打印|关闭|收藏|返回顶部|关闭窗口|打印本页)\s*】")
BREADCRUMB_START = re.compile(r"^(?:当前位置|您的位置|你的位置|您现在的位置|现在的位置|所在位置|位置)\s*[:：]?")
BREADCRUMB_SEPARATOR = re.compile(r"\s*(?:>>|>|»|›|→|＞)\s*")
PAGER = re.compile(r"^(?:上一篇|下一篇|上一条|下一条|上一页|下一页|上一期|下一期|上一版|下一版|前一篇|后一篇|返回目录|返回首页"
                   r"|返回列表|返回顶部|返回|更多|首页|尾页|没有了)")
END_OF_SERIES = re.compile(r"(?:已经是|这已经是|这是|已是)(?:最后|第一)一?(?:篇|期|页|条|版)")
PAGE_LABEL = re.compile(r"^第\s*[A-Za-z]?\s*\d{1,3}\s*版|^[A-Za-z]\d{1,2}\s*版")
SHARE_WORDS = re.compile(r"分享到|分享至|一键分享|分享|转发到|扫一扫|扫码|朋友圈|QQ空间|新浪微博|腾讯微博|微信|微博"
                         r"|复制链接|收藏本页|加入收藏|打印本页|关闭窗口", re.IGNORECASE)
LIST_SEPARATOR = re.compile(r"\s*[_|｜丨]\s*")
MIN_LIST_ITEMS = 3
MAX_LIST_ITEM_CHARS = 20
# A masthead or site name: a short name ending as media and sites are named.
MASTHEAD_NAME = re.compile(r"^[\w\s·]{2,14}(?:日报|晚报|晨报|早报|商报|时报|周报|周刊|都市报|报|新闻网|网|在线|新闻|客户端"
                           r"|频道|电视台|广播电台|之声|头条|融媒|数字报|数字版|电子版|官网|官方网站|网站|门户)$")
BYLINE_WORDS = re.compile(r"(?:本报|特约|见习|实习)?记者|通讯员|实习生|摄影|作者|撰稿|文\s*[/／]|图\s*[/／]")
MAX_BYLINE_CHARS = 40


def kind(line: str) -> str | None:
    """The kind of furniture a line of a page is (METADATA, NAVIGATION, SHARE, LINK_LIST,
    MASTHEAD, BYLINE), or None when it may be the report's own text."""
    text = normalize(line).strip()  # traditional characters and full-width forms read as their plain forms
    if not text or len(text) > MAX_FURNITURE_CHARS or SENTENCE_END.search(text):
        return None
    for name, test in ((NAVIGATION, _is_navigation), (METADATA, _is_metadata), (SHARE, _is_share),
                       (LINK_LIST, _is_link_list), (MASTHEAD, _is_masthead), (BYLINE, _is_byline)):
        if test(text):
            return name
    return None


def is_dropped(line: str) -> bool:
    """Whether a line is furniture that is no part of the report at all (mastheads and bylines
    stay with the report's lead lines: they are not its title nor where it was written)."""
    return kind(line) in (METADATA, NAVIGATION, SHARE, LINK_LIST)


def date_in(line: str) -> str | None:
    """The first date a line gives, as YYYY-MM-DD (2019-02-25, 2019年2月25日, 2019/2/25)."""
    match = DATE.search(line)
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _is_metadata(text: str) -> bool:
    labels = len(LABEL.findall(text))
    if LABEL.match(text) or labels >= 2 or CONTROLS.search(text):
        return True
    rest = TIME.sub("", WEEKDAY.sub("", DATE.sub("", text)))
    dated = rest != text
    # A line that is a date (and a time, a weekday) and little else, or a date with a label.
    return dated and (labels >= 1 or not re.search(r"[\w]", rest.replace("_", "")))


def _is_navigation(text: str) -> bool:
    if BREADCRUMB_START.match(text) or PAGER.match(text) or END_OF_SERIES.search(text) or PAGE_LABEL.match(text):
        return True
    parts = [p for p in BREADCRUMB_SEPARATOR.split(text) if p]
    return len(parts) >= 2 and len(BREADCRUMB_SEPARATOR.findall(text)) >= 1 and all(len(p) <= 12 for p in parts)


def _is_share(text: str) -> bool:
    words = SHARE_WORDS.findall(text)
    rest = SHARE_WORDS.sub("", text)
    return bool(words) and len(re.sub(r"[\W_]", "", rest)) <= 4


def _is_link_list(text: str) -> bool:
    items = [item for item in LIST_SEPARATOR.split(text) if item]
    return len(items) >= MIN_LIST_ITEMS and all(len(item) <= MAX_LIST_ITEM_CHARS for item in items)


def _is_masthead(text: str) -> bool:
    return bool(MASTHEAD_NAME.match(text))


def _is_byline(text: str) -> bool:
    return len(text) <= MAX_BYLINE_CHARS and bool(BYLINE_WORDS.search(text)) and not re.search(r"[，,；;]", text)
