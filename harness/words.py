"""English for counts and articles in messages: "1 case", "2 cases", "an elu network"."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """`n` and the noun, plural unless n is 1: "1 case", "2 unexpected passes"."""
    return f"{n:,} {noun if n == 1 else plural(noun)}"


def plural(noun: str) -> str:
    """The regular English plural of a noun (of its last word): entry -> entries."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


def article(word: str) -> str:
    """"a" or "an" before `word`, by its first letter: "an elu", "a tanh"."""
    return "an" if word[:1].lower() in tuple("aeiou") else "a"
