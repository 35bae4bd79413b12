"""Is anything left to act on once the abuse is masked?

An abusive message that also asks for something ("Sois unos [insulto], la basura lleva
días sin recoger") reaches staff masked: the request is theirs. One that asks for nothing
("@ana eres una [insulto]") would only tell its target that someone abused them; it goes to
the moderators alone (docs/decisions.md, "Abuse without a request").

What is left is a request when the masked text still matches a routing rule of the policy
(a keyword, hashtag or pattern of a category: "farola", "#limpieza") or keeps at least
`MIN_CONTENT_WORDS` words that are not placeholders, mentions, links or the small words
that frame an insult ("eres", "una", "you", "are", "so"…). Pure; Spanish and English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardian.decide.classify import DEFAULT_CATEGORY, Router, category_of
from guardian.decide.text import fold

# The masking's placeholders are bracketed words in the message's language: "[insulto]",
# "[amenaza]", "[insult]", "[mensaje ofensivo retenido…]".
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,80}\]")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[a-zñ]+(?:'[a-z]+)?|\d+")
MIN_CONTENT_WORDS = 3

# Words that frame an insult but ask for nothing: articles, pronouns, forms of "to be",
# prepositions, conjunctions, intensifiers, greetings and interjections (folded, without
# accents). A word of a request ("arregla", "semanas", "respuesta") is not here.
_FRAME = frozenset([
    "a", "al", "algo", "alguien", "ante", "aqui", "asi", "aun", "bien", "como", "con",
    "contigo", "cual", "cuan", "cuando", "de", "del", "desde", "donde", "e", "el", "ella",
    "ellas", "ellos", "en", "entre", "era", "eran", "eres", "es", "esa", "esas", "ese",
    "eso", "esos", "esta", "estais", "estan", "estas", "este", "esto", "estos", "estoy",
    "fue", "fuiste", "ha", "habeis", "han", "has", "hay", "he", "la", "las", "le", "les",
    "lo", "los", "me", "mas", "mi", "mis", "muy", "nada", "ni", "no", "nos", "nosotros",
    "o", "os", "otra", "otro", "para", "pero", "poco", "por", "porque", "pues", "que",
    "quien", "se", "sea", "ser", "si", "sin", "so", "sobre", "sois", "somos", "son", "soy",
    "su", "sus", "tal", "tambien", "tan", "tanto", "te", "ti", "tio", "tia", "toda",
    "todas", "todo", "todos", "tu", "tus", "u", "un", "una", "unas", "uno", "unos",
    "usted", "ustedes", "vaya", "vosotros", "y", "ya", "yo", "menudo", "menuda", "menudos",
    "menudas", "pedazo", "pedazos", "jaja", "jajaja", "hola", "buenas", "buenos", "ey",
    "eh", "oye", "oiga", "mira", "bueno", "vamos", "venga", "anda", "hala", "ahi", "alla",
    "i", "im", "i'm", "an", "the", "and", "or", "but", "such", "you", "your", "youre",
    "you're", "ur", "are", "is", "am", "was", "were", "be", "been", "being", "it", "its",
    "it's", "this", "that", "these", "those", "she", "they", "them", "his", "her", "their",
    "we", "us", "our", "my", "mine", "of", "to", "in", "on", "at", "for", "with", "by",
    "from", "as", "than", "then", "what", "how", "who", "whom", "why", "very", "really",
    "just", "totally", "absolute", "absolutely", "complete", "completely", "total",
    "utter", "bloody", "fucking", "damn", "hey", "hi", "hello", "oh", "ok", "okay", "lol",
    "yeah", "yes", "not", "dont", "don't", "do", "does", "did",
])


@dataclass(frozen=True, slots=True)
class RequestLeft:
    found: bool
    why: str


def request_left(masked_text: str, router: Router, lang: str | None, *,
                 routed: bool = True) -> RequestLeft:
    """Whether the masked text still asks for something, and why (for the reasons).
    `routed` false: no routing rule matched the whole text, so none can match the masked
    one (the rules are not tried again)."""
    text = _URL.sub(" ", _MENTION.sub(" ", _PLACEHOLDER.sub(" ", masked_text)))
    folded = fold(text)
    # Words first (cheap); the routing rules only for what is left short.
    content = [w for w in _WORD.findall(folded) if w not in _FRAME and len(w) > 1]
    if len(content) >= MIN_CONTENT_WORDS:
        return RequestLeft(True, f"the masked text keeps {len(content)} words of a "
                                 "request")
    category, why = (category_of(router, text, folded, lang, set()) if routed
                     else (DEFAULT_CATEGORY, None))
    if category != DEFAULT_CATEGORY and why is not None:
        return RequestLeft(True, f"the masked text still asks for something: {why}")
    kept = f" ({len(content)} word{'s' if len(content) != 1 else ''})" if content else ""
    return RequestLeft(False, f"once masked, nothing is left to act on{kept}")
