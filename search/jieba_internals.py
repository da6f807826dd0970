"""What rcsearch takes from below jieba's public API, in one place.

Written for jieba 0.42.1 (pinned `>=0.42.1,<0.43` in pyproject.toml): POSTokenizer reads
its word tags in `__init__` through `load_word_tag`, and keeps them in `word_tag_tab`.
tests/test_spelling.py guards it: the tagger built here tags as one built the public way.
"""
from __future__ import annotations

from jieba import posseg


class SharedTagsPOSTokenizer(posseg.POSTokenizer):
    """jieba's part-of-speech tagger over a given tokenizer (its dictionary, its user words),
    with the word tags jieba.posseg read at import shared, not read from dict.txt a second
    time (43 MB and a few tenths of a second). The user dictionary's tags are added to that
    shared table, which nothing else in rcsearch reads."""

    def load_word_tag(self, f) -> None:
        f.close()
        self.word_tag_tab = posseg.dt.word_tag_tab
