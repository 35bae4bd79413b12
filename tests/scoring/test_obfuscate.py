"""Obfuscation: deterministic for a seed, and undone by normalise for every transform."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.scoring.normalise import normalise
from guardian.scoring.obfuscate import TRANSFORMS, obfuscate

SENTENCE = ("Eres un idiota y un payaso, el alcalde es un inútil; escribe a "
            "quejas@ayto-ejemplo.es o mira https://ayto-ejemplo.es/idiotas @concejala_luz")

words = st.text(alphabet=string.ascii_letters, min_size=4, max_size=14)
seeds = st.integers(min_value=0, max_value=2**32)


def test_same_seed_same_output() -> None:
    assert obfuscate(SENTENCE, seed=7) == obfuscate(SENTENCE, seed=7)
    assert obfuscate(SENTENCE, seed=7, rate=0.9) == obfuscate(SENTENCE, seed=7, rate=0.9)


def test_different_seeds_differ() -> None:
    outputs = {obfuscate(SENTENCE, seed=seed) for seed in range(10)}
    assert len(outputs) > 5


def test_rate_zero_changes_nothing_and_rate_one_every_word() -> None:
    assert obfuscate(SENTENCE, seed=1, rate=0.0) == SENTENCE
    out = obfuscate("idiota payaso tonto stupid", seed=1, rate=1.0)
    assert not {"idiota", "payaso", "tonto", "stupid"} & set(out.split())


def test_rate_is_about_the_share_of_words() -> None:
    text = " ".join(["palabra"] * 400)
    # Separators with spaces split a word in several: count the words left as they were.
    unchanged = obfuscate(text, seed=3, rate=0.25).split(" ").count("palabra")
    assert 250 < unchanged < 350


def test_short_words_links_addresses_and_mentions_are_left_alone() -> None:
    for seed in range(20):
        out = obfuscate(SENTENCE, seed=seed, rate=1.0)
        assert " un " in out and " y " in out and " es " in out
        assert "quejas@ayto-ejemplo.es" in out
        assert "https://ayto-ejemplo.es/idiotas" in out
        assert out.endswith("@concejala_luz")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rate"):
        obfuscate("hola", seed=1, rate=1.5)
    with pytest.raises(ValueError, match="transforms"):
        obfuscate("hola", seed=1, transforms=["rot13"])
    with pytest.raises(ValueError, match="transforms"):
        obfuscate("hola", seed=1, transforms=[])


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_each_transform_changes_words(transform: str) -> None:
    outs = {obfuscate("idiota Stupid", seed=seed, rate=1.0, transforms=[transform])
            for seed in range(10)}
    assert "idiota Stupid" not in outs
    assert len(outs) > 1


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_each_transform_is_undone_in_the_sentence(transform: str) -> None:
    for seed in range(50):
        out = obfuscate(SENTENCE, seed=seed, rate=1.0, transforms=[transform])
        assert normalise(out).text == normalise(SENTENCE).text, out


@pytest.mark.parametrize("transform", TRANSFORMS)
@settings(max_examples=300, deadline=None)
@given(word=words, seed=seeds)
def test_round_trip_single_word(transform: str, word: str, seed: int) -> None:
    out = obfuscate(word, seed=seed, rate=1.0, transforms=[transform])
    assert normalise(out).text == normalise(word).text


@settings(max_examples=300, deadline=None)
@given(word=words, seed=seeds)
def test_round_trip_single_word_any_transform(word: str, seed: int) -> None:
    out = obfuscate(word, seed=seed, rate=1.0)
    assert out != word  # something always applies (zero-width characters do)
    assert normalise(out).text == normalise(word).text


@settings(max_examples=300, deadline=None)
@given(sentence=st.lists(st.text(alphabet=string.ascii_letters, min_size=1, max_size=10),
                         min_size=1, max_size=8).map(" ".join),
       seed=seeds, rate=st.floats(min_value=0.0, max_value=1.0))
def test_round_trip_running_text(sentence: str, seed: int, rate: float) -> None:
    out = obfuscate(sentence, seed=seed, rate=rate)
    assert normalise(out).text == normalise(sentence).text
