"""Ingest: structure a report file into a clean document of titled, headed passages.

A reader per format (search/readers) turns the file into lines of text, headings and
Markdown table rows. Here each table row becomes a passage; page furniture is dropped
where pages put it (around the report's body, never inside it); the hard line breaks of
newspaper layout are repaired (a paragraph that stops mid-sentence continues in the next
one, even across an interrupting heading or photo captions); and each paragraph becomes
a passage.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from search import furniture, spelling
from search.analysis import segmenter
# IngestError, SUPPORTED_SUFFIXES and decode are imported from here by the indexer and the tests.
from search.readers import SUPPORTED_SUFFIXES, Extracted, IngestError, extract, from_stored, refusal  # noqa: F401
from search.readers.lines import table_at
from search.readers.text import decode  # noqa: F401

# Reports are tens of kilobytes; a file over this is refused (reported, old version
# kept) rather than read: analysing 10 MB of Chinese takes about a minute already.
MAX_FILE_BYTES = 10 * 1024 * 1024
# Word and PDF files carry photos and fonts, mostly not text: they may be larger, and their
# text is held to MAX_TEXT_CHARS once read.
MAX_PACKED_FILE_BYTES = 64 * 1024 * 1024
MAX_TEXT_CHARS = 10_000_000
PACKED_SUFFIXES = (".docx", ".pdf")
# Formats whose text the user typed (their tables too), not a reader.
TYPED_FORMATS = ("txt", "md")
MAX_PASSAGE_CHARS = 1000
MAX_HEADING_CHARS = 40
# A caption between the two halves of a broken sentence is short and complete.
MAX_CAPTION_CHARS = 90
LOOKAHEAD_BLOCKS = 5

SENTENCE_END = "。！？!?…；;"
CLOSERS = "”’」』)）》】\"'"
SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?；;])(?![”’」』)）])|(?<=[。！？!?][”’」』)）])")
SUBTITLE = re.compile(r"^[—–-]{1,2}\s*\S")
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
BYLINE = re.compile(r"^(记者|通讯员|作者|文/|文:|图/|摄影|本报记者|特约记者)|^[\u4e00-\u9fff]{2,3}$")
PERSON_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
# A dictionary word this frequent is a word, whatever its tag (荣誉 2877; 王建国, a name, 12).
COMMON_WORD_FREQ = 100
# A line ending in one of these is a sentence cut by a line break, never a heading.
BROKEN_ENDINGS = "，,、：:；;的了和与及在对把将为从向被让使并或而但其之以于由"
# Photo captions and credit notes are text, never headings.
NOTE = re.compile(r"^([▲△●■◆]|[(（].*[)）]$)")
DATELINE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日")
# A numbered section heading (一、 （二） 3. 第四部分): it opens the body, never titles the report.
SECTION_NUMBER = re.compile(r"^(第[一二三四五六七八九十百]+[章节部分篇]|[一二三四五六七八九十]+[、.．]"
                            r"|[(（][一二三四五六七八九十\d]{1,3}[)）]|\d{1,2}[、.．](?!\d))")


HEADLINE = "headline"
FIRST_SENTENCE = "first sentence"


@dataclass(frozen=True)
class Passage:
    """One searchable unit: a repaired paragraph (or a slice of a long one)."""

    number: int
    heading: str
    text: str
    article: int  # index into Document.articles
    role: str = "paragraph"  # "lead" (title lines), "heading", "paragraph" or "byline" (an author's name)


@dataclass(frozen=True)
class Article:
    """A part of a report written by one organisation: the whole report, or a sub-article."""

    heading_lines: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    """A report as the index sees it."""

    doc_id: str
    title: str
    format: str
    source: str
    content_hash: str
    passages: tuple[Passage, ...]
    articles: tuple[Article, ...] = field(default=(Article(()),))
    lead_lines: tuple[str, ...] = ()  # title, subtitle, byline, dateline: region and year evidence
    date: str | None = None           # YYYY-MM-DD the page or file gives, beside the text
    title_source: str = "headline"    # HEADLINE, or FIRST_SENTENCE when the report has no headline


@dataclass
class _Block:
    text: str
    heading: bool
    explicit_heading: bool = False
    table: bool = False  # a table row: the report's own text, a passage of its own


def content_hash(data: bytes) -> str:
    """Hash of a file's bytes, the key of incremental indexing."""
    return hashlib.sha256(data).hexdigest()


def read_document(path: Path, doc_id: str | None = None) -> Document:
    """Read and structure one source file (its id defaults to the file stem); raises
    IngestError for files that cannot be indexed."""
    reason = refusal(path)
    if reason:
        raise IngestError(f"{path.name}: {reason}")
    return parse_document(doc_id or path.stem, read_source_bytes(path), path.suffix.lower().lstrip("."))


def read_source_bytes(path: Path) -> bytes:
    """A source file's bytes; IngestError when it cannot be read or is over its size limit
    (MAX_FILE_BYTES, or MAX_PACKED_FILE_BYTES for Word and PDF files).

    Never reads more than the limit + 1 bytes, even from a file that grows meanwhile.
    """
    limit = MAX_PACKED_FILE_BYTES if path.suffix.lower() in PACKED_SUFFIXES else MAX_FILE_BYTES
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            data = b"" if size > limit else file.read(limit + 1)
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot read file ({exc.strerror or exc})") from exc
    if size > limit or len(data) > limit:
        raise IngestError(f"{path.name}: file too large ({max(size, len(data)) / 2**20:.1f} MB; "
                          f"the limit is {limit // 2**20} MB)")
    return data


def parse_document(doc_id: str, data: bytes, fmt: str) -> Document:
    """Read a file's bytes with the reader of its format (suffix without the dot) and structure them."""
    return _structure(doc_id, fmt, extract(data, f"{doc_id}.{fmt}"), content_hash(data))


def document_from_stored(doc_id: str, source: str, fmt: str, content_hash: str, date: str | None) -> Document:
    """The Document read_document made of a file, rebuilt from what the index stores (no file needed)."""
    return _structure(doc_id, fmt, from_stored(source, fmt, date), content_hash)


def _structure(doc_id: str, fmt: str, extracted: Extracted, digest: str) -> Document:
    """Title, articles and passages of a reader's lines."""
    if len(extracted.text) > MAX_TEXT_CHARS:
        raise IngestError(f"{doc_id}.{fmt}: too much text ({len(extracted.text) / 1e6:.1f} million characters; "
                          f"the limit is {MAX_TEXT_CHARS / 1e6:.0f} million): split the report into several files")
    blocks, page_date = _article(_blocks(_lines(extracted.text), markdown=fmt == "md", typed=fmt in TYPED_FORMATS),
                                 line_broken=not extracted.paragraphs_final)
    if not blocks:
        raise IngestError(f"{doc_id}.{fmt}: no text to index")
    head = _split_title(blocks)
    paragraphs = head.body if extracted.paragraphs_final else _repair(head.body)
    passages, articles = _passages(head.lead, paragraphs)
    if not passages:
        raise IngestError(f"{doc_id}.{fmt}: no text to index")
    # A masthead names where the page was printed, not who did the work: no region evidence.
    evidence = [line for line in head.lead if furniture.kind(line) != furniture.MASTHEAD]
    return Document(doc_id=doc_id, title=head.title, format=fmt, source=extracted.text,
                    content_hash=digest, passages=tuple(passages), articles=tuple(articles),
                    lead_lines=tuple(evidence), date=extracted.date or page_date, title_source=head.title_source)


def _is_heading_like(text: str) -> bool:
    stripped = text.rstrip(CLOSERS)
    # A heading may pair two phrases with a comma (弘扬人间大爱，“三献”工作跨越发展); a line with
    # two is a piece of a sentence broken by a line break.
    return (len(text) <= MAX_HEADING_CHARS and not any(c in text for c in "。！？!?")
            and text.count("，") + text.count(",") <= 1
            and not (stripped and stripped[-1] in BROKEN_ENDINGS)
            and not NOTE.match(text) and _balanced(text))


def _balanced(text: str) -> bool:
    """False for a line cut inside quotes or brackets (…做好“活), which cannot be a heading."""
    return all(text.count(a) <= text.count(b) for a, b in ("“”", "‘’", "（）", "()", "《》", "「」"))


def _lines(source: str) -> list[str]:
    return [line.replace("\u3000", " ").strip() for line in source.split("\n")]


def _blocks(lines: list[str], markdown: bool, typed: bool) -> list[_Block]:
    """The lines as blocks: marked headings, table rows (each already its passage's text) and
    lines of text; blank lines only end tables. In a file typed as text (`typed`), a table
    without a header row has two rows at least: a lone line between bars is as likely a
    page's link bar (| 首页 | 新闻 |)."""
    # Once a file marks its headings with '#', unmarked lines are paragraphs.
    explicit = markdown or any(MARKDOWN_HEADING.match(line) for line in lines)
    blocks, i = [], 0
    while i < len(lines):
        table = table_at(lines, i, min_rows=2 if typed else 1) if lines[i] else None
        if table:
            rows, i = table
            blocks += [_Block(row, heading=False, table=True) for row in rows]
            continue
        heading = MARKDOWN_HEADING.match(lines[i])
        if heading:
            blocks.append(_Block(heading.group(2).strip(), True, True))
        else:
            blocks.append(_Block(lines[i], not explicit and _is_heading_like(lines[i])))
        i += 1
    return [b for b in blocks if b.text]


def _article(blocks: list[_Block], line_broken: bool) -> tuple[list[_Block], str | None]:
    """The report's blocks without the page furniture around its body, and the date that
    furniture gave (时间:2019-02-25 … 来源:本网), if any.

    Furniture is looked for only where pages put it: before the body's first paragraph or
    table row, and after its last one, up to the page's footer (上一篇, 相关新闻 …), which is
    cut with all that follows. The body's own lines, table rows, marked headings, and, in text
    with hard line breaks, a line that repair joins to the body's last sentence are the
    report's, whatever they look like.
    """
    start = next((i for i, block in enumerate(blocks) if _is_body(block)), len(blocks))
    end = next((i for i in range(start + 1, len(blocks))
                if not blocks[i].table and furniture.ends_page(blocks[i].text)), len(blocks))
    last = next((i for i in reversed(range(start, end)) if _is_body(blocks[i])), start - 1)
    if line_broken:
        last = _sentence_end(blocks[:end], last)
    lead, lead_date = _without_furniture(blocks[:start])
    tail, tail_date = _without_furniture(blocks[last + 1:end])
    return lead + blocks[start:last + 1] + tail, lead_date or tail_date


def _is_body(block: _Block) -> bool:
    """A table row, or a paragraph that is not furniture and is not short enough to be a
    heading (in a Word file or a web page too, where such lines are paragraphs)."""
    return block.table or (not block.heading and not _is_heading_like(block.text)
                           and furniture.kind(block.text) is None)


def _sentence_end(blocks: list[_Block], last: int) -> int:
    """The block that ends the sentence blocks[last] leaves unfinished (a hard line break may
    have cut it before a line that looks like furniture: …让 | 更多群众掌握了…)."""
    while last >= 0 and not blocks[last].table and not _ends_sentence(blocks[last].text):
        following = _continuation(blocks, last)
        if following is None:
            break
        last = following
    return last


def _without_furniture(blocks: list[_Block]) -> tuple[list[_Block], str | None]:
    """The blocks around a body that are not furniture (of a breadcrumb trail with a headline
    glued to it, the headline), and the first date the furniture gave."""
    # A marked heading, like a table row, is structure its reader declared: never furniture.
    kinds = [None if block.table or block.explicit_heading else furniture.kind(block.text) for block in blocks]
    # A site name above the page's navigation (汽车配件网 | 当前位置:首页 > 正文 | headline) is
    # the page's header: no headline continues across a breadcrumb trail.
    header_end = max((i for i, kind in enumerate(kinds) if kind == furniture.NAVIGATION), default=-1)
    kept, date = [], None
    for i, (block, kind) in enumerate(zip(blocks, kinds)):
        if kind in furniture.DROPPED:
            headline = furniture.headline_after_crumbs(block.text)
            if headline:
                kept.append(_Block(headline, heading=_is_heading_like(headline)))
            date = date or furniture.date_in(block.text)
        # A masthead with its imprint (publisher, web site, e-mail) is a block of furniture.
        elif not (kind == furniture.MASTHEAD
                  and (i < header_end or furniture.IMPRINT in kinds[max(i - 1, 0):i + 2])):
            kept.append(block)
    return kept, date


@dataclass(frozen=True)
class _Head:
    """How a report opens: its title (a headline, or failing one its first sentence), the
    lead lines around the headline, and the body blocks that follow."""

    title: str
    title_source: str
    lead: list[str]
    body: list[_Block]


def _split_title(blocks: list[_Block]) -> _Head:
    head = _opening(blocks)
    return replace(head, title=_without_channel_tag(head.title)) if head.title_source == HEADLINE else head


def _without_channel_tag(headline: str) -> str:
    """The headline without the channel tag before it ([苏州市]…, 【本地新闻】…); the tag stays
    in the lead lines, where it is region evidence like the rest."""
    rest = furniture.without_channel_tag(headline)
    return rest if _looks_like_headline(rest) else headline


def _opening(blocks: list[_Block]) -> _Head:
    for i, block in enumerate(blocks[:12]):
        if block.heading and SUBTITLE.match(block.text) and i > 0 and blocks[i - 1].heading:
            end = i + 1
            while end < len(blocks) and BYLINE.match(blocks[end].text):
                end += 1
            lead = [b.text for b in blocks[:i - 1] if b.heading] + [b.text for b in blocks[i - 1:end]]
            return _Head(blocks[i - 1].text, HEADLINE, lead, [b for b in blocks[:i - 1] if not b.heading] + blocks[end:])
    explicit = next((i for i, b in enumerate(blocks[:5]) if b.explicit_heading), None)
    if explicit is not None:
        return _Head(blocks[explicit].text, HEADLINE, [blocks[explicit].text], blocks[:explicit] + blocks[explicit + 1:])
    leading = 0
    while leading < len(blocks) and blocks[leading].heading and not SECTION_NUMBER.match(blocks[leading].text):
        leading += 1
    lead = [b.text for b in blocks[:leading]]
    candidates = [i for i in range(leading) if _looks_like_headline(blocks[i].text)]
    if candidates:
        i = candidates[-1]
        return _Head(blocks[i].text, HEADLINE, lead, blocks[i + 1:] if i + 1 >= leading else blocks[leading:])
    first = blocks[leading].text if leading < len(blocks) else blocks[0].text
    return _Head(_first_sentence(first), FIRST_SENTENCE, lead, blocks[leading:])


def _looks_like_headline(text: str) -> bool:
    """Long enough to say what happened, and not a dateline, a byline nor a masthead."""
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    return (cjk >= 6 and not DATELINE.match(text) and not BYLINE.match(text)
            and furniture.kind(text) not in (furniture.MASTHEAD, furniture.BYLINE))


def _first_sentence(text: str) -> str:
    sentence = SENTENCE_SPLIT.split(text, maxsplit=1)[0].rstrip("。！？!?；;")
    return sentence if len(sentence) <= 40 else sentence[:40] + "…"


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip(CLOSERS)
    return not stripped or stripped[-1] in SENTENCE_END or text[-1] in ")）"


def _joins_word(left: str, right: str) -> bool:
    """True when jieba reads a word across the break (…企业加 | 入红十字…)."""
    tail, head = left[-4:], right[:4]
    offset = 0
    for word in segmenter().cut(tail + head, HMM=False):
        if offset < len(tail) < offset + len(word):
            return True
        offset += len(word)
    return False


def _is_caption(block: _Block) -> bool:
    return not block.heading and len(block.text) <= MAX_CAPTION_CHARS and _ends_sentence(block.text)


def _continuation(blocks: list[_Block], i: int) -> int | None:
    """Index of the block that continues the sentence broken at the end of blocks[i]."""
    current = blocks[i]
    window = blocks[i + 1:i + 1 + LOOKAHEAD_BLOCKS]
    # A sentence never goes on into or across a table.
    window = window[:next((k for k, block in enumerate(window) if block.table), len(window))]
    if window and not window[0].heading and current.text.rstrip(CLOSERS)[-1:] in "，,、：:“《(（":
        return i + 1
    if window and not current.heading and window[0].heading and not _interrupts(window[0]):
        return i + 1
    candidates = [k for k, block in enumerate(window) if not block.heading]
    for k in candidates:
        # Photo captions may sit between the halves; the true continuation reads on as one word.
        if _joins_word(current.text, window[k].text):
            return i + 1 + k
        if not _is_caption(window[k]):
            break
    if current.heading:
        return None
    if not candidates:
        # Nothing but short lines follow a line cut after 的, 让, 和 …: the next one goes on with it.
        cut = current.text.rstrip(CLOSERS)[-1:] in BROKEN_ENDINGS
        return i + 1 if cut and window and not window[0].explicit_heading \
            and not SECTION_NUMBER.match(window[0].text) else None
    return i + 1 + candidates[0]


def _interrupts(block: _Block) -> bool:
    """Whether a heading-like line can stand between the halves of a broken sentence: a marked
    or numbered heading, or one without a comma; a line with a comma after a sentence broken
    mid-way is that sentence's next line (…普及性 | 培训覆盖群众8000余人次，在…新增)."""
    return (block.explicit_heading or bool(SECTION_NUMBER.match(block.text))
            or not any(c in block.text for c in "，,、"))


def _repair(blocks: list[_Block]) -> list[_Block]:
    """Rejoin sentences broken by hard line breaks; interrupting headings stay headings."""
    blocks = list(blocks)
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if not (_ends_sentence(block.text) or block.explicit_heading or block.table or NOTE.match(block.text)):
            j = _continuation(blocks, i)
            if j is not None:
                skipped = blocks[i + 1:j]
                headings = [b for b in skipped if b.heading]
                merged = _Block(_joined(block.text, blocks[j].text), heading=False)
                rest = [b for b in skipped if not b.heading]
                blocks[i:j + 1] = headings + [merged] + rest
                i += len(headings)
                continue
        i += 1
    return blocks


def _joined(left: str, right: str) -> str:
    """Two pieces of a sentence as one: no space inside CJK text, one between Latin words and
    numbers (9 | 450 is not 9450)."""
    space = left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum()
    return left + " " * space + right


def _passages(lead: list[str], blocks: list[_Block]) -> tuple[list[Passage], list[Article]]:
    """Passages in reading order: the lead lines, each run of heading lines, each paragraph.

    Headings and lead lines are passages too, so every line of a report can be
    found; a run of two or more heading lines after some body text opens a sub-article. A
    person's name alone on a line that closes an article (before the next one's headline, or
    at the end) is that article's byline, not the start of the next one's headline.
    """
    passages: list[Passage] = []
    articles = [Article(())]
    if lead:
        passages.append(Passage(1, "", "\n".join(lead), 0, "lead"))
    heading, run, body_seen = "", [], False
    ended = blocks + [_Block("", heading=False)]
    for block, following in zip(ended, ended[1:] + [None]):
        if block.heading and not run and passages[-1:] and passages[-1].role == "paragraph" \
                and _closes_article(block.text, following):
            passages.append(Passage(len(passages) + 1, heading, block.text, len(articles) - 1, "byline"))
            continue
        if block.heading:
            run.append(block.text)
            continue
        if run:
            if len(run) >= 2 and body_seen:
                articles.append(Article(tuple(run)))
            heading = next((h for h in reversed(run) if not _is_byline(h)), run[-1])
            passages.append(Passage(len(passages) + 1, heading, "\n".join(run), len(articles) - 1, "heading"))
            run = []
        for text in split_long(block.text) if block.text else ():
            passages.append(Passage(len(passages) + 1, heading, text, len(articles) - 1))
            body_seen = True
    return passages, articles


def _closes_article(text: str, following: _Block | None) -> bool:
    """Whether a line after a paragraph is its article's byline: a person's name alone (屠丽敏),
    followed by a headline that is no name, or by nothing."""
    return (_is_person_name(text) and (following is None or not following.text
                                        or (following.heading and not _is_person_name(following.text))))


def _is_person_name(text: str) -> bool:
    """A name as jieba's part-of-speech model reads one, unless the dictionary knows it as a
    common word (荣誉 and 文明 are tagged as names too)."""
    tokenizer = segmenter()
    return (bool(PERSON_NAME.match(text)) and tokenizer.FREQ.get(text, 0) < COMMON_WORD_FREQ
            and spelling.is_person_name(text, tokenizer))


def _is_byline(text: str) -> bool:
    return bool(BYLINE.match(text)) or text.endswith(("红十字会", "救援队", "服务队", "记者"))


def split_long(text: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Cut a paragraph over `limit` characters at sentence ends into balanced slices."""
    if len(text) <= limit:
        return [text]
    sentences = [s for s in SENTENCE_SPLIT.split(text) if s]
    pieces = -(-len(text) // limit)
    target = len(text) / pieces
    slices, current = [], ""
    for sentence in sentences:
        if current and len(current) + len(sentence) > target * 1.1:
            slices.append(current)
            current = ""
        current += sentence
    slices.append(current)
    return [piece for s in slices for piece in _hard_cut(s, limit)]


def _hard_cut(text: str, limit: int) -> list[str]:
    return [text[i:i + limit] for i in range(0, len(text), limit)] or [text]
