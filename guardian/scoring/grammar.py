"""Threats, incitement, sexual harassment and attacks on groups, as a small grammar.

A word list misses "te voy a esperar a la salida": no word in it is violent. So the rules
here are built from parts of speech: who is aimed at (object pronouns: te, os, le...;
you, him...), how the act is put (periphrastic and synthetic futures, the present used as
a future, conditionals, wishes, imperatives and calls on others), and what is done (harm
verbs and their complements, lying in wait, stalking, the family, property and public
buildings, veiled formulas). Each rule is an ordinary `Rule` (an id, a level, the labels it
raises, a description for the reasons), so a policy can replace one by its id.

The patterns run on the *plain* text: the normalised text (casefolded, obfuscation undone)
with its accents taken off one character for one (`plain`), so offsets do not move and
"sé dónde vives", "se donde vives" and "s3 d0nde v1ves" are the same to them. Pure.
"""

from __future__ import annotations

import functools
import re

from guardian.policy.harassment import Rule

# One character for one: offsets in the plain text are offsets in the normalised text.
_ACCENTS = str.maketrans("áéíóúàèìòùäëïöüâêîôûñç", "aeiouaeiouaeiouaeiounc")
# Short words written with digits that normalisation keeps (it changes digits only inside
# longer words): "t3 v0y 4 m4t4r" is "te voy a matar" to the grammar.
_LEET = str.maketrans("013457@$", "oieastas")
# A short word with a digit and a letter ("t3", "v0y", "p0r"), or "4" alone ("a"); numbers
# stay numbers.
_SHORT_LEET = re.compile(r"(?<![\w@])(?:(?=[a-z0-9@$]*[a-z])(?=[a-z]{0,3}[0-9@$])[a-z0-9@$]{2,4}"
                         r"|4)(?![\w])")
_MAY_LEET = re.compile(r"[0-9@$]")
_FUNCTION_WORDS = frozenset({
    "te", "voy", "a", "por", "ti", "me", "mi", "tu", "se", "lo", "la", "le", "de", "que",
    "ya", "os", "les", "el", "y", "o", "al", "van", "vas", "va", "i", "you", "u", "will",
    "ill", "im", "to", "at", "for", "is", "are", "the", "go"})

# Runs of characters outside ASCII: translating only those costs a third of translating
# the whole text (`str.translate` looks every character up in the table).
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _unaccent(run: re.Match[str]) -> str:
    return run.group().translate(_ACCENTS)


@functools.lru_cache(maxsize=4096)
def plain(text: str) -> str:
    """The normalised text without accents and with a few leet-spelled short words
    undone, one character for one, so offsets are unchanged. Remembered for the last
    few thousand texts: the rules, the signal model and the assessor each want the plain
    form of the same normalised text."""
    if not text.isascii():  # accents are not ASCII
        text = _NON_ASCII.sub(_unaccent, text)
    if _MAY_LEET.search(text) is None:  # what `_SHORT_LEET` needs
        return text

    def word(m: re.Match[str]) -> str:
        undone = m.group(0).translate(_LEET)
        return undone if undone in _FUNCTION_WORDS else m.group(0)

    return _SHORT_LEET.sub(word, text)


def _alt(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


_B = r"(?<![\w@])"          # a word starts here (not inside a word or a @mention)
_E = r"(?![\w])"            # a word ends here
_SP = r"[\s,]+"             # between words
_OPT_WORDS = r"(?:[\w']+\s+){0,3}"  # up to three words in between

# --- Spanish -----------------------------------------------------------------------------

ES_OBJ = _alt("te", "os", "le", "les", "la", "las", "lo", "los")
ES_ENCLITIC = _alt("te", "os", "le", "les", "la", "las", "lo", "los")
# "voy a", "vamos a", "van a", "iremos a" (the periphrastic future), also "ir a".
ES_GOING = _alt("voy", "vamos", "van", "va", "vais", "iremos", "ire", "ira", "iran",
                "tengo que", "tenemos que", "hay que", "habria que", "deberia",
                "deberiamos", "deberian", "pienso", "quiero", "queremos") + r"\s+(?:a\s*)?"
# What is done to a person: infinitives and their fixed complements.
_ES_BODY = _alt("la cara", "las piernas", "la boca", "los dientes", "el cuello",
                "la crisma", "la cabeza", "el alma", "los morros", "las costillas")
ES_HARM_INF = _alt(
    "matar", "asesinar", "rajar", "apunalar", "acuchillar", "pinchar", "disparar",
    "pegar", "golpear", "reventar", "quemar", "ahorcar", "colgar", "estrangular",
    "ahogar", "degollar", "descuartizar", "hostiar", "apalear", "machacar", "liquidar",
    "cargar", "eliminar", "enterrar", "violar", "secuestrar", "atropellar", "torturar",
    "partir" + r"\s+" + _ES_BODY, "romper" + r"\s+" + _ES_BODY,
    "arrancar" + r"\s+" + _ES_BODY, "destrozar", "hundir", "joder vivo", "joder viva",
    r"dar\s+" + _alt("una paliza", "de hostias", "de palos", "un tiro", "una hostia",
                     "un navajazo", "matarile", "un escarmiento", "una leccion",
                     "su merecido"),
    r"hacer\s+" + _alt("dano", "pupa", "la vida imposible", "desaparecer"),
    r"arruinar\s+la\s+vida", r"mandar\s+al\s+" + _alt("hospital", "otro barrio",
                                                         "cementerio"),
    r"meter\s+" + _alt("un tiro", "una bala", "una paliza", "una hostia", "fuego"),
    r"pegar\s+" + _alt("un tiro", "fuego", "una paliza"),
)
# The same verbs as a synthetic future, first person ("te matare", "os quemaremos").
ES_HARM_FUT = _alt(
    "matare", "mataremos", "asesinare", "rajare", "rajaremos", "apunalare", "pinchare",
    "disparare", "pegare", "pegaremos", "reventare", "reventaremos",
    "quemare", "quemaremos", "ahorcare", "colgare", "estrangulare", "hostiare",
    "machacare", "liquidare", "cargare", "enterrare", "violare", "atropellare",
    "destrozare", "hundire", "partire" + r"\s+" + _ES_BODY,
    "rompere" + r"\s+" + _ES_BODY, "arrancare" + r"\s+" + _ES_BODY,
    r"dare\s+" + _alt("una paliza", "de hostias", "un tiro", "una hostia"),
    r"hare\s+" + _alt("dano", "la vida imposible", "desaparecer"),
    r"(?:metere|meteremos)\s+" + _alt("un tiro", "una paliza", "una hostia"),
    r"(?:dare|daremos)\s+" + _alt("lo suyo", "su merecido", "una leccion"),
)
# Harm with the object pronoun after the verb ("matarte", "darte una paliza").
ES_HARM_ENC = _alt(
    _alt("matar", "asesinar", "rajar", "apunalar", "acuchillar", "pinchar", "reventar",
         "quemar", "ahorcar", "colgar", "estrangular", "degollar", "hostiar", "apalear",
         "machacar", "liquidar", "cargar", "eliminar", "enterrar", "violar", "secuestrar",
         "atropellar", "torturar", "destrozar", "hundir", "golpear", "disparar", "pegar")
    + _alt("te", "os", "le", "les", "la", "las", "lo", "los") + r"(?!\w)",
    _alt("partir", "romper", "arrancar") + _alt("te", "os", "le", "les") + r"\s+" + _ES_BODY,
    _alt("dar", "pegar", "meter") + _alt("te", "os", "le", "les") + r"\s+"
    + _alt("una paliza", "de hostias", "de palos", "un tiro", "una hostia", "un navajazo",
           "un escarmiento", "una leccion", "su merecido", "fuego"),
    "hacer" + _alt("te", "os", "le", "les") + r"\s+" + _alt("dano", "pupa",
                                                             "la vida imposible"),
    r"arruinar" + _alt("te", "os", "le", "les") + r"\s+la\s+vida",
)
# The present for the future, first person ("te mato", "te parto la cara").
ES_HARM_PRES = _alt(
    "mato", "matamos", "rajo", "rajamos", "apunalo", "pincho", "reviento", "revientamos",
    "quemo", "quemamos", "ahorco", "cuelgo", "estrangulo", "hostio", "machaco",
    "destrozo", "hundo", "parto" + r"\s+" + _ES_BODY, "rompo" + r"\s+" + _ES_BODY,
    "arranco" + r"\s+" + _ES_BODY, r"pego\s+" + _alt("un tiro", "una paliza", "fuego"),
    r"(?:doy|damos)\s+" + _alt("una paliza", "de hostias", "un tiro", "una hostia",
                                "lo suyo", "su merecido", "una leccion", "un escarmiento"),
    r"meto\s+" + _alt("un tiro", "una paliza", "una hostia"),
)
# Where and when someone lies in wait for a person (not "fuera" or "en la puerta": a
# citizen waits for the electrician there).
ES_AMBUSH = _alt(
    "a la salida", "en tu puerta", "en tu portal", "en tu casa", "a la vuelta",
    r"cuando\s+" + _alt("salgas", "salgais", "acabes", "termines", "vuelvas a casa",
                        "llegues a casa", "estes sola", "estes solo", "menos te lo esperes",
                        "salgas del trabajo", "salgas de trabajar"),
    r"al\s+" + _alt("salir", "salir del trabajo", "salir de trabajar", "volver a casa"),
    r"despues\s+del\s+trabajo", r"de\s+noche", "en un callejon", "en tu coche",
    "donde aparcas", "en el parking", "en el aparcamiento",
)
ES_AMBUSH_ANY = _alt(ES_AMBUSH, "fuera", "en la calle", "por la calle", "solo", "sola")
ES_WAIT = _alt("esperar", "espero", "esperamos", "esperare", "esperaremos",
               r"estar\s+esperando(?:te|os)?", "esperandote", "esperandoos",
               r"estare\s+esperando", r"estaremos\s+esperando", r"estoy\s+esperando",
               "veo", "vere", "veremos", "ver")
ES_CATCH = _alt("pillar", "pillo", "pillare", "pillaremos", "cazar", "cazo", "cazare",
                "coger", "cogere", "trincar", "trincare")
ES_PERSON_PLACES = _alt("vives", "vive", "vivis", "viven", "trabajas", "trabaja",
                        "aparcas", "aparca", "duermes", "sales", "entras", "paras",
                        "vas al gimnasio", "haces la compra", "paseas",
                        r"vive\s+tu\s+" + _alt("familia", "madre", "mujer", "novia"),
                        r"viven\s+tus\s+" + _alt("hijos", "padres"),
                        r"(?:van|estudian)\s+tus\s+" + _alt("hijos", "hijas", "ninos",
                                                             "crios") + r"(?:\s+al\s+\w+)?",
                        r"va\s+tu\s+" + _alt("hijo", "hija") + r"(?:\s+al\s+\w+)?")
ES_FAMILY = _alt("familia", "hijos", "hija", "hijo", "hijas", "mujer", "marido", "novia",
                 "novio", "madre", "padre", "madres", "crios", "ninos", "nenes", "pareja",
                 "esposa", "esposo", "padres", "hermana", "hermano", "nietos", "gente")
# Public buildings with any determiner; a person's things only with a possessive ("tu
# coche", not "la casa vieja que van a tirar").
ES_PUBLIC = _alt("ayuntamiento", "consistorio", "comisaria", "centro de salud", "biblioteca",
                 "ambulatorio", "polideportivo", "cuartel", "sede", "oficina", "oficinas",
                 "edificio", "pueblo")
ES_PRIVATE = _alt("casa", "coche", "moto", "furgoneta", "negocio", "tienda", "local",
                  "despacho", "piso", "chalet", "bar")
ES_POSS = _alt("tu", "tus", "vuestro", "vuestra", "vuestros", "su")
ES_DESTROY_INF = _alt("quemar", "incendiar", "volar", "reventar", "destrozar", "arrasar",
                      r"prender\s+fuego\s+a", r"pegar\s+fuego\s+a", r"meter\s+fuego\s+a",
                      r"poner\s+una\s+bomba\s+en", "apedrear", "quemaros", "quemarte")
ES_DESTROY_FUT = _alt("quemare", "quemaremos", "incendiare", "incendiaremos", "volare",
                      "volaremos", "reventare", "reventaremos", "destrozare", "arrasare",
                      r"(?:pegare|pegaremos|prendere|prenderemos)\s+fuego\s+a",
                      r"(?:pondre|pondremos)\s+una\s+bomba\s+en")
ES_DET = _alt("el", "la", "los", "las", "tu", "tus", "vuestro", "vuestra", "vuestros",
              "su", "este", "esta", "ese", "esa", "al", "del")
ES_BUILDING = _alt(ES_DET + r"\s+(?:\w+\s+)?" + ES_PUBLIC,
                   ES_POSS + r"\s+(?:\w+\s+)?" + ES_PRIVATE)
# The third-person harm others are called on to do ("que alguien le mate").
ES_HARM_SUBJ = _alt("mate", "maten", "matara", "mataran", "pegue", "peguen", "pegara",
                    "pegaran", "reviente", "revienten", "raje", "rajen", "queme", "quemen",
                    "dispare", "disparen", "atropelle", "atropellen", "cuelgue", "cuelguen",
                    "ahorque", "ahorquen", "linche", "linchen", "apunale", "apunalen",
                    "parta" + r"\s+" + _ES_BODY, "partan" + r"\s+" + _ES_BODY,
                    r"(?:de|den|diera|dieran)\s+" + _alt("una paliza", "un tiro",
                                                         "de hostias", "su merecido",
                                                         "un escarmiento", "una leccion"),
                    r"(?:da|dan)\s+(?:una\s+)?(?:buena\s+)?" + _alt("paliza", "hostia",
                                                                    "somanta", "leccion",
                                                                    "escarmiento"),
                    "palmes", "palme", "palmen", "palmeis", "dines", "dine", "diñes",
                    r"(?:de|den|diera)\s+(?:una\s+)?buena\s+paliza",
                    r"(?:pase|pasara)\s+algo(?!\s+(?:bueno|bonito))", "muera", "mueras",
                    "muerais", "mueran",
                    r"(?:de|diera)\s+un\s+infarto", "pudra", "pudras", "pudran")
# Where a person ends up: a coffin, the hospital, the ground.
ES_DOOM = _alt(
    r"(?:en\s+)?una\s+caja\s+de\s+pino", r"en\s+(?:el|un)\s+ataud", r"en\s+el\s+hospital",
    r"en\s+la\s+uci", r"en\s+urgencias", r"en\s+(?:una\s+)?silla\s+de\s+ruedas",
    r"bajo\s+tierra", r"en\s+el\s+suelo", r"sin\s+dientes", r"con\s+los\s+pies\s+por\s+delante",
    r"criando\s+malvas", r"en\s+el\s+tanatorio", r"en\s+la\s+morgue", "muerto", "muerta",
    r"en\s+coma", r"en\s+una\s+cuneta", r"en\s+el\s+rio", r"en\s+el\s+cementerio",
    r"tieso", r"tiesa")
ES_THIRD = _alt("le", "la", "lo", "les", "los", "las", "te", "os", "se")

# --- English -----------------------------------------------------------------------------

EN_YOU = _alt("you", "u", "ya", "yall", "y'all", "him", "her", "them", "you all")
EN_WILL = _alt("i'll", "ill", "we'll", r"i\s+will", r"we\s+will", r"i\s+shall",
               r"i'm\s+going\s+to", r"im\s+going\s+to", r"i\s+am\s+going\s+to",
               r"we're\s+going\s+to", r"we\s+are\s+going\s+to", r"i'm\s+gonna",
               r"im\s+gonna", r"i\s+am\s+gonna", r"we're\s+gonna", r"we\s+gonna",
               r"i\s+gonna", "imma", "ima", "i'mma", r"i\s+want\s+to", r"i\s+wanna",
               r"i'd\s+love\s+to", r"i\s+could", r"i\s+will\s+personally")
EN_HARM = _alt("kill", "murder", "stab", "shoot", "hurt", r"beat(?:\s+up)?", "punch",
               "strangle", "choke", "burn", "end", "destroy", "slap", "smack", "strangle",
               "hang", "lynch", "rape", "torture", "bury", "slaughter", "butcher",
               r"run\s+over", r"beat\s+the\s+\w+\s+out\s+of", "cut", "gut", "knife",
               r"mess\s+up", r"f\w*ck\s+up", r"put\s+a\s+bullet\s+in",
               r"break\s+your\s+" + _alt("legs", "neck", "face", "nose", "jaw", "arms"),
               r"smash\s+your\s+" + _alt("face", "head", "teeth"),
               r"slit\s+your\s+throat", r"make\s+you\s+" + _alt("pay", "suffer", "bleed",
                                                                  "disappear"))
EN_AMBUSH = _alt("outside", r"after\s+work", r"after\s+your\s+shift",
                 r"when\s+you\s+" + _alt("leave", "get off", "finish", "come out",
                                         "go home", "least expect it", "are alone",
                                         "walk to your car", "get home"),
                 r"in\s+the\s+" + _alt("parking lot", "car park", "street", "alley"),
                 r"at\s+your\s+" + _alt("house", "home", "car", "door", "place", "office"),
                 r"by\s+your\s+" + _alt("car", "house", "door"), r"on\s+your\s+way\s+home",
                 r"at\s+the\s+exit", "tonight")
# Where lying in wait is aimed at the person (their exit, their way home, their house).
EN_AMBUSH_YOURS = _alt(
    r"when\s+you\s+" + _alt("leave", "get off", "finish", "come out", "go home",
                             "least expect it", "are alone", "walk to your car", "get home"),
    r"after\s+your\s+shift", r"when\s+your\s+shift\s+(?:ends|is\s+over|finishes)",
    r"at\s+your\s+" + _alt("house", "home", "car", "door", "place"),
    r"by\s+your\s+" + _alt("car", "house", "door"), r"on\s+your\s+way\s+home")
# Where a person ends up.
EN_DOOM = _alt(r"in\s+a\s+body\s+bag", r"in\s+a\s+(?:coffin|box|casket)",
               r"in\s+(?:the\s+)?hospital", r"in\s+(?:a\s+)?wheelchair", r"in\s+the\s+ground",
               r"six\s+feet\s+under", r"in\s+the\s+morgue", r"in\s+intensive\s+care",
               r"in\s+a\s+ditch", r"in\s+an\s+ambulance", r"on\s+a\s+stretcher",
               r"with\s+no\s+teeth", r"feet\s+first", "dead")
EN_FAMILY = _alt("family", "kids", "children", "child", "wife", "husband", "daughter",
                 "son", "mother", "mom", "mum", "dad", "father", "parents", "partner",
                 "girlfriend", "boyfriend", "sister", "brother", "loved ones")
EN_BUILDING = _alt(r"town\s+hall", r"city\s+hall", "office", "house", "home", "car",
                   "building", r"police\s+station", "station", "council", "library",
                   r"health\s+center", r"health\s+centre", "clinic", "school", "shop",
                   "town", "van", "offices")
EN_DESTROY = _alt(r"burn(?:\s+down)?", r"blow\s+up", "torch", "bomb", "smash", "wreck",
                  "trash", r"set\s+fire\s+to", r"set\s+on\s+fire", "firebomb", "vandalize",
                  "vandalise", "destroy", r"shoot\s+up")
EN_DET = _alt("the", "your", "this", "that", "their", "his", "her", "our")


def _es_rules() -> list[Rule]:
    not_negated = r"(?<!no )(?<!ni )"
    return [
        Rule(id="es.threat.kill", lang="es", level="threat", raise_labels={"threat": 0.95},
             description="a threat to kill or hurt",
             pattern=(_B + _alt(
                 # te voy a matar / os vamos a partir la cara / te quiero matar (not "se le va
                 # a rajar la oreja": the thing tears)
                 r"(?<!se )" + ES_OBJ + r"\s+" + ES_GOING + ES_HARM_INF,
                 # voy a matarte / vamos a partirte la cara / voy a darte una paliza
                 ES_GOING + ES_HARM_ENC,
                 # te matare / os quemaremos
                 ES_OBJ + r"\s+" + ES_HARM_FUT,
                 # te mato / te parto la cara (the present for the future; "lo mató", past, has
                 # lost its accent in the plain text, so only you: te, os)
                 _alt("te", "os") + r"\s+" + ES_HARM_PRES,
                 # al de la limpieza lo reviento: third persons only with verbs whose past
                 # does not read the same without its accent ("lo mató" is news)
                 _alt("lo", "la", "le", "les", "los", "las") + r"\s+" + _alt(
                     "reviento", "revientamos", "parto" + r"\s+" + _ES_BODY,
                     "rompo" + r"\s+" + _ES_BODY, "arranco" + r"\s+" + _ES_BODY,
                     r"(?:doy|damos)\s+" + _alt("una paliza", "de hostias", "un tiro",
                                                "una hostia", "lo suyo", "su merecido"),
                     r"(?:meto|metemos)\s+" + _alt("un tiro", "una paliza", "una hostia"),
                     "cuelgo", "hundo", r"pego\s+un\s+tiro"),
                 # acabaras en una caja de pino / vas a terminar en el hospital
                 r"(?:tu\s+|vosotros\s+)?" + _alt(
                     "acabas", "acabaras", "terminas", "terminaras", "vas a acabar",
                     "vas a terminar", "acabareis", "vais a acabar", "vas a salir",
                     "saldras", "vas a ir", "iras") + r"\s+" + ES_DOOM,
                 r"(?:estas|estais|ya\s+estas)\s+" + _alt(
                     "muerto", "muerta", "muertos", "sentenciado", "sentenciada",
                     "sentenciados", r"acabad[oa]s?(?=\s*[,.!]|\s*$)", "frito", "frita",
                     "fiambre"),
                 r"(?:te|os)\s+(?:lo|la|los|las)\s+" + _alt(
                     "meto", "tiro", "estampo", "reviento", "echo", "lanzo", "meteremos",
                     "tiramos", "estampare", "tirare") + r"\s+" + _alt(
                     r"(?:por|x)\s+la\s+ventana", r"en\s+la\s+cabeza", r"en\s+la\s+cara",
                     r"(?:por|x)\s+(?:la\s+)?cabeza", r"en\s+(?:tu\s+)?casa"),
             ) + _E)),
        Rule(id="es.threat.wait", lang="es", level="threat", raise_labels={"threat": 0.9},
             description="lying in wait for a person",
             pattern=(_B + _alt(
                 # te voy a esperar a la salida / te espero cuando salgas
                 ES_OBJ + r"\s+(?:" + ES_GOING + r")?" + ES_WAIT + r"\s+"
                 + r"(?:[\w']+\s+){0,5}" + ES_AMBUSH,
                 # a la salida te espero / cuando salgas del trabajo te estoy esperando
                 ES_AMBUSH + r"[\s,]+(?:[\w']+\s+){0,5}?(?:ya\s+)?" + ES_OBJ + r"\s+(?:"
                 + ES_GOING + r")?" + _alt(ES_WAIT, ES_CATCH),
                 # voy a esperarte a la salida
                 ES_GOING + _alt("esperar", "ver") + ES_ENCLITIC + r"\s+" + _OPT_WORDS
                 + ES_AMBUSH,
                 # te voy a pillar (fuera) / ya te pillare / te cazare
                 r"(?:ya\s+)?" + ES_OBJ + r"\s+(?:" + ES_GOING + r")?" + ES_CATCH
                 + r"(?:\s+" + _OPT_WORDS + ES_AMBUSH_ANY + r")?",
                 ES_GOING + _alt("pillar", "cazar", "coger", "trincar") + ES_ENCLITIC,
                 # nos vemos a la salida
                 r"nos\s+vemos\s+" + _OPT_WORDS + ES_AMBUSH,
                 # voy a estar esperandote / alli estare esperandote
                 r"(?:voy\s+a\s+estar|estare|estaremos|vamos\s+a\s+estar)\s+(?:[\w']+\s+)?"
                 + _alt("esperandote", "esperandoos", r"esperando(?:te|os)?\s+" + ES_AMBUSH),
                 # a ver si eres tan valiente cuando estemos solos / cuando acabe tu turno
                 r"a\s+ver\s+si\s+(?:eres|sois)\s+tan\s+" + _alt("valiente", "valientes",
                                                                  "chulo", "chula", "gallito",
                                                                  "listo", "lista"),
                 r"cuando\s+" + _alt("acabe", "termine", r"salgas\s+de") + r"\s+(?:tu|el|la)\s+"
                 + _alt("turno", "jornada", "trabajo", "guardia") + r"(?:\s+[\w']+){0,4}?\s+"
                 + _alt("solos", "solas", "solo", "sola", r"te\s+espero", r"te\s+pillo",
                        r"nos\s+vemos", "hablamos", r"ya\s+veras"),
                 # vamos a por ti / iremos a por ti / voy a ir a por ti
                 _alt("voy", "vamos", "iremos", "ire", "van", "iran", r"voy\s+a\s+ir",
                      r"vamos\s+a\s+ir") + r"\s+a\s+por\s+" + _alt("ti", "vosotros",
                                                                    "vosotras"),
                 # te encontrare (donde estes)
                 r"(?:ya\s+)?" + ES_OBJ + r"\s+" + _alt("encontrare", "encontraremos"),
             ) + _E)),
        Rule(id="es.threat.where-you-live", lang="es", level="threat",
             raise_labels={"threat": 0.9},
             description="says they know where a person lives, works or goes, or watch them",
             pattern=(_B + not_negated + _alt(
                 r"(?:ya\s+)?" + _alt("se", "sabemos", "conozco", "conocemos", "averigue",
                                      "averiguamos", "he averiguado")
                 + r"\s+" + _alt("donde", "a que hora", "cuando", "por donde",
                                 "en que calle", "en que portal", "a que colegio",
                                 "a que cole") + r"\s+" + ES_PERSON_PLACES,
                 r"(?:ya\s+)?" + _alt("se", "sabemos", "conozco", "conocemos") + r"\s+"
                 + _alt(r"cual\s+es\s+tu", "tu") + r"\s+"
                 + _alt("casa", "portal", "coche", "direccion", "piso", "matricula"),
                 ES_OBJ + r"\s+" + _alt("estoy", "estamos", "tengo", "tenemos", "he",
                                        "hemos") + r"\s+"
                 + _alt("vigilando", "siguiendo", "observando", "fichado", "fichada",
                        "fichados", "controlado", "controlada", "localizado", "localizada",
                        "seguido", r"visto\s+salir", r"visto\s+entrar")
                 # "te sigo en instagram" is a fan's
                 + r"(?!\s+(?:en|desde|durante|por)\b)",
                 # te vi salir de casa / te vimos entrar en tu portal
                 ES_OBJ + r"\s+" + _alt("vi", "vimos", "he visto", "hemos visto", "veo",
                                        "seguimos", "segui") + r"\s+(?:[\w']+\s+){0,3}?"
                 + _alt("salir", "entrar", "llegar", "aparcar", "volver") + r"\s+"
                 + _alt("de", "a", "en", "del", "al") + r"\s+(?:tu\s+)?"
                 + _alt("casa", "portal", "coche", "trabajo", "piso", "garaje", "gimnasio"),
                 # lo tengo fichado / tu coche lo tengo controlado
                 r"(?:lo|la|los|las|te|os)\s+(?:tengo|tenemos)\s+" + _alt(
                     "fichado", "fichada", "fichados", "fichao", "fichaos", "controlado",
                     "controlada", "localizado", "localizada", "vigilado", "vigilada",
                     "calado", "calada", "visto"),
                 # a las 3 sales por la puerta de atras (I know your routine)
                 r"a\s+las\s+\d{1,2}(?:[:.]\d{2})?\s+(?:sales|entras|llegas|aparcas|paseas)\s+"
                 r"(?:por|de|en|a)\b",
                 # que bonito portal tienes / que coche llevas
                 r"(?:y\s+)?(?:que|vaya)\s+(?:\w+\s+)?" + _alt(
                     "portal", "casa", "coche", "piso", "chalet", "familia", "hijos",
                     "ninos", "moto") + r"\s+" + _alt("tienes", "llevas", "teneis"),
             ) + _E)),
        Rule(id="es.threat.family", lang="es", level="threat", raise_labels={"threat": 0.9},
             description="a threat to a person's family",
             pattern=(_B + _alt(
                 _alt("tu", "tus", "vuestra", "vuestros", "vuestras") + r"\s+" + ES_FAMILY
                 + r"\s+" + _OPT_WORDS + _alt(
                     r"(?:lo\s+|la\s+|los\s+)?(?:va|van|vais)\s+a\s+" + _alt(
                         "pagar", "pagarlo", "pagarla", "sufrir", "llorar", "arrepentirse",
                         "enterarse", "caer", "lamentar", r"acordarse", "pasarlo mal"),
                     r"(?:lo|la|las)\s+(?:pagara|pagaran)",
                     r"no\s+(?:esta|estan|estara|estaran)\s+(?:segur[oa]s?|a\s+salvo|"
                     r"tranquil[oa]s?)",
                     r"(?:puede|pueden|podria|podrian)\s+(?:sufrir|tener\s+un\s+accidente)",
                     r"(?:se\s+)?(?:va|van)\s+a\s+enterar"),
                 r"(?:a\s+)?" + _alt("tu", "tus", "vuestra", "vuestros") + r"\s+" + ES_FAMILY
                 + r"\s+" + _alt("le", "les") + r"\s+" + _alt("puede", "pueden", "va",
                                                              "van", "podria")
                 + r"\s+(?:a\s+)?pasar\s+algo",
                 _alt("voy", "vamos", "iremos", "ire") + r"\s+(?:a\s+ir\s+)?a\s+por\s+"
                 + _alt("tu", "tus", "vuestra", "vuestros") + r"\s+" + ES_FAMILY,
                 r"(?:que\s+|q\s+)?" + _alt("tu", "tus", "vuestra", "vuestros") + r"\s+" + ES_FAMILY
                 + r"\s+" + _alt("no salga", "no salgan", "no vaya", "no vayan",
                                  "anda", "andan", "sale", "salen", "va", "van", "vuelve",
                                  "vuelven", "camina", "caminan", "siguen", "sigue",
                                  "duerme", "duermen") + r"\s+" + _alt(
                     "sola", "solo", "solos", "solas", r"(?:al|a\s+la|a|en|por)\s+\w+"),
                 r"(?:ten\s+|tened\s+)?cuidado\s+con\s+" + _alt("tu", "tus", "vuestra",
                                                                  "vuestros") + r"\s+"
                 + ES_FAMILY,
                 _alt("tu", "tus", "vuestra", "vuestros") + r"\s+" + ES_FAMILY + r"\s+"
                 + _alt("vive", "viven", "trabaja", "trabajan", "aparca", "estudia",
                        "estudian", "va al", "van al", "sale", "salen")
                 + r"\s+(?:en|por|a)\s+\w+",
                 r"(?:a\s+)?" + _alt("tu", "tus") + r"\s+" + ES_FAMILY + r"\s+"
                 + r"(?:tambien\s+)?" + _alt("le", "les", "la", "lo", "los", "las")
                 + r"\s+" + _alt(ES_HARM_FUT, ES_HARM_PRES, ES_GOING + ES_HARM_INF),
             ) + _E)),
        Rule(id="es.threat.property", lang="es", level="threat",
             raise_labels={"threat": 0.9},
             description="a threat to burn or destroy a building or property",
             pattern=(_B + _alt(
                 ES_GOING + r"(?:le\s+|les\s+)?" + ES_DESTROY_INF + r"\s+" + ES_BUILDING,
                 ES_GOING + r"(?:le\s+|les\s+)?" + _alt(r"prender\s+fuego", r"pegar\s+fuego",
                                                      r"meter\s+fuego")
                 + r"\s+(?:a\s+)?" + ES_BUILDING,
                 ES_DESTROY_FUT + r"\s+" + ES_BUILDING,
                 r"(?:le\s+|les\s+)?" + _alt(r"prendo\s+fuego", r"pego\s+fuego",
                                              r"meto\s+fuego", "quemo", "reviento",
                                              r"prendemos\s+fuego", r"pegamos\s+fuego",
                                              "quemamos", "volamos", "vuelo")
                 + r"\s+(?:a\s+|(?=al\s))?" + ES_BUILDING,
                 r"(?:ese|esa|tu|vuestro|vuestra)\s+(?:\w+\s+){0,3}?" + ES_PRIVATE
                 + r"(?:\s+\w+){0,8}?\s+"
                 + _alt("amanecera", "aparecera", "va a aparecer", "va a amanecer",
                        "acabara", "va a acabar", "se va a quedar", "se quedara")
                 + r"\s+" + _alt(r"sin\s+(?:ruedas|cristales|lunas|retrovisores|puertas)",
                                  "quemad[oa]", "calcinad[oa]", "ardiendo", r"en\s+llamas",
                                  "destrozad[oa]", "reventad[oa]", r"hech[oa]\s+polvo"),
                 _alt(r"salta(?:ra|n|ran)?", r"vuela(?:ra|n|ran)?", r"volara(?:n)?")
                 + r"\s+por\s+los\s+aires",
                 _alt("traigo", "llevo", "voy con", "ire con", "traere", "llevare",
                      "vamos con") + r"\s+(?:una\s+|un\s+)?" + _alt(
                     r"lata\s+de\s+gasolina", "gasolina", r"bidon(?:\s+de\s+gasolina)?",
                     "mechero", r"coctel\s+molotov", "molotov", "explosivos", "una bomba",
                     r"garrafa\s+de\s+gasolina"),
                 r"(?:a\s+)?" + ES_POSS + r"\s+" + ES_PRIVATE + r"\s+(?:le|les)\s+"
                 + _alt(r"va\s+a", "puede", "podria", r"vaya\s+a") + r"\s+pasar\s+\w+",
                 _alt("pondre", "pondremos", r"voy\s+a\s+poner", r"vamos\s+a\s+poner",
                      r"van\s+a\s+poner", "ponemos", "pongo", "dejare", "dejaremos",
                      r"he\s+puesto", r"hemos\s+puesto", r"han\s+puesto")
                 + r"\s+una\s+" + _alt("bomba", "bomba casera", "explosivo"),
                 r"hay\s+una\s+bomba",
                 r"(?:ojala|que)\s+" + _alt("arda", "ardan", "explote", "exploten", "vuele",
                                            "vuelen", r"se\s+queme", r"se\s+quemen")
                 + r"\s+" + ES_BUILDING,
                 ES_GOING + _alt("quemarlo", "quemarla", "volarlo", "volarla",
                                 "incendiarlo", "incendiarla") + r"\s+todo",
             ) + _E)),
        Rule(id="es.threat.incite", lang="es", level="threat", raise_labels={"threat": 0.9},
             description="a call on others to hurt someone, or a wish for their death",
             pattern=(_B + _alt(
                 r"(?<!de )(?:que\s+|a\s+ver\s+si\s+|ojala\s+|ojala\s+que\s+)?"
                 + _alt("alguien", "algun vecino", "alguno", "la gente", "los vecinos")
                 + r"\s+" + ES_THIRD + r"\s+" + ES_HARM_SUBJ,
                 r"(?<!de )(?<!despues )" + _alt("ojala", r"ojala\s+que", r"a\s+ver\s+si", "que")
                 + r"\s+" + ES_THIRD + r"\s+" + ES_HARM_SUBJ,
                 _alt("hay que", "habria que", "deberian", "deberiamos", "teneis que",
                      "tendrian que", "tendriais que") + r"\s+"
                 + _alt(ES_HARM_ENC, "fusilarlo", "fusilarla", "fusilarlos", "lincharlo",
                        "lincharla", "lincharlos"),
                 _alt("vamos", "vayamos", "id", "venid", "quedamos", "juntemonos")
                 + r"\s+(?:[\w']+\s+){0,6}?a\s+" + ES_HARM_ENC,
                 r"a\s+por\s+" + _alt("el", "ella") + r"(?=\s*[,.!:;]|\s*$)",
                 r"(?:todos|todas|vecinos)\s+(?:[\w']+\s+){0,5}?a\s+por\s+(?:el|ella|@\w+)"
                 r"(?=[\s,.!]|$)",
                 r"que\s+(?:se\s+)?" + _alt("lleve", "lleven", "coma", "coman", "lleva")
                 + r"\s+(?:una\s+|un\s+)?(?:buena\s+|buen\s+)?" + _alt(
                     "hostia", "ostia", "paliza", "leche", "somanta", "tunda", "escarmiento",
                     "guantazo", "bofetada", "punetazo", "patada", "navajazo"),
                 r"(?:esperemos|esperad|esperadle|esperadla|pillad|pillemos)\s+(?:[\w']+\s+)"
                 r"{0,5}?(?:y\s+)?(?:le|la|les)\s+" + _alt(ES_HARM_PRES, ES_HARM_FUT,
                                                         r"damos\s+\w+"),
                 _alt("matadlo", "matadla", "matadle", "matadles", "matadlos", "quemadlo",
                      "quemadla", "pegadle", "reventadle", "reventadlo", "colgadlo",
                      "colgadla", "ahorcadlo", "linchadlo", "linchadla", "rajadle",
                      r"id\s+a\s+por\s+" + _alt("el", "ella", "ellos", "ellas")),
                 _alt("merece", "merecen", "mereces", "mereceis", "se merece",
                      "se merecen", "te mereces", "os mereceis") + r"\s+"
                 + _alt("morir", "la muerte", "un tiro", "una paliza", "la horca",
                        "estar muerto", "estar muerta",
                        r"que\s+" + ES_THIRD + r"\s+" + _alt(
                            "maten", "peguen", "quemen", "revienten", "cuelguen", "linchen",
                            r"partan\s+" + _ES_BODY, r"den\s+una\s+paliza")),
             ) + _E)),
        Rule(id="es.threat.veiled", lang="es", level="threat", raise_labels={"threat": 0.8},
             description="a veiled threat or an intimidation",
             pattern=(_B + _alt(
                 r"ya\s+(?:veras|vereis)\s+" + _alt(
                     "lo que te pasa", "lo que os pasa", "lo que te espera",
                     "lo que os espera", "como acabas", "como acabais", "lo que es bueno",
                     "cuando salgas", "a la salida", "lo que te hago", "lo que os hago",
                     r"lo\s+que\s+(?:te|os)\s+va\s+a\s+pasar", "de lo que soy capaz",
                     "de lo que somos capaces"),
                 _alt("o", "si no", "sino", "que si no", "porque si no", "o si no")
                 + r"\s+ya\s+(?:veras|vereis)",
                 r"(?<=[,.!] )ya\s+(?:veras|vereis)(?=\s*[.!]*\s*$)",
                 r"(?<!no )(?:te|os)\s+(?:vas|vais)\s+a\s+" + _alt(
                     "arrepentir", "enterar", r"acordar\s+de\s+(?:mi|nosotros)", "cagar",
                     r"llevar\s+(?:una\s+sorpresa|un\s+susto)"),
                 r"(?<!no )" + _alt("te arrepentiras", "os arrepentireis", "te acordaras de mi",
                      "me las vas a pagar", "me la vas a pagar", "nos las vas a pagar",
                      "nos la vas a pagar", "me las pagaras", "me la pagaras",
                      "lo vas a pagar caro", "lo vais a pagar caro", "lo pagaras caro",
                      "vas a acabar mal", "vais a acabar mal", "acabaras mal",
                      "te la vas a cargar", "os la vais a cargar",
                      "tus dias estan contados", "tienes los dias contados",
                      "te estas buscando un problema", "te estas buscando problemas",
                      "te la estas jugando", "vas a ver lo que es bueno",
                      "te voy a hacer la vida imposible", "no vas a salir de esta"),
                 r"no\s+sabes\s+con\s+quien\s+te\s+" + _alt("metes", "estas metiendo",
                                                            "has metido", "la juegas",
                                                            "estas jugando"),
                 r"(?:te|os|le)\s+" + _alt("puede", "podria", r"va\s+a", r"vaya\s+a")
                 + r"\s+(?:a\s+)?pasar\s+algo(?:\s+malo)?(?!\s+(?:bueno|bonito))",
                 _alt(r"seria\s+una\s+pena", r"es\s+una\s+pena", r"que\s+pena\s+seria",
                      r"seria\s+una\s+lastima") + r"\s+que\s+(?:te|os|le)\s+"
                 + _alt("pasara", "pasase", "ocurriera", "ocurriese") + r"\s+algo",
                 r"cuidado\s+con\s+lo\s+que\s+" + _alt("haces", "dices", "escribes"),
                 r"ten\s+cuidado\s+" + _alt(r"cuando\s+salgas", r"al\s+salir",
                                            r"cuando\s+vuelvas", r"por\s+la\s+noche",
                                            r"de\s+noche", "por donde vas",
                                            r"con\s+quien\s+te\s+metes", "a la salida"),
                 _alt(r"mas\s+te\s+vale", r"mejor\s+que") + r"\s+" + _alt(
                     "tengas cuidado", "no salgas", "no vuelvas", "te andes con cuidado",
                     "mires por donde vas", "no te vea", "no te encuentre",
                     "no te pille", "duermas con un ojo abierto"),
                 r"como\s+te\s+" + _alt("vea", "pille", "encuentre", "coja") + r"\s+"
                 + _alt("por la calle", "solo", "sola", "fuera", "a la salida",
                        "por aqui", "por el pueblo"),
                 _alt("cuidadin", "cuidadito") + r"(?=\s*[.!]*\s*$|\s+con\s+lo\s+que)",
                 r"(?:las\s+cosas|esto|todo)\s+se\s+(?:puede|pueden|podria|podrian|va\s+a|van\s+a)"
                 r"\s+(?:torcer|poner\s+(?:muy\s+)?feo|complicar)\s+(?:mucho\s+)?"
                 r"(?:pa|para|contigo|con\s+vosotros)\b",
                 r"(?:yo|nosotros|aqui)\s+no\s+" + _alt("olvido", "olvidamos", "perdono",
                                                        "perdonamos", "se olvida nada"),
                 r"acuerdate\s+de\s+" + _alt("esta cara", "mi", "nosotros", "mi nombre",
                                              "mi cara"),
                 r"(?:cualquiera|alguien)\s+(?:podria|puede|pudiera)\s+" + _alt(
                     r"tener\s+un\s+accidente", r"hacerte\s+dano", r"hacerle\s+dano",
                     r"tropezar", r"caerse"),
                 r"(?:te|os|le)\s+(?:puede|podria|va\s+a)\s+(?:dar|tener)\s+un\s+"
                 r"(?:disgusto|accidente|susto)",
                 r"(?:tu|vosotros)\s+segui[dr]?\s+asi\s+(?:y|que|q)\b",
                 r"cuando\s+salgas\s+" + _alt(r"(?:ya\s+)?veras", r"vas\s+a\s+ver",
                                              r"te\s+enteras", r"hablamos"),
             ) + _E)),
        Rule(id="es.sexual.harassment", lang="es", level="abusive",
             raise_labels={"sexual_explicit": 0.9}, description="sexual harassment",
             pattern=(_B + _alt(
                 r"(?:que|q|lo)\s+" + _alt("buena", "buenorra", "maciza", "tremenda",
                                           "cachonda", "rica", "follable")
                 + r"\s+(?:que\s+)?estas",
                 r"estas\s+(?:muy\s+|mas\s+|bien\s+|tan\s+)?" + _alt(
                     "buena", "buenorra", "buenisima", "maciza", "tremenda", "cachonda",
                     "follable", "para follarte", "para comerte"),
                 r"(?:menuda|vaya|que)\s+" + _alt("buenorra", "maciza", r"tia\s+buena"),
                 r"te\s+" + _alt("follaria", "follaba", "empotraria", "empotraba",
                                 "chuparia", "violaria", "follo", "empotro")
                 + r"(?:\s+\w+){0,2}",
                 r"te\s+(?:la|lo)\s+" + _alt("meteria", "metia", "meto", "clavaria",
                                             "chuparia", "comeria"),
                 _alt("quiero", "me gustaria", "voy a", "vamos a", "te voy a", "pienso",
                      "me encantaria")
                 + r"\s+" + _alt("follarte", "tocarte", "chuparte", "empotrarte",
                                 "violarte", "metertela", "desnudarte", "verte desnuda",
                                 "verte desnudo", "verte en bolas", "tocarte el culo",
                                 "tocarte las tetas", "follar contigo", "acostarme contigo",
                                 "comerte entera", "comerte entero", "comerte el"),
                 _alt("chupamela", r"chupame\s+la", "mamamela", "comemela", r"comeme\s+la",
                      r"sientate\s+en\s+mi\s+cara", r"sientate\s+encima\s+de\s+mi"),
                 _alt(r"ense(?:ñ|n)ame", r"ense(?:ñ|n)anos", "muestrame", "mandame",
                      "enviame", "pasame") + r"\s+"
                 + _alt("las tetas", "tus tetas", "el culo", "tu culo", "las bragas",
                        "el tanga", "el coño", "las domingas",
                        r"(?:una\s+)?fotos?\s+(?:tuyas?\s+)?"
                        + _alt("desnuda", "desnudo", "en bolas", "en tanga", "sin ropa",
                               "guarras", "en ropa interior", "en bikini", "en pelotas"),
                        r"nudes", r"fotos\s+guarras"),
                 r"(?:vaya|menudo|menudas|que)\s+" + _alt("culo", "culazo", "tetas",
                                                          "tetazas", "polvo", "pechos",
                                                          "melones", "pechotes")
                 + r"(?:\s+(?:tienes|que\s+tienes|tiene|te\s+echaba))?",
                 r"quiero\s+verte\s+" + _alt("desnuda", "desnudo", "en bolas", "sin ropa",
                                              "sin nada", "en ropa interior"),
                 r"(?:verte|quitate|quitaos|foto|fotos|fotito)\s+(?:[\w']+\s+){0,2}?"
                 + _alt(r"sin\s+(?:ropa|uniforme|bragas|sujetador|nada\s+puesto)",
                        r"en\s+(?:bolas|pelotas|ropa\s+interior|tanga)"),
                 r"me\s+" + _alt("pones", "pone", "poneis") + r"\s+" + _alt(
                     "mucho", "cachondo", "cachonda", "burro", "a cien", "malo", "mala",
                     "caliente", "a mil", "tontorron"),
                 _alt("esposame", "esposadme", "cacheame", "cachearme", "registrame",
                      r"ponme\s+las\s+esposas"),
                 r"te\s+(?:daba|daria|pegaba|echaba|echaria|hacia|haria)\s+(?:yo\s+)?un\s+"
                 r"(?:buen\s+|par\s+de\s+)?" + _alt("repaso", "repasos", "polvo",
                                                       "polvos", "meneo", "revolcon",
                                                       "favor"),
                 _alt("ven", "vente", "vienes", r"te\s+vienes", "venid", "vamonos")
                 + r"\s+(?:conmigo\s+)?(?:a|en)\s+(?:la|mi)\s+cama",
                 r"(?:tiene|tienes)\s+(?:unas|un|buen|buenas|menudo|menudas|vaya)\s+"
                 + _alt("tetas", "culo", "culazo", "pechos", "melones", "tetazas"),
                 r"(?:revision|revisar|chequeo|masaje|reconocimiento)\s+(?:[\w']+\s+){0,3}?"
                 r"en\s+privado",
                 r"(?:arreglarme|revisarme|mirarme|repararme|atenderme)\s+otra\s+cosa",
                 r"(?:con\s+)?(?:ese|esa|esos|esas|vaya|menudo|menuda|que)\s+" + _alt(
                     "culito", "culo", "culazo", "tetas", "tetitas", "pechos", "piernazas",
                     "boquita", "cuerpazo", "trasero") + r"(?!\s+de\b)",
                 r"(?:tu|tus)\s+" + _alt("culito", "culazo", "tetas", "tetitas", "pechos",
                                         "piernazas", "boquita"),
                 r"(?:la|lo|te)\s+" + _alt("esposaba", "esposaria", "ataba", "ataria")
                 + r"\s+(?:yo\s+)?(?:a\s+)?(?:en\s+)?(?:mi|la)\s+cama",
                 r"(?:yo\s+)?te\s+(?:ense(?:ñ|n)o|ense(?:ñ|n)are)\s+(?:el|mi|la)\s+" + _alt(
                     "cableado", "instalacion", "herramienta", "manguera", "aparato", "pepino",
                     "cosa"),
             ) + _E)),
        Rule(id="es.identity.attack", lang="es", level="abusive",
             raise_labels={"identity_attack": 0.85},
             description="an attack on people for who they are",
             pattern=(_B + _alt(
                 ES_GROUP + r"\s+de\s+mierda",
                 _alt("putos", "putas", "puto", "puta", "jodidos", "jodidas", "malditos",
                      "malditas", "asquerosos", "asquerosas", "sucios", "sucias") + r"\s+"
                 + ES_GROUP,
                 _alt("fuera", "echad a", "echar a", "a la calle", "que se vayan",
                      "deportad a", "expulsad a", "muerte a", "a la hoguera",
                      "al paredon")
                 + r"\s+(?:todos\s+|todas\s+)?(?:a\s+)?(?:los\s+|las\s+|estos\s+|estas\s+)?"
                 + ES_GROUP,
                 r"(?:todos\s+|todas\s+)?(?:los\s+|las\s+|estos\s+|estas\s+)" + ES_GROUP
                 + r"\s+(?:son|sois|seran|sereis|no\s+son\s+mas\s+que)\s+(?:unos\s+|unas\s+|"
                 r"todos\s+|una\s+)?" + _alt("ladrones", "delincuentes", "basura", "escoria",
                                             "ratas", "parasitos", "cerdos", "violadores",
                                             "animales", "plaga", "lo peor", "terroristas",
                                             "vagos", "sucios", "enfermos", "inferiores",
                                             "lacra", "chusma", "gentuza", "mierda",
                                             "subnormales", "retrasados"),
                 r"(?:vuelve|vete|volved|idos|largate|largaos|vuelvete|volveos|que\s+se\s+"
                 r"vayan|que\s+se\s+vuelvan|que\s+vuelvan)\s+a\s+(?:tu|vuestro|su)\s+"
                 + _alt("pais", "tierra", "pueblo de mierda", "casa"),
                 r"(?:por\s+ser|porque\s+eres|como\s+eres|eres)\s+(?:un\s+|una\s+)?"
                 + _alt("mujer", "moro", "mora", "gitano", "gitana", "negro", "negra",
                        "marica", "maricon", "gay", "lesbiana", "trans", "inmigrante",
                        "extranjero", "extranjera", "sudaca", "judio", "judia",
                        "musulman", "musulmana") + r"[\s,]+"
                 + _alt("no vales", "no sirves", "no tienes derecho", "no deberias",
                        "de mierda", "no mereces", "deberias callarte", r"a\s+la\s+cocina",
                        "vete a fregar", "a fregar", "no puedes", "no sabes"),
                 r"(?:las\s+)?mujeres\s+(?:a\s+la\s+cocina|a\s+fregar|no\s+deberian|"
                 r"no\s+sirven|no\s+valen)",
                 r"vete\s+a\s+fregar(?:\s+platos)?", r"a\s+fregar\s+platos",
                 # a group said to be unable, or criminal: "moros q no saben ni hablar"
                 ES_GROUP + r"\s+(?:que|q)\s+no\s+(?:saben|sabeis|pueden|sirven)\b",
                 ES_GROUP + r"\s+" + _alt("robando", "roban", "que roban", "q roban",
                                           "delinquiendo", "traficando", "okupando",
                                           "viviendo del cuento", "vagueando"),
                 r"(?:las\s+)?mujeres\s+no\s+(?:valeis|valen|servis|sirven|sabeis|saben|deberian)"
                 r"\s+(?:pa|para)\b",
                 _alt("echadlos", "echadlas", "echarlos", "echarlas", "sacadlos",
                      "expulsadlos", "fuera con ellos") + r"\s+(?:a\s+todos\s+)?(?:del|de\s+la)\s+"
                 + _alt("pueblo", "barrio", "calle", "pais", "espana", "ciudad"),
                 r"(?:a\s+la|vete\s+a\s+la|vuelve\s+a\s+la)\s+cocina",
             ) + _E)),
    ]


ES_GROUP = _alt(
    "moros", "moras", "moro", "mora", "negros", "negras", "gitanos", "gitanas", "gitano",
    "gitana", "sudacas", "sudaca", "panchitos", "panchito", "judios", "judias", "judio",
    "musulmanes", "musulman", "maricones", "maricon", "maricas", "marica", "bolleras",
    "bollera", "travelos", "travelo", "inmigrantes", "inmigrante", "extranjeros",
    "rumanos", "chinos", "latinos", "gays", "lesbianas", "trans", "mongolos", "mongolo",
    "subnormales", "discapacitados", "minusvalidos", "feminazis", "feministas", "menas",
    "ilegales", "negratas", "moracos", "payos", "refugiados")

# --- English ----------------------------------------------------------------------------

EN_GROUP = _alt(
    "immigrants", "immigrant", "migrants", "refugees", "muslims", "muslim", "jews", "jew",
    "blacks", "gays", "gay", "lesbians", "trans people", "trannies", "tranny", "faggots",
    "fags", "dykes", "retards", "gypsies", "gypsy", "mexicans", "arabs", "foreigners",
    "illegals", "wetbacks", "spics", "chinks", "pakis", "niggers", "kikes", "feminists",
    "feminazis", "women", "homos", "queers", "latinos", "africans", "romanians")


# Who a call to harm names: a pronoun, or a person by role ("that officer").
EN_TARGET = _alt("him", "her", "them", "you",
                 r"(?:this|that|the)\s+(?:guy|woman|man|idiot|bloke|mayor|councillor|"
                 r"councilor|electrician|officer|cop|clerk|warden|inspector|receptionist|"
                 r"lady|one\s+at\s+the\s+\w+)")


def _en_rules() -> list[Rule]:
    # Words after the person that make a phrase harmless ("I'll beat you to it").
    harmless_after = (r"(?!\s+(?:to\s+it|at\b|in\s+a\b|some\s+slack|a\s+deal|a\s+break|"
                      r"off\b|short|a\s+favou?r|a\s+copy|back\b))")
    at_end = r"(?=\s*[!.?,;]|\s*$)"
    return [
        Rule(id="en.threat.kill", lang="en", level="threat", raise_labels={"threat": 0.95},
             description="a threat to kill or hurt",
             pattern=(_B + _alt(
                 EN_WILL + r"\s+(?:\w+\s+)?" + EN_HARM + r"\s+" + EN_YOU + harmless_after,
                 EN_WILL + r"\s+" + _alt(r"break\s+your", r"smash\s+your",
                                         r"slit\s+your") + r"\s+\w+",
                 _alt("smash", "kick", "bash", "beat", "cave") + r"\s+" + _alt(
                     "their", "his", "her", "your") + r"\s+" + _alt(
                     "heads?", "faces?", "teeth", "skulls?") + r"\s+in",
                 r"(?:you're|you\s+are|youre|u\s+are|ur)\s+" + _alt(
                     "dead", r"going\s+to\s+die", r"gonna\s+die", r"a\s+dead\s+man",
                     r"a\s+dead\s+woman", r"dead\s+meat", "finished", r"done\s+for")
                 + at_end,
                 r"(?:you'll|you\s+will|youll|you're\s+going\s+to|you\s+are\s+going\s+to|"
                 r"you're\s+gonna|you\s+gonna|ur\s+gonna)\s+(?:end\s+up|be|wind\s+up|leave)\s+"
                 + EN_DOOM,
             ) + _E)),
        Rule(id="en.threat.wait", lang="en", level="threat", raise_labels={"threat": 0.9},
             description="lying in wait for a person",
             pattern=(_B + _alt(
                 r"(?:" + EN_WILL + r"\s+(?:be\s+)?|(?:i'm|im|i\s+am|we're|we\s+are)\s+)"
                 + _alt("waiting", "wait", "waitin") + r"\s+for\s+" + EN_YOU + r"\s+"
                 + _OPT_WORDS + EN_AMBUSH,
                 r"(?:" + EN_WILL + r"\s+(?:be\s+)?|(?:i'm|im|i\s+am|we're|we\s+are)\s+)"
                 + _alt("waiting", "wait", "waitin") + r"\s+(?:[\w']+\s+){0,4}?"
                 + EN_AMBUSH_YOURS,
                 EN_WILL + r"\s+" + _alt("find", r"hunt\s+down", r"track\s+down",
                                         r"come\s+for", r"come\s+after", r"catch")
                 + r"\s+" + EN_YOU + harmless_after,
                 EN_WILL + r"\s+" + _alt("see", "visit", r"pay\s+a\s+visit\s+to", "meet")
                 + r"\s+" + EN_YOU + r"\s+" + _OPT_WORDS + EN_AMBUSH,
                 r"see\s+you\s+" + EN_AMBUSH,
                 r"(?:i'll|ill|we'll|i\s+will|we\s+will)\s+be\s+(?:right\s+|just\s+)?"
                 + _alt(r"behind\s+you", r"out\s+front\s+waiting(?:\s+for\s+you)?",
                        r"outside\s+waiting\s+for\s+you", r"waiting\s+for\s+you"
                        + r"(?=\s*[.!]|\s*$)", r"there\s+waiting\s+for\s+you"),
                 r"enjoy\s+your\s+" + _alt("walk", "drive", "ride", "way", "trip")
                 + r"\s+home",
                 r"(?:we're|we\s+are|i'm|im|i\s+am)\s+coming\s+for\s+" + EN_YOU,
             ) + _E)),
        Rule(id="en.threat.where-you-live", lang="en", level="threat",
             raise_labels={"threat": 0.9},
             description="says they know where a person lives, works or goes, or watch them",
             pattern=(_B + _alt(
                 r"(?:i|we)\s+know\s+" + _alt("where", "what time", "when", "which",
                                              "what school", "what car")
                 + r"\s+(?:" + EN_YOU + r"|your\s+" + EN_FAMILY + r"|you\s+and\s+your\s+"
                 + EN_FAMILY + r")\s+" + _alt("live", "lives", "work", "works", "park",
                                              "parks", "sleep", "sleeps", "leave", "leaves",
                                              r"go\s+to\s+school", r"goes\s+to\s+school",
                                              "shop", "jog", "walk", "get off",
                                              r"go\s+home", r"drive"),
                 r"(?:i|we)\s+(?:know|found|looked\s+up)\s+your\s+" + _alt(
                     "address", r"home\s+address", r"license\s+plate", "house"),
                 r"(?:i'm|i\s+am|i've\s+been|we're|we\s+are|we've\s+been|im)\s+" + _alt(
                     "watching", "following", "tracking", "stalking") + r"\s+" + EN_YOU
                 + r"(?!\s+on\b)",
                 r"(?:i|we)\s+(?:saw|watched|followed|tracked)\s+" + EN_YOU + r"\s+" + _alt(
                     "leave", "leaving", r"go\s+home", r"get\s+in\s+your\s+car", "home",
                     r"to\s+your\s+" + _alt("car", "house", "home", "door", "flat")),
                 r"(?:nice|lovely|pretty|cute|cosy|cozy)\s+(?:\w+\s+){0,2}?" + _alt(
                     "door", r"front\s+door", "house", "home", "car", "van", "garden",
                     "kids", "family", "dog", "windows", "flat", "street")
                 + r"\s+(?:you've\s+got|you\s+have|you\s+got|ya\s+got)",
                 r"(?:i|we)\s+(?:walk|drive|go)\s+(?:past|by)\s+(?:it|your\s+\w+|your\s+place)"
                 r"\s+every\s+(?:night|day|morning|evening)",
                 r"(?:i've|i\s+have|we've|we\s+have)\s+" + _alt(
                     "clocked", "noted", "logged", "tracked", "mapped", "photographed",
                     "memorised", "memorized") + r"\s+(?:every|all|each)\s+(?:\w+\s+){0,3}?"
                 + r"(?:your|you)",
                 r"(?:how\s+)?easy\s+(?:she|he|they|you)\s+(?:is|are)\s+to\s+find",
                 r"(?:i|we)\s+know\s+(?:which|what)\s+school\s+(?:you|your\s+" + EN_FAMILY
                 + r")\s+(?:go|goes)\s+to",
             ) + _E)),
        Rule(id="en.threat.family", lang="en", level="threat", raise_labels={"threat": 0.9},
             description="a threat to a person's family",
             pattern=(_B + _alt(
                 r"your\s+" + EN_FAMILY + r"\s+" + _OPT_WORDS + _alt(
                     r"(?:will|are\s+going\s+to|is\s+going\s+to|gonna|are\s+gonna|is\s+gonna"
                     r"|might|could)\s+" + _alt("pay", "suffer", "regret", r"get\s+hurt",
                                                r"be\s+next", r"be\s+sorry", "bleed",
                                                r"have\s+an\s+accident"),
                     r"(?:is|are)\s+not\s+safe", r"(?:isn't|aren't)\s+safe",
                     r"(?:won't|wont|will\s+not)\s+be\s+safe",
                     r"(?:walk|walks|go|goes|come|comes|drive|drives)\s+home\s+alone",
                     r"(?:didn't|didnt|don't|wouldn't)\s+make\s+it",
                     r"(?:lives|live|works|work|goes\s+to\s+school)\s+(?:on|at|in)\s+\w+",
                     r"(?:should|better)\s+(?:be\s+careful|watch\s+out)"),
                 EN_WILL + r"\s+" + _alt(r"go\s+after", r"come\s+after", r"come\s+for",
                                         r"find", r"visit", r"hurt") + r"\s+your\s+"
                 + EN_FAMILY,
                 r"something\s+(?:bad\s+)?(?:could|might|will|may)\s+happen\s+to\s+your\s+"
                 + EN_FAMILY,
             ) + _E)),
        Rule(id="en.threat.property", lang="en", level="threat", raise_labels={"threat": 0.9},
             description="a threat to burn or destroy a building or property",
             pattern=(_B + _alt(
                 r"(?:" + EN_WILL + r"|(?:someone|somebody)\s+(?:should|needs\s+to|will)"
                 r"|let's|lets|we\s+should|gonna|going\s+to)\s+" + EN_DESTROY
                 + r"\s+(?:down\s+)?(?:" + EN_DET + r"\s+)?(?:\w+\s+)?" + EN_BUILDING,
                 EN_WILL + r"\s+" + _alt("smash", "break", "brick",
                                         r"put\s+a\s+brick\s+through")
                 + r"\s+(?:every|all\s+the|the|your|all\s+your)\s+windows?(?:\s+(?:in|of|at)"
                 r"\s+(?:" + EN_DET + r"\s+)?" + EN_BUILDING + r")?",
                 EN_WILL + r"\s+" + _alt("key", "scratch", r"slash\s+the\s+tyres\s+of",
                                         r"slash\s+the\s+tires\s+of", "torch", "wreck",
                                         "trash", "smash") + r"\s+your\s+" + _alt(
                                             "car", "van", "bike", "house", "office", "tyres",
                                             "tires"),
                 r"(?:would|it'd|itd|it\s+would)\s+be\s+a\s+(?:pity|shame)\s+if\s+"
                 r"(?:it|your\s+\w+|something|anything|the\s+\w+)\s+" + _alt(
                     r"caught\s+fire", r"burned(?:\s+down)?", r"burnt(?:\s+down)?",
                     r"got\s+(?:smashed|burned|scratched|damaged|wrecked)",
                     r"happened\s+to\s+(?:it|your\s+\w+)"),
                 r"(?:there's|there\s+is|i\s+(?:will|'ll)\s+(?:put|plant|leave)|we\s+(?:will|'ll)"
                 r"\s+(?:put|plant|leave)|i've\s+(?:put|planted|left)|i\s+(?:put|planted|left))"
                 r"\s+a\s+bomb",
                 r"(?:hope|wish)\s+" + EN_BUILDING + r"\s+"
                 + _alt("burns", r"burns\s+down", r"blows\s+up", "explodes"),
                 r"burn\s+it\s+(?:all\s+)?down",
                 r"(?:i'm|im|i\s+am|we're|we\s+are|i'll\s+be|we'll\s+be)\s+bringing\s+"
                 r"(?:a\s+|some\s+)?" + _alt(r"can\s+of\s+petrol", "petrol", "gasoline",
                                              r"can\s+of\s+gas", "lighter", "matches",
                                              "brick", "bricks", "bat", "molotov", "bomb"),
                 r"(?:" + EN_DET + r"\s+)?(?:\w+\s+){0,2}?(?:'s\s+)?" + EN_BUILDING
                 + r"(?:'s)?\s+(?:windows?\s+)?(?:will|is\s+going\s+to|are\s+going\s+to|"
                 r"gonna)\s+" + _alt("burn", r"go\s+up\s+in\s+flames", "explode",
                                      r"blow\s+up", r"come\s+down"),
                 r"windows\s+(?:won't|will\s+not|wont)\s+last",
             ) + _E)),
        Rule(id="en.threat.incite", lang="en", level="threat", raise_labels={"threat": 0.9},
             description="a call on others to hurt someone, or a wish for their death",
             pattern=(_B + _alt(
                 _alt("someone", "somebody", "anyone", "people", "we all", "you all",
                      "yall", "the neighbours", "the neighbors")
                 + r"\s+" + _alt("should", r"needs\s+to", r"need\s+to", r"ought\s+to",
                                 r"has\s+to", r"have\s+to", "must", "gotta")
                 + r"\s+(?:just\s+)?" + EN_HARM + r"\s+" + EN_TARGET + r"(?:\s+up)?",
                 _alt("someone", "somebody", "anyone", "people")
                 + r"\s+" + _alt("should", r"needs\s+to", r"ought\s+to", "must", "gotta")
                 + r"\s+" + _alt("beat", "sort", "rough", "duff", "smash", "knock", "batter")
                 + r"\s+" + EN_TARGET + r"\s+" + _alt("up", "out", "in", "about"),
                 r"(?:i\s+)?(?:hope|wish)\s+(?:that\s+)?" + _alt("you", "u", "he", "she",
                                                                 "they", "ya")
                 + r"\s+" + _alt("die", "dies", r"drop\s+dead", r"drops\s+dead", "rot",
                                 "rots", r"get\s+(?:shot|hit|run\s+over|killed|cancer)",
                                 r"gets\s+(?:shot|hit|run\s+over|killed|cancer)",
                                 r"burn\s+in\s+hell", r"burns\s+in\s+hell"),
                 _alt("he", "she", "they", "you", "u", r"the\s+mayor", r"that\s+guy",
                      r"this\s+guy") + r"\s+" + _alt("deserves", "deserve", "should")
                 + r"\s+(?:to\s+)?" + _alt(
                     "die", r"be\s+shot", r"be\s+hanged", r"be\s+hung", r"be\s+killed",
                     r"be\s+beaten", r"be\s+hurt", r"get\s+shot", r"get\s+beaten",
                     r"get\s+hurt", r"be\s+lynched", "hang"),
                 r"(?:go\s+)?" + _alt("kill", "shoot", "hang", r"beat\s+up", "lynch", "stab")
                 + r"\s+" + _alt("him", "her", "them", r"the\s+mayor", r"that\s+guy",
                                 r"the\s+councillor") + at_end,
                 r"(?:give|gives|giving)\s+" + _alt("him", "her", "them", r"this\s+guy",
                                                    r"that\s+guy", r"the\s+\w+")
                 + r"\s+(?:a\s+)?(?:good\s+|proper\s+)?" + _alt(
                     "beating", "kicking", "slap", "punch", "smack", "hiding", "thrashing",
                     r"taste\s+of\s+\w+"),
                 r"teach\s+" + _alt("him", "her", "them", r"(?:this|that|the|those)\s+(?:\w+\s+)"
                                     r"{0,2}?(?:guy|man|woman|lady|idiot|clown|bloke|cop|officer|"
                                     r"electrician|cleaner|mayor|lot)")
                 + r"\s+a\s+lesson",
                 r"hope\s+(?:\w+\s+){0,5}?" + _alt(r"(?:runs?|reverses?|drives?|backs?)\s+over",
                                                   r"falls?\s+on", r"crush(?:es)?",
                                                   r"hits?", r"kills?") + r"\s+(?:you|him|her)",
                 r"(?:should|must|needs\s+to)\s+be\s+" + _alt("shot", "hanged", "hung",
                                                              "killed", "lynched",
                                                              "executed"),
                 r"kill\s+yourself", "kys",
             ) + _E)),
        Rule(id="en.threat.watch", lang="en", level="threat", raise_labels={"threat": 0.8},
             description="a veiled threat or an intimidation",
             pattern=(_B + _alt(
                 r"watch\s+your\s+(?:back|step)",
                 r"(?:you'll|youll|you\s+will|u\s+will|you're\s+going\s+to|you\s+are\s+going\s+to"
                 r"|you're\s+gonna|youre\s+gonna|you\s+gonna|ur\s+gonna)\s+" + _alt(
                     r"regret\s+(?:it|this|that)", r"pay\s+for\s+(?:this|that|it)",
                     r"pay" + at_end, r"be\s+sorry" + at_end,
                     r"see\s+what\s+happens" + _alt(at_end, r"\s+" + EN_AMBUSH_YOURS,
                                                      r"\s+when\s+you\s+leave\s+work"),
                     r"find\s+out" + at_end,
                     r"get\s+what's\s+coming", r"get\s+what\s+you\s+deserve"),
                 r"(?:you|u)\s+(?:don't|dont|do\s+not)\s+know\s+who\s+(?:you're|you\s+are|"
                 r"ur)\s+(?:dealing|messing|fucking)\s+with",
                 r"your\s+days\s+are\s+numbered",
                 r"(?:it\s+)?would\s+be\s+a\s+(?:shame|pity)\s+if\s+something\s+"
                 r"(?:happened|were\s+to\s+happen)\s+to\s+(?:you|your|him|her)",
                 r"(?:something|bad\s+things)\s+(?:bad\s+)?(?:could|might|will|may)\s+"
                 r"happen\s+to\s+(?:you|u)\b",
                 r"(?:be\s+careful|watch\s+out)\s+" + _alt(
                     r"when\s+you\s+(?:leave|go\s+home|walk\s+home|get\s+off)",
                     r"on\s+your\s+way\s+home", r"at\s+night", r"who\s+you\s+mess\s+with"),
                 r"(?:you('d|\s+had)\s+)?better\s+watch\s+(?:out|yourself|your\s+back)",
                 r"or\s+else" + r"(?=\s*[!.?]*\s*$)", r"or\s+you'll\s+(?:see|regret|pay)",
                 r"you\s+(?:have|'ve)\s+been\s+warned",
                 r"accidents\s+(?:happen|can\s+happen)\s+to\s+(?:people|those|anyone|"
                 r"everyone|folk|you)",
                 r"see\s+how\s+(?:that|this|it)\s+works\s+out\s+for\s+you",
                 r"or\s+you'll\s+need\s+(?:one|a\s+doctor|an\s+ambulance|a\s+hospital|"
                 r"stitches)(?:\s+yourself)?",
                 r"you'll\s+need\s+(?:an\s+ambulance|a\s+new\s+face|stitches)",
                 r"i\s+(?:never|don't)\s+forget\s+a\s+face",
             ) + _E)),
        Rule(id="en.sexual.harassment", lang="en", level="abusive",
             raise_labels={"sexual_explicit": 0.9}, description="sexual harassment",
             pattern=(_B + _alt(
                 r"(?:send|show)\s+(?:me\s+)?(?:your\s+|some\s+)?" + _alt(
                     "nudes", r"naked\s+(?:pics|photos|pictures)", "tits", "boobs", "ass",
                     "pussy", "titties", r"pics\s+of\s+you\s+naked"),
                 r"(?:i\s+)?(?:want\s+to|wanna|would|i'd|gonna|i'll|i\s+will|going\s+to|"
                 r"let\s+me)\s+" + _alt(
                     _alt("fuck", "bang", "screw", "rape", "finger") + r"\s+"
                     + _alt("you", "u", "her", r"your\s+\w+"),
                     _alt("touch", "lick", "grab", "eat", r"bend") + r"\s+"
                     + _alt("you", "u", "her") + r"(?:\s+over)?"
                     + r"(?!\s+(?:a\s+|the\s+|some\s+|up\b|later|tomorrow))"),
                 r"suck\s+my\s+" + _alt("dick", "cock", "balls"),
                 r"sit\s+on\s+my\s+" + _alt("face", "dick", "cock", "lap"),
                 r"(?:nice|great|hot|sexy)\s+" + _alt("tits", "boobs", "ass", "rack",
                                                      "legs", "butt"),
                 r"(?:you're|you\s+are|youre|ur|u\s+r)\s+(?:so\s+|really\s+|very\s+)?"
                 + _alt("sexy", "fuckable", "hot") + at_end,
                 r"(?:see|watch|picture)\s+you\s+" + _alt("naked", "nude", "undressed",
                                                           r"in\s+your\s+underwear",
                                                           r"without\s+(?:clothes|the\s+"
                                                           r"uniform|your\s+uniform)"),
                 r"(?:pic|pics|photo|photos|picture|pictures)\s+(?:of\s+you\s+)?"
                 r"(?:without|with\s+no)\s+(?:the\s+|your\s+)?(?:uniform|clothes)",
                 r"handcuff\s+me", r"frisk\s+me", r"(?:you\s+)?turn\s+me\s+on",
                 r"(?:full\s+)?body\s+(?:check|search|exam|massage|inspection)",
                 r"(?:book|take|get)\s+(?:me\s+)?(?:into|in)\s+your\s+bed",
                 r"(?:come\s+to|get\s+into|join\s+me\s+in|jump\s+into)\s+(?:my|your)\s+bed",
                 r"(?:i'd|i\s+would|i'll|i\s+will)\s+let\s+you\s+" + _alt(
                     "examine", "check", "search", "touch", "inspect", "frisk", "handcuff")
                 + r"\s+me",
                 r"(?:nice|great|cute|lovely|sexy)\s+" + _alt("bum", "butt", "ass", "arse",
                                                              "booty", "legs", "body",
                                                              "figure", "lips"),
                 r"bend\s+over\s+(?:for\s+me|a\s+bit|slower|again|baby|babe|love)",
                 r"(?:pic|pics|photo|photos|picture)\s+of\s+you\s+in\s+(?:just\s+)?(?:the|your)\s+"
                 r"(?:uniform|underwear|bikini|bed)(?:,?\s+just\s+the\s+uniform)?",
                 r"(?:great|nice|huge|big|lovely)\s+pair\s+of\s+" + _alt("tits", "boobs",
                                                                          "legs", "jugs"),
                 r"take\s+your\s+clothes\s+off",
             ) + _E)),
        Rule(id="en.identity.attack", lang="en", level="abusive",
             raise_labels={"identity_attack": 0.85},
             description="an attack on people for who they are",
             pattern=(_B + _alt(
                 _alt("fucking", "filthy", "dirty", "stupid", "damn", "bloody")
                 + r"\s+" + EN_GROUP,
                 r"(?:all\s+)?(?:the\s+|these\s+|those\s+)?" + EN_GROUP + r"\s+"
                 + _alt("are", "r") + r"\s+(?:all\s+)?(?:just\s+)?(?:a\s+)?" + _alt(
                     "animals", "vermin", "trash", "scum", "rapists", "criminals",
                     "parasites", "plague", "disease", "subhuman", "filth", "garbage",
                     "terrorists", "thieves", "inferior"),
                 r"(?:all\s+)?(?:the\s+|these\s+|those\s+)?" + EN_GROUP
                 + r"\s+(?:should|must|need\s+to|ought\s+to)\s+" + _alt(
                     "die", r"be\s+deported", r"go\s+back\s+to\s+their\s+country",
                     r"be\s+shot", r"be\s+gassed", r"be\s+banned", r"be\s+locked\s+up"),
                 r"go\s+back\s+to\s+" + _alt("your country", "where you came from",
                                             "africa", "mexico", "your own country"),
                 r"(?:get|kick)\s+(?:all\s+)?(?:the\s+|these\s+)?" + EN_GROUP
                 + r"\s+out",
                 r"(?:because|cause|cuz)\s+(?:you're|you\s+are|ur)\s+(?:a\s+)?" + _alt(
                     "woman", "girl", "muslim", "jew", "gay", "black", "immigrant",
                     "foreigner", "trans") + r"[\s,]+" + _alt(
                         "you can't", "you cannot", "you don't", "you shouldn't"),
                 r"(?:get\s+back\s+to|go\s+back\s+to|back\s+to|get\s+back\s+in|back\s+in)"
                 r"\s+the\s+kitchen",
                 r"(?:women|girls|a\s+woman|a\s+girl)\s+(?:shouldn't|should\s+not|can't|cannot"
                 r"|don't|do\s+not)\s+(?:be\s+(?:in|allowed)|work|drive|lead|run|do)",
                 EN_GROUP + r"[\s,]+(?:they're|they\s+are|theyre)\s+(?:all\s+)?" + _alt(
                     "terrorists", "criminals", "animals", "rapists", "thieves", "scum",
                     "vermin", "trash", "parasites"),
                 r"make\s+me\s+a\s+sandwich",
                 r"(?:women|girls)\s+(?:should|must|ought\s+to)\s+(?:stick\s+to|stay\s+in|"
                 r"go\s+back\s+to|stay\s+at|get\s+back\s+to)\s+(?:the\s+)?(?:kitchen|home|"
                 r"house)",
                 EN_GROUP + r"\s+(?:who|that)\s+(?:can't|cannot|don't|do\s+not|couldn't)\s+"
                 + _alt(r"read", r"speak", r"write", "count", r"do\s+anything", "work"),
             ) + _E)),
    ]


@functools.cache
def builtin_rules() -> tuple[Rule, ...]:
    """The grammar's rules, Spanish then English, built once."""
    return (*_es_rules(), *_en_rules())
