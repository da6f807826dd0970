"""Text analysis: normalization, then segmentation into Whoosh tokens.

Normalizers run first and map one character to one character (width, NFKC,
case, traditional -> simplified), so every token offset points into the
original text. Two segmenters follow: jieba words for ranking, and character
bigrams (a word character before punctuation or the end paired with an end mark)
so that any string in a passage finds it.
"""
from __future__ import annotations

import functools
import logging
import operator
import os
import re
import unicodedata
from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import jieba
from whoosh.analysis import Token, Tokenizer

# jieba's start-up chatter on stderr would drown the CLI's own output.
jieba.setLogLevel(logging.WARNING)

DATA_DIR = Path(__file__).parent / "data"
# Pairs with the last character of a text in the bigram fields; never typed in a query.
END = "\uffff"
USER_DICT = DATA_DIR / "userdict.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"


@functools.lru_cache(maxsize=1)
def _traditional_to_simplified() -> dict[str, str]:
    """OpenCC's character table, first candidate only: one character in, one out."""
    path = Path(distribution("opencc-python-reimplemented").locate_file("opencc/dictionary/TSCharacters.txt"))
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        target = targets.split(" ")[0]
        if len(source) == 1 and len(target) == 1:
            table[source] = target
    return table


def _fold(char: str, t2s: dict[str, str]) -> str:
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1:
        folded = char
    lowered = folded.lower()
    if len(lowered) == 1:
        folded = lowered
    return t2s.get(folded, folded)


@functools.lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    t2s = _traditional_to_simplified()
    table = {}
    for code in range(0x20, 0x30000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        folded = _fold(char, t2s)
        if folded != char:
            table[code] = folded
    return table


@functools.lru_cache(maxsize=64)
def normalize(text: str) -> str:
    """Fold width, compatibility forms, case and traditional characters; same length as `text`.

    Cached: indexing folds each passage for its words, its grams, its compact text, its
    regions and its topics."""
    return text.translate(_fold_table())


def compact(text: str) -> str:
    """Normalized text without white space: what a search string must occur in."""
    return "".join(normalize(text).split())


def is_word_char(char: str) -> bool:
    """Characters that can be part of a search term (letters, digits, CJK)."""
    return char.isalnum()


# A word character as is_word_char has it (\w is isalnum() or "_"), found in C.
_WORD_CHAR = re.compile(r"[^\W_]")


def has_word_char(text: str) -> bool:
    """Whether any character of `text` is a word character."""
    return _WORD_CHAR.search(text) is not None


def segmenter(user_dict: Path = USER_DICT) -> jieba.Tokenizer:
    """A jieba tokenizer with the domain dictionary loaded (shared; loaded again when the
    dictionary file changes, so a running server follows an edit once the index is rebuilt)."""
    path = _resolved(user_dict)
    return _load_segmenter(path, mtime_ns(path))


@functools.lru_cache(maxsize=8)
def _resolved(path: Path) -> Path:
    # Resolving walks every component of the path: once, not for each passage analysed.
    return Path(path).resolve()


def mtime_ns(path: Path) -> int:
    """A file's modification time, or 0 when there is no such file."""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=4)
def _load_segmenter(user_dict: Path, mtime: int) -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    # A cache file per user: a server running as another user cannot rewrite root's.
    tokenizer.cache_file = f"jieba-rcsearch-{os.getuid()}.cache"
    tokenizer.initialize()
    if user_dict.exists():
        tokenizer.load_userdict(str(user_dict))
    return tokenizer


def words(text: str, user_dict: Path = USER_DICT) -> list[tuple[str, int, int]]:
    """Search-mode jieba words of normalized text as (word, start, end); punctuation dropped."""
    norm = normalize(text)
    jieba_tokenizer = segmenter(user_dict)
    tokens = []
    for word, start, end in jieba_tokenizer.tokenize(norm, mode="search", HMM=True):
        if has_word_char(word):
            tokens.append((word, start, end))
            if len(word) > 4:
                tokens.extend(_long_subwords(word, start, jieba_tokenizer.FREQ))
    return tokens


def _long_subwords(word: str, start: int, freq: dict) -> list[tuple[str, int, int]]:
    """Dictionary words of 4+ characters inside a longer word (造血干细胞 in 造血干细胞捐献);
    jieba's search mode only yields the 2- and 3-character ones."""
    return [(word[i:i + n], start + i, start + i + n)
            for n in range(4, len(word)) for i in range(len(word) - n + 1) if freq.get(word[i:i + n])]


def cut(text: str, user_dict: Path = USER_DICT) -> list[str]:
    """Accurate-mode jieba words of normalized text (how a query is split into terms)."""
    return [w for w in segmenter(user_dict).cut(normalize(text), HMM=True) if has_word_char(w)]


def is_dictionary_word(word: str, user_dict: Path = USER_DICT) -> bool:
    """True when jieba knows `word` as one word (so the words field holds it as a term)."""
    return bool(segmenter(user_dict).FREQ.get(word))


def bigrams(text: str) -> list[tuple[str, int, int]]:
    """Each word character of normalized text with the next non-space character when that is
    a word character too, else with END, as (gram, start, end).

    Every word character starts a gram, so the passages holding one character are those
    with a gram starting with it; punctuation, which queries seldom hold, costs no postings
    (a query holding some is confirmed against the text).
    """
    norm = normalize(text)
    chars = [(c, i) for i, c in enumerate(norm) if not c.isspace()]
    grams = []
    for (a, i), (b, j) in zip(chars, chars[1:] + [(END, len(norm))]):
        if is_word_char(a):
            grams.append((a + b, i, j + 1) if is_word_char(b) else (a + END, i, i + 1))
    return grams


# A run of word characters (is_word_char): \w less the underscore.
_WORD_RUN = re.compile(r"[^\W_]+")


def bigram_terms(text: str) -> list[str]:
    """The grams of `bigrams(text)` without their offsets, found a run of word characters
    at a time (what indexing needs, several times faster)."""
    grams = []
    for run in _WORD_RUN.findall(compact(text)):
        grams += map(operator.add, run, run[1:])
        grams.append(run[-1] + END)
    return grams


# Segmenters whose texts alone a faster function gives (a schema pickles only the segmenter).
TERM_TEXTS = {bigrams: bigram_terms}


def query_grams(text: str) -> list[str]:
    """The grams every passage containing `text` (normalized, without white space) holds: see
    bigrams. The last character's follower is unknown, so it starts none."""
    return [a + b if is_word_char(b) else a + END for a, b in zip(text, text[1:]) if is_word_char(a)]


class SegmentTokenizer(Tokenizer):
    """Whoosh tokenizer over one segmenter; honours positions, chars, start_pos and start_char."""

    def __init__(self, segment):
        self.segment = segment

    def segments(self, value: str):
        """The segmenter's (text, start, end) for value; short values are segmented once."""
        return _repeated(self.segment, value) if len(value) <= REPEATED_CHARS else self.segment(value)

    def terms(self, value: str):
        """The texts of `segments(value)`, as indexing wants them."""
        texts = TERM_TEXTS.get(self.segment)
        if texts is None:
            return [text for text, _, _ in self.segments(value)]
        return _repeated(texts, value) if len(value) <= REPEATED_CHARS else texts(value)

    def __eq__(self, other):
        return type(self) is type(other) and self.segment == other.segment

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for pos, (text, start, end) in enumerate(self.segments(value)):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[start:end]
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


# Values this short (a report's title, a section's heading) come back with every passage:
# each is segmented once.
REPEATED_CHARS = 80


@functools.lru_cache(maxsize=4096)
def _repeated(segment, value: str) -> tuple:
    return tuple(segment(value))


def word_analyzer() -> SegmentTokenizer:
    """Analyzer of the jieba words fields."""
    return SegmentTokenizer(words)


def bigram_analyzer() -> SegmentTokenizer:
    """Analyzer of the bigram fields (the recall safety net; phrase queries run here)."""
    return SegmentTokenizer(bigrams)


@dataclass(frozen=True)
class Lexicon:
    """Query-time vocabulary: synonym groups and stopwords, read from search/data/."""

    synonyms: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]

    @classmethod
    def load(cls, synonyms: Path = SYNONYMS, stopwords: Path = STOPWORDS) -> "Lexicon":
        """Read the data files; a missing file means no entries."""
        groups: dict[str, tuple[str, ...]] = {}
        for line in _data_lines(synonyms):
            group = [normalize(w) for w in line.replace("~", " ").split()]
            for word in group:
                groups[word] = tuple(dict.fromkeys(groups.get(word, ()) + tuple(w for w in group if w != word)))
        return cls(groups, frozenset(normalize(w) for line in _data_lines(stopwords) for w in line.split()))

    def synonyms_of(self, word: str) -> tuple[str, ...]:
        """Other words that mean `word`."""
        return self.synonyms.get(word, ())


def _data_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]
