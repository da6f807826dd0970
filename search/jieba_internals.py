"""What rcsearch takes from below jieba's public API, in one place.

Written for jieba 0.42.1 (pinned `>=0.42.1,<0.43` in pyproject.toml): POSTokenizer reads
its word tags in `__init__` through `load_word_tag`, and keeps them in `word_tag_tab`; the
characters its dictionary does not know it tags in its private `__cut` (`_POSTokenizer__cut`)
with `jieba.posseg.viterbi` over the hidden Markov model jieba.posseg loads at import.
tests/test_spelling.py guards the first: the tagger built here tags as one built the public
way; tests/test_figures.py the second, on text of every kind of character.
"""
from __future__ import annotations

from jieba import posseg
from jieba.posseg.viterbi import MIN_FLOAT, MIN_INF

State = tuple[str, str]  # (B, M, E or S: where in a word, part-of-speech tag)


class SharedTagsPOSTokenizer(posseg.POSTokenizer):
    """jieba's part-of-speech tagger over a given tokenizer (its dictionary, its user words),
    with the word tags jieba.posseg read at import shared, not read from dict.txt a second
    time (47 MB and a few tenths of a second). The user dictionary's tags are added to that
    shared table, which only rcsearch's taggers read (spelling's and figures', over the same
    user dictionary). Words jieba does not know are tagged by `viterbi` below: jieba's tags,
    at a third of the cost."""

    def load_word_tag(self, f) -> None:
        f.close()
        self.word_tag_tab = posseg.dt.word_tag_tab

    def _POSTokenizer__cut(self, sentence: str):
        """jieba's POSTokenizer.__cut, line for line, over `viterbi`."""
        pos_list = viterbi(sentence)
        begin, nexti = 0, 0
        for i, char in enumerate(sentence):
            pos = pos_list[i][0]
            if pos == "B":
                begin = i
            elif pos == "E":
                yield posseg.pair(sentence[begin:i + 1], pos_list[i][1])
                nexti = i + 1
            elif pos == "S":
                yield posseg.pair(char, pos_list[i][1])
                nexti = i + 1
        if nexti < len(sentence):
            yield posseg.pair(sentence[nexti:], pos_list[nexti][1])


def viterbi(obs: str) -> list[State]:
    """The route jieba.posseg.viterbi finds through its model for `obs`, state for state.

    jieba weighs every state of the previous character against every state of this one,
    most with no transition between them (-inf); here only the transitions that exist are
    weighed, in the same sums (previous + transition + emission) with ties going to the
    greater previous state as jieba's max over (probability, state) has it, and jieba's own
    expression decides where no transition gives a finite probability."""
    states, start_p, trans_p, emit_p = posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P
    all_states = trans_p.keys()
    first = {y: start_p[y] + emit_p[y].get(obs[0], MIN_FLOAT) for y in states.get(obs[0], all_states)}
    probabilities, paths = [first], [dict.fromkeys(first, "")]
    for char in obs[1:]:
        previous = [(y0, p0, trans_p[y0]) for y0, p0 in probabilities[-1].items() if trans_p[y0]]
        expected = set().union(*(following for _, _, following in previous))
        now, path = {}, {}
        for y in expected.intersection(states.get(char, all_states)) or expected or all_states:
            emit = emit_p[y].get(char, MIN_FLOAT)
            best, best_state = MIN_INF, None
            for y0, p0, following in previous:
                transition = following.get(y)
                if transition is not None:
                    p = p0 + transition + emit
                    if p > best or (p == best and best_state is not None and y0 > best_state):
                        best, best_state = p, y0
            if best_state is None:
                best, best_state = max((p0 + following.get(y, MIN_INF) + emit, y0) for y0, p0, following in previous)
            now[y], path[y] = best, best_state
        probabilities.append(now)
        paths.append(path)
    state = max((p, y) for y, p in probabilities[-1].items())[1]
    route = [state] * len(obs)
    for i in range(len(obs) - 1, 0, -1):
        state = paths[i][state]
        route[i - 1] = state
    return route
