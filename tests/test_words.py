"""Counts and articles in messages (harness/words.py): "1 case", "2 errors", "an elu"."""

import pytest

from harness.words import article, count


@pytest.mark.parametrize("n, noun, expected", [
    (1, "case", "1 case"), (0, "case", "0 cases"), (91, "case", "91 cases"),
    (1, "error", "1 error"), (2, "error", "2 errors"),
    (1, "known deviation", "1 known deviation"), (5, "known deviation", "5 known deviations"),
    (1, "unexpected pass", "1 unexpected pass"), (3, "unexpected pass", "3 unexpected passes"),
    (2, "entry", "2 entries"), (2, "shared inaccuracy", "2 shared inaccuracies"),
    (2, "day", "2 days"), (4, "chunk", "4 chunks"), (12345, "network", "12,345 networks"),
])
def test_count_says_the_noun_in_the_plural_unless_there_is_one(n, noun, expected):
    assert count(n, noun) == expected


@pytest.mark.parametrize("word, expected", [
    ("elu", "an"), ("elu, identity", "an"), ("identity", "an"), ("tanh", "a"),
    ("sigmoid", "a"), ("gelu_tanh", "a"), ("Elu", "an")])
def test_article_follows_the_first_letter(word, expected):
    assert article(word) == expected
