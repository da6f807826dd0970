"""Search that forgives: homophone corrections, pinyin input and completions, from the index's
own vocabulary.

People type Chinese through a pinyin input method, so their slips are characters that sound
the same or nearly the same (造血肝细胞 for 造血干细胞, 应急救户 for 应急救护), not keyboard
slips; with the input method off they type the pinyin itself (wuchangxianxue, zaoxue
ganxibao) or its initials (hszh for 红十字会). A Vocabulary holds the words of one index
version with how many passages hold each, and their readings (pypinyin); it answers

- `homophones(text)`: strings that read (nearly) like `text` with one or more of its spans
  replaced by an index word that sounds like it, the likeliest first;
- `pinyin_words(letters)`: index words whose reading is these letters (full pinyin, with or
  without spaces and tone digits, or initials);
- `completions(prefix)`: words starting with what was typed, or whose pinyin or initials do.

Near sounds are those pinyin input methods treat as fuzzy: z/zh, c/ch, s/sh, n/l, f/h, r/l,
an/ang, en/eng, in/ing, ian/iang, uan/uang; tones are ignored.
"""
from __future__ import annotations

import bisect
import functools
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import jieba
from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

if TYPE_CHECKING:
    from search.jieba_internals import SharedTagsPOSTokenizer

CJK = re.compile(r"^[\u4e00-\u9fff]+$")
LETTERS = re.compile(r"^[a-zü]+$")
# Spans longer than this are not looked up as one word (no index word is that long).
MAX_SPAN = 8
# Pinyin typed as one run is split into at most this many index words.
MAX_PINYIN_WORDS = 4
FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("h", "f"), ("r", "l"))
FUZZY_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


@functools.lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (zhong, lü as lv), from pypinyin's character table."""
    readings = {to_normal(reading, v_to_u=False) for value in pinyin_dict.values() for reading in value.split(",")}
    return frozenset(r.replace("ü", "v") for r in readings if r.isalpha())


def reading(word: str) -> tuple[str, ...]:
    """The toneless pinyin syllables of a word (heteronyms read as in that word)."""
    return tuple(lazy_pinyin(word, style=Style.NORMAL, v_to_u=False))


@functools.lru_cache(maxsize=65536)
def char_readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of one character (血: xue, xie)."""
    value = pinyin_dict.get(ord(char), "")
    return tuple(dict.fromkeys(to_normal(r, v_to_u=False).replace("ü", "v") for r in value.split(",") if r))


def readings(word: str) -> list[tuple[str, ...]]:
    """How a word may be read: as pypinyin reads the word, and character by character, each
    its most common reading (无偿献血: wu chang xian xie, and wu chang xian xue): people type
    the reading they know."""
    whole = reading(word)
    by_char = tuple((char_readings(c) or (r,))[0] for c, r in zip(word, whole))
    return list(dict.fromkeys([whole, by_char]))


@functools.lru_cache(maxsize=4096)
def fuzzy(syllable: str) -> str:
    """A syllable with its near sounds folded together (zhi → zi, ling → nin)."""
    for near, plain in FUZZY_INITIALS:
        if syllable.startswith(near):
            syllable = plain + syllable[len(near):]
            break
    for near, plain in FUZZY_FINALS:
        if syllable.endswith(near):
            return syllable[:-len(near)] + plain
    return syllable


def sounds(word: str) -> list[str]:
    """What a word may sound like, near sounds folded: the keys of its homophones."""
    return list(dict.fromkeys(" ".join(fuzzy(s) for s in syl) for syl in readings(word)))


def split_pinyin(letters: str) -> list[str] | None:
    """Letters split into pinyin syllables (fewest syllables), or None when they are not pinyin."""
    letters = letters.replace("ü", "v")
    known = syllables()
    best: list[list[str] | None] = [[]] + [None] * len(letters)
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - 6), end):
            if best[start] is not None and letters[start:end] in known:
                candidate = best[start] + [letters[start:end]]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    return best[-1]


def typed_letters(text: str) -> str | None:
    """What was typed as Latin letters, lower-cased, spaces, apostrophes and tone digits
    dropped (zào xuè / zao4xue4 / zao'xue → zaoxue); None when it is anything else."""
    plain = text.lower() if text.isascii() else to_normal(text.lower(), v_to_u=False)
    plain = re.sub(r"[\s'’1-5]", "", plain)
    return plain if LETTERS.match(plain) else None


@dataclass(frozen=True)
class Completion:
    """A word offered while typing: how many passages hold it, and which characters of it
    the typed text matched (all of them for a pinyin match)."""

    word: str
    passages: int
    matched: int  # the first `matched` characters of `word` are what was typed


class Vocabulary:
    """The words of one index version, with passage counts and readings."""

    def __init__(self, counts: dict[str, int], read: Callable[[str], list[tuple[str, ...]]] = readings):
        """`read(word)`: the word's readings (`readings`, about 30 µs a word; an indexer passes
        those it kept from the version before)."""
        self.counts = counts
        chinese = [w for w in counts if len(w) >= 2 and CJK.match(w)]
        self._by_sound: dict[str, list[str]] = {}
        self._by_pinyin: dict[str, list[str]] = {}
        # Completion keys: (key, word, syllable lengths when the key is the word's pinyin).
        keys: list[tuple[str, str, tuple[int, ...]]] = [(w, w, ()) for w in counts]
        for word in chinese:
            for syl in read(word):
                full, initials = "".join(syl), "".join(s[0] for s in syl)
                self._by_sound.setdefault(" ".join(fuzzy(s) for s in syl), []).append(word)
                self._by_pinyin.setdefault(full, []).append(word)
                self._by_pinyin.setdefault(initials, []).append(word)
                keys += [(full, word, tuple(len(s) for s in syl)), (initials, word, (1,) * len(syl))]
        keys.sort()
        self._keys = [k for k, _, _ in keys]
        self._entries = [(w, lengths) for _, w, lengths in keys]
        for table in (self._by_sound, self._by_pinyin):
            for key, words in table.items():
                table[key] = sorted(set(words), key=lambda w: (-counts[w], w))

    def save(self, path: Path) -> None:
        """Write the vocabulary, readings and all, for `load` (built in about a second at 10^6
        passages, read back in a tenth of it)."""
        path.write_bytes(pickle.dumps(vars(self), protocol=pickle.HIGHEST_PROTOCOL))

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """A vocabulary `save` wrote (by this code: the caller checks, as for the index's other
        prepared files; pickled like Whoosh's own table of contents beside it)."""
        vocabulary = cls.__new__(cls)
        vars(vocabulary).update(pickle.loads(path.read_bytes()))
        return vocabulary

    def homophones(self, text: str) -> list[str]:
        """`text` with spans replaced by index words that sound (nearly) the same, most
        passages first; the whole text first when an index word reads exactly like it."""
        if not CJK.match(text):
            return []
        found: dict[str, int] = {}
        for size in range(min(len(text), MAX_SPAN), 1, -1):
            for start in range(len(text) - size + 1):
                span = text[start:start + size]
                near = [w for key in sounds(span) for w in self._by_sound.get(key, ())[:3]]
                for word in near:
                    if word != span:
                        found.setdefault(text[:start] + word + text[start + size:], (size, self.counts[word]))
        return sorted(found, key=lambda t: (-found[t][0], -found[t][1]))

    def pinyin_words(self, letters: str) -> list[str]:
        """Index words, or runs of up to MAX_PINYIN_WORDS of them, whose pinyin or initials
        are these letters; most passages first."""
        if letters in self._by_pinyin:
            return list(self._by_pinyin[letters])
        if split_pinyin(letters) is None:
            return []
        # Several words typed as one run (zaoxuejuanxian): the longest known readings first.
        best: list[tuple[str, ...] | None] = [()] + [None] * len(letters)
        for end in range(1, len(letters) + 1):
            for start in range(end):
                words = self._by_pinyin.get(letters[start:end])
                if best[start] is not None and words and len(best[start]) < MAX_PINYIN_WORDS:
                    candidate = best[start] + (words[0],)
                    if best[end] is None or len(candidate) < len(best[end]):
                        best[end] = candidate
        return ["".join(best[-1])] if best[-1] else []

    def completions(self, prefix: str, limit: int = 8) -> list[Completion]:
        """Words starting with `prefix`, or whose full pinyin or initials start with it, most
        passages first; the word itself when typed whole is left out."""
        letters = typed_letters(prefix)
        starts = {prefix} | ({letters} if letters else set())
        found: dict[str, Completion] = {}
        for start in starts:
            at = bisect.bisect_left(self._keys, start)
            while at < len(self._keys) and self._keys[at].startswith(start):
                word, lengths = self._entries[at]
                matched = _covered(lengths, len(start)) if lengths else len(start)
                if word != prefix and (word not in found or found[word].matched < matched):
                    found[word] = Completion(word, self.counts[word], matched)
                at += 1
        return sorted(found.values(), key=lambda c: (-c.passages, c.word))[:limit]


def _covered(lengths: tuple[int, ...], typed: int) -> int:
    """How many syllables (of these lengths) a typed prefix of `typed` letters reaches into."""
    covered, total = 0, 0
    while covered < len(lengths) and total < typed:
        total += lengths[covered]
        covered += 1
    return covered


# When to correct (search/corrections.py asks `respell` for each plain term of a query):
WELL_KNOWN = 5            # a term found in this many passages is never corrected
SUGGEST_RATIO = 10        # a term found far less often than this many times what it sounds like is only questioned
MAX_CANDIDATES = 5        # homophones whose hits are counted, likeliest first
MAX_CORRECTED_CHARS = 10  # a longer term is a question: relaxation answers it, not correction
# jieba's part-of-speech tags for a person's name (nr; nrfg, nrt: names jieba knows).
PERSON_NAME_TAGS = ("nr",)


@functools.lru_cache(maxsize=2)
def tagger(tokenizer: jieba.Tokenizer) -> SharedTagsPOSTokenizer:
    """jieba's part-of-speech tagger over `tokenizer`. Imported and built on first use: its
    tables cost about 45 MB and half a second, which only a term that is no dictionary word,
    and found nothing, needs (a server that built them at start, beside its first answers,
    kept the 45 MB whether any query needed them or not)."""
    from search.jieba_internals import SharedTagsPOSTokenizer
    return SharedTagsPOSTokenizer(tokenizer)


def is_person_name(term: str, tokenizer: jieba.Tokenizer) -> bool:
    """Whether jieba's part-of-speech model reads the whole term as one person's name
    (李霞, 王建国, 张秀兰), with `tokenizer`'s dictionary."""
    tagged = tagger(tokenizer).lcut(term)
    return len(tagged) == 1 and tagged[0].flag.startswith(PERSON_NAME_TAGS)


def is_word_or_name(term: str, tokenizer: jieba.Tokenizer, is_name: Callable[[str], bool]) -> bool:
    """Whether a term is a word of the language or a name, which respelling never replaces:
    a word of `tokenizer`'s dictionary (jieba's own and the user dictionary), a name
    `is_name` knows (places of the gazetteer, topics), or a person's name (is_person_name)."""
    return bool(tokenizer.FREQ.get(term)) or is_name(term) or is_person_name(term, tokenizer)


def mends_words(typed: str, meant: str, tokenizer: jieba.Tokenizer) -> bool:
    """Whether `meant` reads as fewer dictionary words than `typed` (jieba's segmentation
    by its word frequencies alone, no new-word guessing).

    A homophone slip breaks the word meant into pieces (造血肝细胞: 造血|肝细胞;
    应急救户: 应|急救|户); the word it sounds like puts them back together. A homophone
    that only swaps one word for another of the same shape (趋势分析 → 去世分析) is a
    guess about what was meant, not a repair of what was typed."""
    return len(tokenizer.lcut(meant, HMM=False)) < len(tokenizer.lcut(typed, HMM=False))


@dataclass(frozen=True)
class Respelling:
    """What a typed term was likely meant to be, and whether to search that instead
    (the term found nothing) or only to offer it (the term found far less, or is a word)."""

    typed: str
    meant: str
    replaces: bool


def respell(term: str, vocabulary: Callable[[], Vocabulary], count: Callable[[str], int],
            tokenizer: jieba.Tokenizer, is_name: Callable[[str], bool]) -> Respelling | None:
    """The index word (or words) a term sounds like, if it is likely what was meant.

    `vocabulary()` gives the index's words (asked for only when a term needs it: reading
    them costs a moment once per index version); `count(text)` is how many passages hold a
    text; `tokenizer` is jieba's, with the user dictionary; `is_name(text)` tells the names of
    places and topics. Pinyin letters are read only when the letters themselves find nothing
    (aed, ct stay as they are). Chinese is compared with its homophones, and replaced only
    when it is no word or name (is_word_or_name), finds nothing and a homophone mends it
    (mends_words); a word or name is only ever offered. Numbers and long questions are
    never respelled.
    """
    letters = typed_letters(term)
    if any(c.isdigit() for c in term) or (not letters and len(term) > MAX_CORRECTED_CHARS):
        return None
    typed = count(term)
    if typed >= WELL_KNOWN or (letters and typed):
        return None
    candidates = vocabulary().pinyin_words(letters) if letters else vocabulary().homophones(term)
    found = [(hits, c) for hits, c in ((count(c), c) for c in candidates[:MAX_CANDIDATES]) if hits]
    if not found:
        return None
    if letters:
        return Respelling(term, max(found)[1], True)
    if is_word_or_name(term, tokenizer, is_name):
        # A word or a name is what was meant: when it finds nothing, what it sounds like is offered.
        return None if typed else Respelling(term, max(found)[1], False)
    mended = [(hits, c) for hits, c in found if mends_words(term, c, tokenizer)]
    if typed == 0:
        return Respelling(term, max(mended)[1], True) if mended else Respelling(term, max(found)[1], False)
    hits, meant = max(found)
    return Respelling(term, meant, False) if hits >= SUGGEST_RATIO * typed else None
