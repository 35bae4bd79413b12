"""Normalisation: each class of obfuscation on its own, the offset map, and no harm done to
ordinary Spanish and English text."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardian.scoring.normalise import CONFUSABLES, EMOJI, LEET, Normalised, normalise

ORDINARY = [
    "La farola de la calle Real 13 no funciona desde las 22:48",
    "I'd like to book the meeting room for 10 people",
    "¿Me dan cita con el médico el 3 de marzo?",
    "¡Qué bien! Mañana a las 9:30 en la Plaza Mayor, y luego al parque.",
    "Llamar al carro de la grúa para coordinar la cooperación",
    "We need to cooperate and coordinate; the committee meets at 7pm.",
    "Mi teléfono es +34 912 345 678 o el 600 12 34 56",
    "Escriba a vecinos@ayto-ejemplo.es o visite https://www.ayto-ejemplo.es/tramites?id=AAA123",
    "Gracias @ayto_ejemplo por arreglar el bache de la calle 13 en 2026",
    "The bins in Elm St. weren't collected on 3 March, ref. A-1234, covid19 rules",
    "Abrimos de 10am a 2pm; el 3er piso y el 1er sótano, DNI 12345678Z, NIE X1345770L",
    "Felipe III y Carlos III, siglo XXI",
    "Pues a mí me da igual: o vienes o no, y si no, me voy",
    "Elige A y B o C",
    "a y o",
    "Tel. 91-234-56-78, fax 91.234.56.79, a las 08:15 h.",
]


def identity(n: Normalised) -> bool:
    return all(n.original_span(i, i + 1) == (i, i + 1) for i in range(len(n.text)))


def masked_source(text: str, word: str, lang: str | None = None) -> str:
    """The part of the original text that the normalised `word` came from."""
    n = normalise(text, lang)
    start = n.text.index(word)
    a, b = n.original_span(start, start + len(word))
    return text[a:b]


# --- no harm ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_only_casefolded(text: str) -> None:
    n = normalise(text)
    assert n.text == text.casefold()
    assert n.original == text
    assert identity(n)


@pytest.mark.parametrize("text", ORDINARY)
@pytest.mark.parametrize("lang", ["es", "en", None])
def test_ordinary_text_is_the_same_in_any_language(text: str, lang: str | None) -> None:
    assert normalise(text, lang).text == text.casefold()


# --- NFKC ---------------------------------------------------------------------------------

def styled(word: str, upper: int, lower: int) -> str:
    """`word` in the letters of a block whose A and a are at `upper` and `lower`."""
    return "".join(chr((upper if c.isupper() else lower) + ord(c.lower()) - ord("a"))
                   for c in word)


@pytest.mark.parametrize("word", [
    styled("idiot", 0xFF21, 0xFF41),    # fullwidth
    styled("IDIOT", 0xFF21, 0xFF41),
    styled("idiot", 0x1D400, 0x1D41A),  # mathematical bold
    styled("IDIOT", 0x1D400, 0x1D41A),
    styled("idiot", 0x1D434, 0x1D44E),  # mathematical italic
    styled("idiot", 0x24B6, 0x24D0),    # circled
])
def test_nfkc_styled_letters(word: str) -> None:
    assert not word.isascii()
    n = normalise(f"eres un {word}")
    assert n.text == "eres un idiot"
    assert masked_source(f"eres un {word}", "idiot") == word


def test_nfkc_ligature_expands_and_maps_back() -> None:
    n = normalise("ﬁne")
    assert n.text == "fine"
    assert n.char_span(0) == n.char_span(1) == (0, 1)
    assert n.original_span(0, 2) == (0, 1)
    assert n.original_span(2, 4) == (1, 3)


def test_nfkc_composes_combining_accents() -> None:
    decomposed = "me\u0301dico"
    n = normalise(decomposed)
    assert n.text == "médico"
    assert n.original_span(1, 2) == (1, 3)  # é covers e and its accent


# --- invisible characters -----------------------------------------------------------------

@pytest.mark.parametrize("invisible", [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069",
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\r", "\ufe0f",
])
def test_invisible_characters_are_removed(invisible: str) -> None:
    text = f"idi{invisible}ota"
    n = normalise(text)
    assert n.text == "idiota"
    assert n.original_span(0, 6) == (0, 7)  # the mask covers the removed character
    assert masked_source(text, "idiota") == text


def test_newlines_and_tabs_stay() -> None:
    assert normalise("hola\n\tadiós").text == "hola\n\tadiós"


def test_removed_characters_at_the_ends_are_not_part_of_a_match() -> None:
    text = "\u200bidiota\u200b, vale"
    n = normalise(text)
    assert n.text == "idiota, vale"
    assert n.original_span(0, 6) == (1, 7)


# --- confusables --------------------------------------------------------------------------

# Built from escapes: on screen these are indistinguishable from Latin letters.
CYR_O, CYR_A, CYR_I = "\u043e", "\u0430", "\u0456"
GREEK_O, GREEK_I = "\u03bf", "\u03b9"
# "payaso" written entirely in Cyrillic look-alikes.
CYR_PAYASO = "\u0440\u0430\u0443\u0430\u0455\u043e"


def test_confusable_table_is_nfkc_stable_and_maps_to_ascii_letters() -> None:
    for look, latin in CONFUSABLES.items():
        assert unicodedata.normalize("NFKC", look) == look
        assert latin.isascii() and latin.isalpha() and len(latin) == 1


@pytest.mark.parametrize("word", [
    f"t{CYR_O}nt{CYR_O}", f"id{CYR_I}{CYR_O}t{CYR_A}", f"t{GREEK_O}nt{GREEK_O}",
    f"{GREEK_I}diota", "\u0405\u0422UPID",  # Cyrillic capital DZE, TE
])
def test_mixed_script_words_are_mapped(word: str) -> None:
    n = normalise(f"eres un {word}")
    assert n.text in ("eres un tonto", "eres un idiota", "eres un stupid")
    assert identity(n)  # one to one


def test_all_confusable_word_in_latin_text_is_mapped() -> None:
    assert normalise(f"eres un {CYR_PAYASO}").text == "eres un payaso"


def test_all_confusable_word_in_cyrillic_text_is_kept() -> None:
    russian = f"\u041e\u043d \u0441\u043a\u0430\u0437\u0430\u043b {CYR_PAYASO}"
    assert normalise(russian).text == russian.casefold()


def test_genuine_russian_and_greek_are_not_mangled() -> None:
    russian = "\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a \u0434\u0435\u043b\u0430?"
    greek = ("\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 "
             "\u03c3\u03b5 \u03cc\u03bb\u03bf\u03c5\u03c2")
    assert normalise(russian).text == russian.casefold()
    assert normalise(greek).text == unicodedata.normalize("NFKC", greek.casefold())


def test_russian_word_with_letters_outside_the_table_is_kept_in_spanish_text() -> None:
    dom = "\u0434\u043e\u043c"  # "house": de, o, em
    assert normalise(f"La palabra {dom} significa casa").text == f"la palabra {dom} significa casa"


# --- casefold -----------------------------------------------------------------------------

def test_casefold() -> None:
    assert normalise("ÉSTE ES UN IDIOTA").text == "éste es un idiota"


def test_casefold_expansion_maps_back() -> None:
    n = normalise("Straße")
    assert n.text == "strasse"
    assert n.char_span(4) == n.char_span(5) == (4, 5)
    assert n.original_span(0, 7) == (0, 6)


# --- separators ---------------------------------------------------------------------------

@pytest.mark.parametrize("spelled", [
    "i d i o t", "i.d.i.o.t", "i-d-i-o-t", "i_d_i_o_t", "i*d*i*o*t", "i. d. i. o. t",
    "i . d . i . o . t", "I D I O T", "i·d·i·o·t", "i/d/i/o/t", "i  d  i  o  t",
])
def test_separated_letters_are_joined(spelled: str) -> None:
    text = f"eres un {spelled}."
    n = normalise(text)
    assert n.text == "eres un idiot."
    assert masked_source(text, "idiot") == spelled


def test_three_letters_join_with_punctuation_not_with_spaces() -> None:
    assert normalise("t.o.n").text == "ton"
    assert normalise("t o n").text == "t o n"


def test_separated_letters_with_leet() -> None:
    assert normalise("1.d.1.o.t").text == "idiot"
    assert normalise("i d 1 o t").text == "idiot"


@pytest.mark.parametrize("text", [
    "a y o", "y o", "Elige A y B o C", "de 9 a.m. a 2 p.m.", "S.A. y S.L.", "1.2.3.4",
    "v 1 2 3", "mixed case I d I o T",
])
def test_separators_leave_words_and_numbers(text: str) -> None:
    assert normalise(text).text == text.casefold()


def test_separators_leave_links_and_addresses() -> None:
    for text in ("www.a.b.c.example.com", "a.b.c.d@example.com"):
        assert normalise(text).text == text


# --- leetspeak ----------------------------------------------------------------------------

@pytest.mark.parametrize(("leet", "plain"), [
    ("1d10t", "idiot"), ("t0nt0", "tonto"), ("5tup1d", "stupid"), ("l0s3r", "loser"),
    ("p@yaso", "payaso"), ("imb3c!l", "imbecil"), ("ca|le", "calle"), ("$tup1d", "stupid"),
    ("ID10T", "idiot"), ("idi07a", "idiota"), ("tont@s", "tontas"),
])
def test_leetspeak_inside_words(leet: str, plain: str) -> None:
    text = f"eres {leet}!"
    n = normalise(text)
    assert n.text == f"eres {plain}!"
    assert identity(n)


@pytest.mark.parametrize("text", [
    "covid19", "10am", "3er", "mp3", "2026", "calle 13", "22:48", "12345678Z", "X1345770L",
    "idiota!", "tonto@", "@l00ser", "user@example.com", "1diot", "idio7", "4x4", "h2o",
    "x0000y", "¡hola!", "2x1 en pizzas",
])
def test_leetspeak_leaves_numbers_codes_and_ends(text: str) -> None:
    assert normalise(text).text == text.casefold()


def test_leet_table_is_the_documented_one() -> None:
    assert set(LEET) == set("013457@$!|")


# --- stretched letters --------------------------------------------------------------------

@pytest.mark.parametrize(("stretched", "plain"), [
    ("idiooooot", "idiot"), ("tontoooo", "tonto"), ("IDIOOOOTA", "idiota"),
    ("holaaaa", "hola"), ("síííí", "sí"), ("stuuuupid", "stupid"),
])
def test_stretched_letters_collapse(stretched: str, plain: str) -> None:
    n = normalise(stretched)
    assert n.text == plain


def test_stretched_letters_map_back_to_the_whole_run() -> None:
    n = normalise("idiooooot")
    assert n.char_span(3) == (3, 8)
    assert n.original_span(0, 5) == (0, 9)


@pytest.mark.parametrize("text", [
    "tonto", "llamar", "carro", "coordinar", "cooperate", "too cool", "Felipe III",
    "Carlos XXIII", "www.aaa.example.com",
])
def test_doubles_and_roman_numerals_stay(text: str) -> None:
    assert normalise(text).text == text.casefold()


# --- emoji --------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "expected"), [
    ("es", "eres un cerdo"), ("es-ES", "eres un cerdo"), ("en", "eres un pig"),
    ("EN-gb", "eres un pig"), (None, "eres un cerdo pig"), ("fr", "eres un cerdo pig"),
])
def test_emoji_become_words_in_the_language(lang: str | None, expected: str) -> None:
    assert normalise("eres un 🐷", lang).text == expected


def test_emoji_are_padded_to_stand_alone() -> None:
    assert normalise("payaso🤡🤡!", "es").text == "payaso payaso payaso !"
    assert normalise("🐀\u200b🐀 rata", "es").text == "rata rata rata"


def test_emoji_words_map_back_to_the_emoji_with_its_modifiers() -> None:
    text = "toma 🖕🏽 y 🐷\ufe0f"
    assert masked_source(text, "peineta", "es") == "🖕🏽"
    assert masked_source(text, "cerdo", "es") == "🐷\ufe0f"


def test_other_emoji_stay() -> None:
    assert normalise("gracias 👍🏽😊", "es").text == "gracias 👍🏽😊"


def test_emoji_table_is_small_and_has_every_language() -> None:
    assert len(EMOJI) <= 16
    assert all(len(words) == 2 and all(words) for words in EMOJI.values())


# --- the offset map -----------------------------------------------------------------------

def test_combined_obfuscation_maps_back_to_the_original() -> None:
    text = "Eres un \uff49\u200bd\u0456ooooot, de verdad"  # fullwidth i, Cyrillic i
    n = normalise(text)
    assert n.text == "eres un idiot, de verdad"
    a, b = n.original_span(8, 13)
    assert text[a:b] == "\uff49\u200bd\u0456ooooot"
    assert text[b:] == ", de verdad"


def test_original_span_bounds_and_empty_spans() -> None:
    n = normalise("\u200bidi\u200bota\u200b")
    assert n.text == "idiota"
    assert n.original_span(0, 0) == (1, 1)
    assert n.original_span(6, 6) == (8, 8)
    with pytest.raises(ValueError, match="outside"):
        n.original_span(0, 7)
    with pytest.raises(ValueError, match="outside"):
        n.original_span(3, 2)
    with pytest.raises(IndexError):
        n.char_span(6)
    empty = normalise("")
    assert empty.text == "" and empty.original_span(0, 0) == (0, 0)
    gone = normalise("\u200b\u200b")
    assert gone.text == "" and gone.original_span(0, 0) == (0, 0)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([
    *"aeiouxyz AEIOU013457@$!|._-*~'\n\t", "\u200b", "\u00ad", "\u202e", "ß", "ﬁ", "é",
    "e\u0301", "\uff49", "\U0001d41d", "🐷", "🖕🏽", CYR_O, CYR_A, GREEK_O, "\u0434", "www.",
    "@", "http://", "º"]), max_size=40).map("".join))
def test_offset_map_is_monotonic_and_within_the_original(text: str) -> None:
    n = normalise(text)
    spans = [n.char_span(i) for i in range(len(n.text))]
    assert all(0 <= a <= b <= len(text) for a, b in spans)
    assert all(a1 <= a2 and b1 <= b2 for (a1, b1), (a2, b2) in itertools.pairwise(spans))
    if n.text:
        a, b = n.original_span(0, len(n.text))
        assert 0 <= a <= b <= len(text)
