"""Analysis: one-to-one normalization and tokens whose offsets point at the original text."""
import pytest

from search.analysis import END, Lexicon, bigram_analyzer, cut, normalize, word_analyzer

GOLDEN = "石家庄市紅十字會組織ＡＥＤ培訓２０２０年，造血干细胞捐献者加入中华骨髓库。造血干细胞！"


@pytest.mark.parametrize("raw, folded", [
    ("紅十字會", "红十字会"), ("ＡＥＤ", "aed"), ("２０２０", "2020"), ("監事會", "监事会"), ("ＣＴ机", "ct机"),
])
def test_normalize_folds_one_character_to_one(raw, folded):
    assert normalize(raw) == folded


def test_normalize_keeps_length_everywhere():
    assert len(normalize(GOLDEN)) == len(GOLDEN)


@pytest.mark.parametrize("analyzer", [word_analyzer(), bigram_analyzer()])
def test_token_offsets_point_at_the_original_text(analyzer):
    tokens = [(t.text, t.startchar, t.endchar, t.pos) for t in analyzer(GOLDEN, positions=True, chars=True)]
    assert [pos for *_, pos in tokens] == list(range(len(tokens)))
    for text, start, end, _ in tokens:
        assert normalize(GOLDEN[start:end]) == text.removesuffix(END)


def test_words_use_the_domain_dictionary_and_repeat_offsets():
    tokens = [(t.text, t.startchar) for t in word_analyzer()(GOLDEN, chars=True)]
    assert ("中华骨髓库", GOLDEN.index("中华骨髓库")) in tokens
    starts = [s for text, s in tokens if text == "造血干细胞"]
    assert starts == [GOLDEN.index("造血干细胞"), GOLDEN.rindex("造血干细胞")]


def test_start_pos_and_start_char_are_honoured():
    tokens = [(t.text, t.pos, t.startchar) for t in
              word_analyzer()("捐献红十字会", positions=True, chars=True, start_pos=7, start_char=100)]
    assert tokens[0] == ("捐献", 7, 100)
    assert ("红十字会", len(tokens) - 1 + 7, 102) in tokens


def test_query_split_and_synonyms():
    assert cut("石家庄有多少志愿者加入中华骨髓库") == ["石家庄", "有", "多少", "志愿者", "加入", "中华骨髓库"]
    lexicon = Lexicon.load()
    assert "先天性心脏病" in lexicon.synonyms_of("先心病")
    assert "多少" in lexicon.stopwords


@pytest.mark.parametrize("field", ["text", "grams", "title_words", "heading_grams"])
@pytest.mark.parametrize("value", [GOLDEN, GOLDEN * 3 + "\n造血 干细胞"])
def test_fields_index_the_terms_and_weights_their_analyzer_gives(field, value):
    """The direct indexing path of the analysed fields gives what Whoosh's token-by-token path gives."""
    from whoosh.fields import TEXT
    from search.index import build_schema
    schema_field = build_schema()[field]
    expected = sorted(TEXT.index(schema_field, value))
    assert sorted(schema_field.index(value)) == expected
    assert len(expected) > 2 and any(freq > 1 for _, freq, _, _ in expected)
