"""Required literals and the Aho-Corasick indexes: never skip a rule that matches, and find
lexicon words exactly as the regular expression they replace would."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.scoring.grammar import builtin_rules, plain
from guardian.scoring.normalise import normalise
from guardian.scoring.prefilter import LiteralIndex, WordIndex, required

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("pattern", "literals"), [
    (r"\bte voy a matar\b", {"te voy a matar"}),
    (r"(?:matar|pegar)\s+te", {"matar", "pegar"}),
    (r"(?:te|os)\s+(?:mato|pego)", {"mato", "pego"}),
    (r"sé\s+d[oó]nde\s+vives", {"vives"}),
    (r"(?:\w+\s+)?(?:casa)?", None),          # nothing is required
    (r"(?:abc|x)\s+yy", None),                 # a branch with no usable literal
    (r"(?i)idiot", None),                      # case-insensitive: letters are not literal
])
def test_required_literals_are_read_from_the_pattern(pattern: str,
                                                     literals: set[str] | None) -> None:
    found = required(pattern)
    assert (None if found is None else set(found)) == literals


def _town_texts() -> list[str]:
    texts = []
    for path in [ROOT / "tests" / "data" / "town_messages.jsonl",
                 *sorted((ROOT / "training" / "signals").glob("*.jsonl"))]:
        texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()]
    return texts


def test_no_grammar_rule_is_skipped_where_it_matches() -> None:
    rules = builtin_rules()
    index = LiteralIndex([r.pattern for r in rules])
    compiled = [re.compile(r.pattern or "") for r in rules]
    skipped = checked = 0
    for text in _town_texts():
        bare = plain(normalise(text).text)
        may = index.candidates(bare)
        for number, pattern in enumerate(compiled):
            if not may >> number & 1:
                skipped += 1
                assert pattern.search(bare) is None, (rules[number].id, text)
            checked += 1
    # And it does skip: most rules for most messages.
    assert skipped > checked / 2


WORDS = ["rata", "hijo", "hijo de puta", "tonto", "tonto del bote", "inútil", "cabrón",
         "es", "de"]


def _regex(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?:es|s)?(?!\w)")


@settings(max_examples=300)
@given(st.lists(st.sampled_from([*WORDS, "pirata", "ratas", "tontos", "x", "del", "bote",
                                 "puta", "hijos", "inútiles", "cabrones", ",", "!", "9"]),
                max_size=14),
       st.sampled_from([" ", "", "  "]))
def test_the_word_index_finds_what_the_regular_expression_finds(parts: list[str],
                                                                 separator: str) -> None:
    text = separator.join(parts)
    expected = [(m.start(), m.end(), m.group(0)) for m in _regex(WORDS).finditer(text)]
    assert WordIndex(WORDS, ("", "s", "es")).find(text) == expected


def test_the_word_index_keeps_words_whole() -> None:
    index = WordIndex(["rata", "rat"], ("", "s"))
    assert index.find("el barco pirata, ratatouille y dos ratas") == [(35, 40, "ratas")]
    assert index.fullmatch("ratas") and not index.fullmatch("piratas")
    assert WordIndex([]).find("lo que sea") == []


def test_each_alternative_needs_all_its_literals() -> None:
    from guardian.scoring.prefilter import alternatives

    pattern = r"(?<!\w)(?:te\s+voy\s+a\s+(?:matar|pegar)|sé\s+dónde\s+vives|(?:\w+\s+)?x)"
    ways = alternatives(pattern)
    assert ways is None  # the last alternative needs nothing nameable
    ways = alternatives(r"(?<!\w)(?:nadie\s+(?:le|te)\s+(?:mate|pegue)|en\s+la\s+salida)")
    assert ways == (frozenset({frozenset({"nadie"}), frozenset({"mate", "pegue"})}),
                    frozenset({frozenset({"salida"})}))  # "en" is too short to tell
    index = LiteralIndex([r"(?:alguien\s+(?:le|te)\s+(?:mate|pegue)|a\s+la\s+salida)"])
    # "alguien" alone was enough before; now the harm verb must be there too.
    assert index.candidates("alguien me ha dicho que pase") == 0
    assert index.candidates("que alguien le pegue") == 1
    assert index.candidates("te espero a la salida") == 1


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from("aeiotvy 0134@$áéñç.,-!4"), max_size=40))
def test_plain_skips_only_what_cannot_change(text: str) -> None:
    from guardian.scoring import grammar

    def word(m: re.Match[str]) -> str:
        undone = m.group(0).translate(grammar._LEET)
        return undone if undone in grammar._FUNCTION_WORDS else m.group(0)

    expected = grammar._SHORT_LEET.sub(word, text.translate(grammar._ACCENTS))
    assert grammar.plain(text) == expected
