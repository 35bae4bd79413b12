"""Legitimate street and service reports (label other), written for Guardian.

Short reports of a broken thing in a place are the commonest message a town hall gets, and
the word classes read their articles ("la farola de la calle") as the pronouns of an
attack on a group ("la" -> THEM): without these, 7.5% of them scored abusive. Seeded; the
vocabulary differs from the probe the fix was measured with (docs/scoring.md).
"""
import itertools
import json
import random

rng = random.Random(11)
es_things = ["la farola", "el semáforo", "la fuente", "el banco", "la papelera", "el contenedor",
             "la marquesina", "las farolas", "los columpios", "la barandilla", "el paso de cebra",
             "la alcantarilla", "el reloj de la plaza", "la valla", "los bolardos", "el grifo",
             "las luces", "la rampa", "el ascensor del parking", "la puerta del cementerio",
             "los bancos", "las papeleras", "los contenedores", "las fuentes", "el tobogán",
             "la persiana del mercado", "los semáforos", "las alcantarillas"]
es_places = ["de la calle Ancha", "de la calle del Olmo", "de la avenida de Andalucía",
             "de la plaza de España", "del paseo", "de la glorieta", "de la calle Rosal",
             "frente a la farmacia", "de la barriada", "de enfrente de mi casa",
             "del polígono", "de la estación", "de la calle Cervantes", "del mercado",
             "junto al colegio", "del parque infantil", "de la esquina", "del barrio",
             "en la urbanización", "cerca del instituto", "del supermercado",
             "al lado del cole", "de la calle de atrás"]
es_states = ["no funciona", "está apagada", "está rota", "no se enciende", "está estropeado",
             "está averiada", "no tiene luz", "parpadea toda la noche", "está torcida",
             "está suelta", "gotea", "está desbordado", "sigue sin arreglar", "hace ruido",
             "no va", "ya no va", "no va bien", "no anda", "no funcionan", "están rotos",
             "están llenas", "no van"]
es_tails = ["", " desde hace una semana", " desde el viernes", ", a ver si lo arregláis",
            ". Un saludo", " y es peligroso", ", avisé el mes pasado", " otra vez!!",
            ". ¿Sabéis cuándo vendrán?", " y los niños juegan ahí"]
es_frames = ["{T} {P} {S}{X}", "Buenas, {t} {P} {S}{X}", "{T} {P} {S}, por favor revisadlo",
             "Hola, os aviso de que {t} {P} {S}{X}", "@ayto_jun {t} {P} {S}{X}",
             "Otra vez {t} {P} {S}", "¿Alguien sabe si van a arreglar {t} {P}? {S}"]
en_things = ["the street lamp", "the pedestrian crossing light", "the drinking fountain",
             "the park bench", "the litter bin", "the recycling bins", "the bus shelter",
             "the railings", "the swings", "the drain", "the clock in the square"]
en_places = ["on Calle Ancha", "on Avenida de Andalucía", "by the pharmacy", "in the market",
             "near the station", "outside my house", "on the promenade"]
en_states = ["isn't working", "is broken", "has gone out", "keeps flickering", "is leaking",
             "is overflowing", "is still not fixed", "is loose", "is damaged"]
en_frames = ["{T} {P} {S}", "Hi, {t} {P} {S}, could someone look at it?",
             "@ayto_jun {t} {P} {S} again", "Just to let you know {t} {P} {S}"]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


seen, rows = set(), []


def add(lang: str, text: str) -> None:
    if text.casefold() not in seen:
        seen.add(text.casefold())
        rows.append({"lang": lang, "label": "other", "kind": "street_report", "text": text})


es = list(itertools.product(es_frames, es_things, es_places, es_states, es_tails))
for frame, thing, place, state, tail in rng.sample(es, 1500):
    add("es", frame.format(T=cap(thing), t=thing, P=place, S=state, X=tail))
en = list(itertools.product(en_frames, en_things, en_places, en_states))
for frame, thing, place, state in rng.sample(en, 300):
    add("en", frame.format(T=cap(thing), t=thing, P=place, S=state))
# Parents' logistics at the school gate: "mis hijos a la salida del colegio" is the
# everyday twin of the threat "tus hijos a la salida del colegio"; the model must tell
# them apart by whose children, not by the school.
es_when = ["Mañana", "Hoy", "Esta tarde", "El viernes", "Todos los días", "A las dos"]
es_do = ["paso a recoger a", "recojo a", "voy a buscar a", "llevo a", "espero a", "recoge a"]
es_kids = ["mis hijos", "mi hija", "mi hijo", "los niños", "mi nieta", "los críos", "mi sobrino"]
es_gate = ["a la salida del colegio", "a la salida del cole", "a la entrada del instituto",
           "a la salida de la guardería", "en la puerta del colegio", "a la salida de clase"]
es_ask = ["¿hay policía para el tráfico?", "y no hay donde aparcar", "¿a qué hora abren?",
          "", "y el paso de cebra está borrado", "¿sabéis si hay huelga?"]
family = list(itertools.product(es_when, es_do, es_kids, es_gate, es_ask))
for when, do, kids, gate, ask in rng.sample(family, 300):
    add("es", f"{when} {do} {kids} {gate}{', ' + ask if ask else ''}".replace("recoge a mis",
                                                                              "recoge a los"))
en_family = ["I pick up my kids at the school gate, is the crossing patrol back?",
             "Collecting my daughter outside the school at 3, nowhere to park again",
             "My son waits for me outside the school every day, the road there is dangerous",
             "Dropping the kids at school tomorrow, is the road still closed?"]
for text in en_family:
    add("en", text)
with open("training/signals/reports.jsonl", "w", encoding="utf-8") as out:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
print(len(rows), "rows")
