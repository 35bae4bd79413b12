"""Legitimate health-centre and service messages (label other), written for Guardian."""
import json, random
rng = random.Random(7)
es_services = ["el médico", "la médica", "el pediatra", "la pediatra", "el dentista", "la enfermera",
               "el enfermero", "el traumatólogo", "la ginecóloga", "el oculista", "la matrona",
               "el fisio", "la doctora", "el doctor", "el de cabecera", "la trabajadora social"]
es_waits = ["tres semanas", "un mes", "dos meses", "15 días", "mes y medio", "dos semanas", "40 días"]
es_frames = [
    "{w} pa una cita con {s}, esto no es normal",
    "{w} esperando una cita con {s}!!",
    "vaya tela, {w} pa que me atienda {s}",
    "joder, {w} pa que me vea {s}",
    "¿es normal tardar {w} en dar cita con {s}?",
    "seguimos igual, {w} sin noticias de la cita con {s}",
    "hostia, otra vez me han cambiado la cita con {s}, y ya van {w}",
    "Necesito cita con {s} urgente, llevo {w} con dolor",
    "@elena_salud me anularon la cita con {s}, ¿me podéis dar otra? llevo {w}",
    "madre mía, {w} pa una revisión con {s}",
    "menuda vergüenza, {w} sin cita con {s}",
    "que alguien me explique por qué tardan {w} en darme cita con {s}",
]
en_services = ["the GP", "the doctor", "the nurse", "the dentist", "the paediatrician",
               "the physio", "a specialist", "the midwife", "the practice nurse"]
en_waits = ["three weeks", "a month", "two months", "six weeks", "ten days", "five weeks"]
en_frames = [
    "{w} for an appointment with {s}, what a fucking joke",
    "{w} to see {s}? this is a bloody disgrace",
    "Still waiting {w} for an appointment with {s}",
    "Is it normal to wait {w} to see {s} at the health centre?",
    "Brilliant, {w} and still no slot with {s}",
    "@elena_salud my appointment with {s} got cancelled again, {w} now",
    "Rang the health centre again, {w} until {s} can see my son",
    "Can I get an appointment with {s}? Been {w} with a bad back",
]
streets = ["Nueva", "Real", "Mayor", "Ancha", "Olmo", "Rosal"]
seen, rows = set(), []
def add(lang, text):
    if text.casefold() not in seen:
        seen.add(text.casefold())
        rows.append({"lang": lang, "label": "other", "kind": "appointment_complaint", "text": text})
for frame in es_frames:
    for _ in range(9):
        add("es", frame.format(w=rng.choice(es_waits), s=rng.choice(es_services)))
for frame in en_frames:
    for _ in range(8):
        add("en", frame.format(w=rng.choice(en_waits), s=rng.choice(en_services), c=rng.choice(streets)))
things_en = ["bins", "potholes", "streetlights", "roads", "toilets in the park", "bus shelters", "pavements"]
for thing in things_en:
    for curse in ["a fucking disgrace", "a bloody disgrace", "a fucking joke", "shite", "a total shambles"]:
        add("en", f"Honestly the {thing} round here are {curse}, when will the council fix them")
things_es = ["los contenedores", "las farolas", "los baches", "los baños del parque", "las aceras"]
for thing in things_es:
    for curse in ["una puta vergüenza", "una mierda", "un desastre de cojones", "una vergüenza joder"]:
        add("es", f"lo de {thing} del barrio es {curse}, a ver cuándo lo arreglan")
with open(__import__("pathlib").Path(__file__).with_name("appointments.jsonl"), "w", encoding="utf-8") as out:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
print(len(rows))
