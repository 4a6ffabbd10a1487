"""Whether a run of letters of one case reads as generated (``azodxeykywncsgkfougcbfafwllquxam``)
rather than as words run together (``preprocesscompaniesnode``, ``blackrightpointingtriangle``).

Mixed-case tokens are judged by :mod:`otel_kedro.processors.secrets` on character-class changes;
a single-case token has none, so it is judged on letter pairs instead. :data:`RARE_BIGRAMS` are
the 195 of the 676 letter pairs that together make up less than 0.1 % of the pairs inside the
lowercase words of this project's environment's Python sources (about 2,500 packages' worth of
identifiers, comments and docstrings). Uniformly random letters land on one of them in 29 % of
their pairs; words almost never do.

Measured (``random.Random`` letters against every single-case segment of 20+ letters in those
sources, 442 distinct): 0 segments of words judged random; random tokens missed 9 % at 20
letters, 5 % at 24, 0.7 % at 32, 0.1 % at 40.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Final

MIN_LETTERS: Final = 20
RARE_BIGRAMS: Final = frozenset(
    "aoaqbhbkbqbvbwbxbzcgcjcqcvcxczdhdqdwdzfhfjfkfqfwfxfzgjgkgqgwgxgzhbhchfhghhhjhqhvhwhxhzihij"
    "iwiyjbjcjdjfjgjhjjjkjljmjnjpjqjrjtjvjwjxjyjzkbkckhkjkkkmkqkvkxkzljlqlzmhmjmqmvmwmxmznqpjpq"
    "pvpwpxpzqbqcqdqeqfqgqhqiqjqkqmqnqoqpqqqtqvqwqxqyqzrjrxrzsjsztjtquhukuquvuwuyuzvbvfvhvjvkvl"
    "vnvpvqvrvuvvvwvxvyvzwbwfwgwjwkwpwqwtwuwvwxwywzxgxhxjxkxnxqxrxuxvxwxzyhyjykyqyuyxzbzczdzfzg"
    "zhzjzkzlzmznzpzqzrzsztzuzvzwzx"[i : i + 2]
    for i in range(0, 390, 2)
)
_VOWELS: Final = frozenset("aeiouy")


def _entropy(text: str) -> float:
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


def _longest_consonant_run(text: str) -> int:
    longest = current = 0
    for char in text:
        current = 0 if char in _VOWELS else current + 1
        longest = max(longest, current)
    return longest


def random_letters(segment: str) -> bool:
    """Whether ``segment`` (ASCII letters of one case, 20 or more) looks generated."""
    if len(segment) < MIN_LETTERS or not (segment.isascii() and segment.isalpha()):
        return False
    text = segment.lower()
    pairs = [text[i : i + 2] for i in range(len(text) - 1)]
    # Alphabet runs and doubled letters (``abcdef…``, ``aaffgg…``) are test fixtures, not keys.
    if sum(ord(p[1]) - ord(p[0]) in {0, 1} for p in pairs) > 0.25 * len(pairs):
        return False
    if _entropy(text) < 0.75 * math.log2(min(len(text), 26)):
        return False  # few distinct letters: ``mvmvmvmv…``
    rare = sum(pair in RARE_BIGRAMS for pair in pairs)
    if rare >= 4:
        return True
    vowel_share = sum(char in _VOWELS for char in text) / len(text)
    return rare >= 2 and (vowel_share < 0.25 or _longest_consonant_run(text) >= 5)
