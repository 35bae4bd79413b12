"""Addressed or literal: is a word aimed at a person, or does it name a thing?

"Sois unas ratas" insults; "hay ratas en el parque" reports. Words that insult only when
aimed at someone (the lexicons' `ambiguous` lists, and swear words) are looked at in their
place in the sentence. They are aimed at a person when:

- the sentence speaks to someone: "eres un…", "sois unos…", "vaya…", "so…", "pedazo
  de…", "you're a…", "you…", "what a…!";
- they follow a person named or mentioned: "@carmen_luz puta vaga", "el alcalde es un…",
  "el de la luz es un…", "the mayor is a…", "they're…";
- they stand alone as a call, at the start or the end of a sentence: "Inútil, arregla la
  farola", "arregla la farola, inútil", "Clown!";
- words after them say so: "qué inútil eres", "el inútil del alcalde".

They are not when they describe a noun after them ("la puta farola", "this useless form")
or nothing above applies ("hay ratas", "un cerdo suelto en la carretera").

Works on the plain text (`guardian.scoring.grammar.plain`: normalised, no accents). Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from guardian.scoring.grammar import plain


def _alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


_ES_ARTICLE = _alt("un", "una", "unos", "unas", "el", "la", "los", "las")
_ES_INTENSIFIER = _alt("puto", "puta", "putos", "putas", "jodido", "jodida", "jodidos",
                       "jodidas", "maldito", "maldita", "malditos", "malditas", "gran",
                       "grandisimo", "grandisima", "autentico", "autentica", "completo",
                       "completa", "total", "verdadero", "verdadera", "mas", "muy", "tan",
                       "menudo", "menuda", "pedazo de", "especie de", "tremendo",
                       "tremenda", "asqueroso", "asquerosa", "mierda de", "triste",
                       "pobre", "simple")
_EN_ARTICLE = _alt("a", "an", "the", "such a", "such an", "a total", "a complete",
                   "an absolute", "a fucking", "a bloody", "a useless", "a stupid",
                   "a lazy", "a dumb", "a filthy", "a dirty", "a little", "a big", "a fat")
_EN_INTENSIFIER = _alt("fucking", "bloody", "damn", "stupid", "useless", "lazy", "dumb",
                       "little", "total", "complete", "absolute", "utter", "pathetic",
                       "filthy", "dirty", "worthless", "incompetent", "so", "such", "really")

# A sentence that speaks to someone, just before the word: said to them ("eres un…",
# "you're a…": whatever follows is them), or exclaimed ("vaya…", "what a…": unless the
# word describes a noun after it, "what a useless form").
def _you(words: tuple[str, ...], article: str, intensifier: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])" + _alt(*words) + r"\s+(?:" + article + r"\s+)?(?:"
                      + intensifier + r"\s+){0,2}$")


_ES_YOU = _you(("eres", "sois", "seras", "sereis", "eras", "erais", "fuiste", "fuisteis",
                "pareces", "pareceis", r"estas\s+hech[oa]", r"estais\s+hech[oa]s",
                r"te\s+has\s+vuelto", r"os\s+habeis\s+vuelto", "tu", "vosotros", "vosotras",
                "usted", "ustedes", r"que\s+(?:eres|sois)", r"hijo\s+de", r"hija\s+de"),
               _ES_ARTICLE, _ES_INTENSIFIER)
_ES_EXCLAIM = _you(("vaya", "menudo", "menuda", "menudos", "menudas", "so", r"pedazo\s+de",
                    # a collective insult: "panda de vagos", "hatajo de inútiles"
                    r"panda\s+de", r"pandilla\s+de", r"hatajo\s+de", r"atajo\s+de",
                    r"banda\s+de", r"manada\s+de", r"pu[nñ]ado\s+de",
                    r"trozo\s+de", r"cacho\s+de", r"especie\s+de", "tio", "tia", "oye", "eh",
                    "vamos", "venga", r"(?:el|la|los|las)\s+muy", "y"),
                   _ES_ARTICLE, _ES_INTENSIFIER)
_EN_YOU = _you(("you", "u", "ya", "youre", "you're", r"you\s+are", "ur", r"u\s+r",
                r"you\s+were", r"you're\s+such", r"you\s+are\s+such", r"you\s+look\s+like",
                r"you\s+sound\s+like", r"you\s+guys\s+are", r"you\s+lot\s+are", r"you\s+lot",
                r"shut\s+up"), _EN_ARTICLE, _EN_INTENSIFIER)
_EN_EXCLAIM = _you(("what", r"what\s+an?", "hey", "oi", "and", r"bunch\s+of", r"load\s+of",
                    r"pack\s+of", r"shower\s+of", r"lot\s+of"), _EN_ARTICLE, _EN_INTENSIFIER)
# A person (named below from the policy: staff names and handles) said to be the word.
_ES_PERSON = _alt(
    "alcalde", "alcaldesa", "concejal", "concejala", "concejales", "policia", "policias",
    "poli", "polis", "municipal", "municipales", "guardia", "guardias", "electricista",
    "electricistas", "barrendero", "barrendera", "barrenderos", "funcionario", "funcionaria",
    "funcionarios", "funcionarias", "empleado", "empleada", "empleados", "trabajador",
    "trabajadora", "trabajadores", "tecnico", "tecnica", "tecnicos", "medico", "medica",
    "medicos", "enfermero", "enfermera", "recepcionista", "administrativo", "administrativa",
    "secretario", "secretaria", "personal", "gente", "ella", "ellos", "ellas",
    r"(?:el|la|los|las)\s+de(?:l)?(?:\s+\w+){1,3}", r"(?:ese|esa|este|esta|esos|esas|aquel)"
    r"\s+(?:tio|tia|senor|senora|tipo|tipa|individuo|chaval|chavala|hombre|mujer|"
    r"funcionari[oa]|policia|poli|electricista|barrender[oa]|concejal[a]?|alcalde(?:sa)?)",
    "vuestro jefe", "vuestra jefa", "tu jefe", "tu jefa", "el jefe", "la jefa", "quien sea",
    r"(?:el|la|los|las|ese|esa|este|esta)\s+" + _alt(
        "muchacha", "muchacho", "chica", "chico", "chaval", "chavala", "senor", "senora",
        "hombre", "mujer", "tio", "tia", "tipo", "tipa", "individuo", "pava", "pavo",
        "nina", "nino", "zagal", "zagala", "doctora", "doctor", "agente", "agentes",
        "conserje", "monitor", "monitora", "profesor", "profesora", "jefe", "jefa",
        "encargado", "encargada", "responsable", "responsables", "chicos", "chicas",
        "senoras", "senores"))
_EN_PERSON = _alt(
    "mayor", "councillor", "councilor", "councillors", "council", "officer", "officers", "cop",
    "cops", "police", "policeman", "policewoman", "electrician", "electricians", "cleaner",
    "cleaners", "staff", "employee", "employees", "worker", "workers", "clerk", "receptionist",
    "doctor", "nurse", "secretary", "guy", "lady", "woman", "man", "girl", "boss", "he", "she",
    "they", "whoever", r"the\s+one", "bloke", "fella", "chap", "lad", "lass", "bird",
    "receptionists", "inspector", "warden", "wardens", "manager", "supervisor",
    r"(?:the|that|this)\s+(?:guy|lady|woman|man|person|one)"
    r"(?:\s+\w+){0,3}", r"people\s+(?:at|in|from)\s+\w+(?:\s+\w+)?")
# "is an absolute…", "es un auténtico…", "más tonta que una mata de habas": said of
# a person whoever they are (a thing is not "an absolute cow").
_STRONG = re.compile(
    r"(?<!\w)" + _alt(
        r"(?:is|are|was|were|'s|'re)\s+(?:an?\s+)?(?:absolute|complete|total|utter|proper|"
        r"real|right|bloody|fucking|massive|such\s+an?)",
        r"(?:es|son|era|eran|fue|eres|sois)\s+(?:un|una|unos|unas)\s+(?:autentic[oa]s?|"
        r"verdader[oa]s?|complet[oa]s?|pedazo\s+de|menud[oa]s?|grandisim[oa]s?|"
        r"redomad[oa]s?|rematad[oa]s?)",
        r"(?:es|son|era|eran|eres|sois)\s+(?:mas|tan)") + r"\s+$")
_COMPARED = re.compile(r"^\s+(?:que|como)\s+(?:un|una|el|la|unos|unas)\s+\w+")
_ES_IS = _alt("es", "son", "era", "eran", "fue", "sera", "seran", "parece", "parecen",
              r"esta\s+hech[oa]", r"estan\s+hech[oa]s")
_EN_IS = _alt("is", "are", "was", "were", "'s", "'re", "s", "re", "seems", "seem",
              r"looks\s+like", r"look\s+like", r"acts\s+like", r"is\s+such", r"are\s+such")
_ES_AFTER = re.compile(
    r"^\s*" + _alt("eres", "sois", r"que\s+eres", r"que\s+sois", r"de\s+mierda",
                   r"del?\s+(?:alcalde|alcaldesa|concejal|concejala|policia|poli|"
                   r"funcionario|funcionaria|electricista|barrendero|ayuntamiento|turno|"
                   r"los\s+cojones|las\s+narices)", r"de\s+@\w+", "estas", "estais")
    + r"(?!\w)")
_EN_AFTER = re.compile(
    r"^\s*" + _alt(r"you\s+are", "you're", "you", r"of\s+a\s+(?:mayor|man|woman|person|"
                   r"councillor|cop|officer)", r"mayor", r"councillor") + r"(?!\w)")
# Where a sentence starts or ends (a call: "Inútil, arregla…", "…la farola, inútil").
_CLAUSE_START = re.compile(
    r"(?:^|[.!?¡¿:;\n]|,)\s*(?:(?:y|so|oye|eh|hey|oi|and|you|tu|pero|but)\s+)?(?:"
    + _alt(_ES_INTENSIFIER, _EN_INTENSIFIER) + r"\s+){0,2}$")
_CLAUSE_END = re.compile(r"^\s*(?:[,.!?¡¿:;)\n]|$|[^\w\s]+\s*$)")
# Articles and demonstratives: "la puta farola" describes the lamp.
_DESCRIBES = re.compile(
    r"(?<!\w)(?:el|la|los|las|un|una|unos|unas|este|esta|estos|estas|ese|esa|esos|esas|"
    r"aquel|aquella|mi|tu|su|vaya\s+\w+|the|this|that|these|those|a|an|my|your|their|his|"
    r"her|our|its)\s+(?:\w+\s+)?$")
_STOP_AFTER = re.compile(
    r"^\s+(?:y|e|o|u|que|de|del|con|sin|en|a|al|por|para|como|and|or|who|that|of|in|at|"
    r"for|with|to|is|are|es|son)(?!\w)")
_NEXT_WORD = re.compile(r"^\s+[^\W\d_]{2,}")
# "… de servicio", "… of a town": the word is said of a thing; of a person it is aimed.
_OF_THING = re.compile(r"^\s+(?:de|del|of)\s+(?!mierda\b)")
# "los vagos de la limpieza", "the clowns at the council": a service is its people.
_SERVICE_AFTER = re.compile(
    r"^\s+(?:de|del|de\s+la|de\s+los|at|in|from|of)\s+(?:the\s+)?" + _alt(
        "limpieza", "ayuntamiento", "ayto", "policia", "jardineria", "alcaldia", "oficina",
        "citas", "salas", "mantenimiento", "obras", "urbanismo", "concejalia", "centro de salud",
        "ambulatorio", "municipal", "recaudacion", "registro", "servicios sociales",
        "alumbrado", "council", "town hall", "city hall", "office", "health centre",
        "bookings", "appointments", "police", "parks department") + r"(?!\w)")
_THINGS = frozenset({"basura", "mierda", "rubbish", "trash", "garbage", "crap", "shit",
                     "cutre", "lamentable", "patetico", "pathetic", "mediocre"})
_PERSON_AFTER = re.compile(
    r"^\s+(?:de|del|of)\s+(?:(?:un|una|el|la|a|an|the)\s+)?(?:@\w+|" + _alt(
        "alcalde", "alcaldesa", "concejal", "concejala", "policia", "poli", "funcionario",
        "funcionaria", "electricista", "barrendero", "barrendera", "medico", "medica",
        "hombre", "mujer", "tio", "tia", "persona", "jefe", "jefa", "mayor", "man", "woman",
        "person", "councillor", "cop", "officer", "mierda", "puta", "madre") + r")(?!\w)")


@functools.lru_cache(maxsize=64)
def _people(protected: tuple[str, ...]) -> str:
    """The staff names and handles of the policy, as a pattern (or a never-matching one)."""
    names = sorted({plain(p) for p in protected if p}, key=len, reverse=True)
    return _alt(*(re.escape(n) for n in names)) if names else r"(?!x)x"


@functools.lru_cache(maxsize=64)
def _third_person(lang: str, protected: tuple[str, ...]) -> re.Pattern[str]:
    person = _alt(r"@\w+", _people(protected),
                  _ES_PERSON if lang == "es" else _EN_PERSON)
    if lang == "es":
        return re.compile(r"(?<!\w)" + person + r"(?:\s+\w+){0,4}?\s+" + _ES_IS
                          + r"\s+(?:" + _ES_ARTICLE + r"\s+)?(?:" + _ES_INTENSIFIER
                          + r"\s+){0,2}$")
    return re.compile(r"(?<!\w)" + person + r"(?:\s+\w+){0,4}?\s*" + _EN_IS
                      + r"\s+(?:" + _EN_ARTICLE + r"\s+)?(?:" + _EN_INTENSIFIER
                      + r"\s+){0,2}$")


@functools.lru_cache(maxsize=64)
def _named(protected: tuple[str, ...]) -> re.Pattern[str]:
    """A mention or a staff member's name just before (a word or two between)."""
    return re.compile(r"(?:@\w+|(?<!\w)" + _people(protected) + r")[\s,:]*(?:[\w']+[\s,]+){0,2}$")


def aimed_at_person(text: str, start: int, end: int, lang: str,
                    protected: Sequence[str] = (), *, swear: bool = False) -> bool:
    """Whether the word at `text[start:end]` (plain text) is aimed at a person. A swear
    word standing alone is an exclamation ("¡Joder!"), not a call (`swear`)."""
    before = text[max(0, start - 80):start]
    after = text[end:end + 40]
    key = tuple(protected)
    if (_ES_YOU if lang == "es" else _EN_YOU).search(before):
        return True  # "eres un inútil mate", "you useless idiot"
    word = text[start:end]
    if _STRONG.search(before) and (word not in _THINGS or _COMPARED.match(after)):
        return True  # "is an absolute cow", "es más tonta que una mata de habas"
    if word not in _THINGS and _SERVICE_AFTER.match(after):
        return True  # "los vagos de la limpieza"
    if _DESCRIBES.search(before) and _NEXT_WORD.match(after) and not _STOP_AFTER.match(after):
        return False  # "la puta farola", "this useless form": it describes a thing
    thing = _OF_THING.match(after)
    if thing and not _PERSON_AFTER.match(after):
        return False  # "mierda de servicio", "la basura de la calle"
    exclaim = _ES_EXCLAIM if lang == "es" else _EN_EXCLAIM
    later = _ES_AFTER if lang == "es" else _EN_AFTER
    return bool(exclaim.search(before) or _named(key).search(before)
                or _third_person(lang, key).search(before) or later.match(after)
                or (not swear and _CLAUSE_START.search(before)
                    and _CLAUSE_END.match(after)))
