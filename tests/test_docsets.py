"""Doc-set algebra at the sizes a large collection gives it: locating hits for scoring and
tiering, and the topic column's counts as packed bits, against plain references."""
import numpy as np
import pytest

from search import columns, docsets

SIZE = 200_000


def _sorted_sample(rng, count: int) -> np.ndarray:
    return np.sort(rng.choice(SIZE, count, replace=False)).astype(np.int32)


@pytest.mark.parametrize("mine, theirs", [
    (50, 150_000),                   # few hits, a common term's postings: each hit looked up
    (150_000, 50),                   # many hits, a rare term's postings
    (900, 1_200),                    # both small: binary searches
    (docsets.MARKS_FROM, 120_000),   # many hits: a place per docnum
    (60_000, 60_000),
    (0, 1_000),
    (1_000, 0),
])
def test_located_finds_exactly_the_shared_docs_at_their_indexes(mine, theirs):
    rng = np.random.default_rng(mine * 7 + theirs)
    docs, others = _sorted_sample(rng, mine), _sorted_sample(rng, theirs)
    got_theirs, got_mine = docsets.Located(docs, SIZE).find(others)
    _, want_mine, want_theirs = np.intersect1d(docs, others, assume_unique=True, return_indices=True)
    assert got_theirs.tolist() == want_theirs.tolist()
    assert got_mine.tolist() == want_mine.tolist()


# Twenty topics: three bytes a record, the last one partly used.
NAMES = [f"话题{i:02d}" for i in range(20)]


def _records(rng, count: int) -> list[str]:
    """Comma-joined topic lists as the index stores them; some records hold none."""
    return [",".join(sorted(rng.choice(NAMES, rng.integers(0, 4), replace=False).tolist())) for _ in range(count)]


def _reference(raw: list[str]) -> tuple[list[str], np.ndarray]:
    names = sorted({v for value in raw for v in value.split(",") if v})
    held = np.array([[name in value.split(",") for name in names] for value in raw], dtype=bool)
    return names, held


def test_topic_bits_count_hold_and_tally_as_a_matrix_would():
    rng = np.random.default_rng(3)
    raw = _records(rng, 3_000)
    column = columns._value_column(raw, multi=True)
    names, held = _reference(raw)
    assert column.names == names
    docs = _sorted_sample(np.random.default_rng(4), 1_700) % len(raw)
    docs = np.unique(docs)
    assert column.counts(docs) == {n: int(c) for n, c in zip(names, held[docs].sum(axis=0)) if c}
    wanted = {names[1], names[17]}
    assert column.holding(wanted).tolist() == np.flatnonzero(held[:, [1, 17]].any(axis=1)).tolist()
    groups = np.arange(len(raw)) // 10
    assert column.tally(docs, groups) == {
        n: (int(held[docs, i].sum()), len(set(groups[docs[held[docs, i]]].tolist())))
        for i, n in enumerate(names) if held[docs, i].any()}
    first = [next((n for n in names if n in value.split(",")), "") for value in raw]
    assert [column.value_of(d) for d in range(len(raw))] == first


def test_topic_bits_of_parts_join_as_if_read_at_once():
    """An incremental run joins the topic columns of segments that hold different topics."""
    rng = np.random.default_rng(5)
    first, second = _records(rng, 400), [value.replace("话题03", "") for value in _records(rng, 300)]
    parts = [columns._value_column(first, multi=True), columns._value_column(second, multi=True)]
    joined = columns._joined_matrix(parts)
    whole = columns._value_column(first + second, multi=True)
    assert joined.names == whole.names
    assert np.array_equal(joined.bits, whole.bits)
