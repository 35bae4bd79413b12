"""Personal data in a message, and whose it is (pure).

Publishing someone's phone, home, ID number or private e-mail exposes them (doxxing, level
`threat`). The same data about the writer is a callback ("llamadme al 612...", "mi DNI es
..."), and a street named in a request is the place of the problem: both must reach staff
as written. So each piece of data found is judged by its own sentence:

- said of the writer ("mi móvil", "llamadme", "my NIE", "I'm on 6..."): not doxxing;
- said of someone else ("su móvil", "el DNI de la alcaldesa", "Antonio's number", "the
  mayor's private mobile", "mi vecino Rafael, tlf...", "escribidle todos", a staff member's
  name or handle next to it): doxxing;
- neither: a phone, ID or e-mail stays (most such messages are requests); a home address
  is only ever found with the words that say whose home it is ("vive en", "lives at").

Texts are plain (normalised, accents off, one character for one), as `rules.py` passes
them. Offsets are those of the text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from guardian.scoring.grammar import plain

DETECTORS = ("id_number", "phone_number", "home_address", "email")

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_ID_NUMBER = re.compile(r"\b(?:([xyz])[ -]?)?(\d{7,8})[ -]?([a-z])\b")
# "DNI", "NIE", "ID" just before: an ID number even when its check letter is wrong.
_ID_WORD = re.compile(r"\b(?:dni|nie|nif|id|pasaporte|passport)\b"
                      r"(?:\s+(?:de|del|of)\s+[\w ]{1,20}?)?[\s:.,nº°#-]*(?:es\s+|is\s+)?$")
# Spanish mobiles: 612345678, 612 345 678, 612 34 56 78, with or without +34 / 0034.
_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)34[ .-]?)?[67]\d{2}"
                    r"(?:[ .-]?\d{3}[ .-]?\d{3}|[ .-]?\d{2}[ .-]?\d{2}[ .-]?\d{2})(?!\d)")
# Landlines (8xx, 9xx) are offices' numbers, personal only when said to be a home's.
_LANDLINE = re.compile(r"(?<![\d+])(?:(?:\+|00)34[ .-]?)?[89]\d{2}"
                       r"(?:[ .-]?\d{3}[ .-]?\d{3}|[ .-]?\d{2}[ .-]?\d{2}[ .-]?\d{2})(?!\d)")
_HOME_LINE = re.compile(r"\b(?:home (?:landline|phone|number)|landline at home|(?:fijo|telefono|"
                        r"numero) de (?:su )?casa|su fijo)\b")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A public body's address is not personal ("citas@ayto-jun.es").
_PUBLIC_EMAIL = re.compile(r"@(?:[\w-]+\.)*(?:ayto|ayuntamiento|aytojun|gob|gov|juntadeandalucia|"
                           r"council|sas|policia|dgt)[\w.-]*$")

_DATA = (r"(?:movil|telefono|tlf|tfno|tel|numero|whatsapp|fijo|correo|email|e-mail|mail|dni|"
         r"nie|direccion|casa|domicilio|phone|mobile|number|cell|landline|address|home|id)")
_QUALITY = r"(?:(?:privado|privada|personal|particular|private|personal|own|home)\s+)?"
# Said of someone else.
_THEIRS = re.compile(
    rf"\b(?:su|sus)\s+{_QUALITY}{_DATA}\b"
    rf"|\b(?:el|la|este es el|esta es la)\s+{_DATA}\s+{_QUALITY}(?:de|del)\s+(?!mi\b|nuestr)"
    rf"|\b{_DATA}\s+(?:privado|privada|personal|particular)\s+(?:de|del)\b"
    rf"|\b(?:tiene|tienen)\s+(?:este|el|estos|esta|la)\s+{_DATA}"
    r"|\b(?:llamad|llamadle|llamadla|llamale|llamala|escribidle|escribidla|escribele|"
    r"escribidles|agobiadle|agobiadla|mandadle|mandadles|acosadle|difundid|difundidlo|"
    r"que lo use quien quiera|pa quien quiera|para quien quiera|a ver si se entera)\b"
    rf"|\b(?:his|her|their)\s+{_QUALITY}{_DATA}\b"
    rf"|\b\w+'s\s+{_QUALITY}{_DATA}\b"
    r"|\b(?:call|text|spam|ring|email|message|phone|visit)\s+(?:him|her|them)\b"
    r"|\bgive\s+(?:him|her|them)\s+a\s+(?:ring|call|bell)\b"
    r"|\b(?:putting it out there|for anyone who wants|whoever wants|spread the word|share this)\b"
    # A third person is the subject: a neighbour, an officer, the mayor.
    r"|\b(?:mi|el|la|del|de la|al|este|esta|ese|esa)\s+(?:vecino|vecina|alcalde|alcaldesa|"
    r"concejal|concejala|policia|agente|municipal|medico|medica|doctor|doctora|enfermera|"
    r"enfermero|electricista|funcionario|funcionaria|jefe|jefa|tio|tia|senor|senora|"
    r"individuo|sujeto|chaval|chavala|barrendero|conserje)\b"
    r"|\b(?:the|my|this|that)\s+(?:neighbour|neighbor|officer|mayor|councillor|councilor|"
    r"cop|doctor|nurse|bloke|guy|woman|man|lady|fella|chap|electrician|clerk|receptionist|"
    r"warden|inspector)\b"
    r"|\b(?:lives|vive|viven)\b")
# Said of the writer (or of the writer's family, for their own errand).
_MINE = re.compile(
    rf"\b(?:mi|mis|nuestro|nuestra)\s+{_QUALITY}{_DATA}\b"
    r"|\bmi\s+(?:padre|madre|abuelo|abuela|hijo|hija|marido|mujer|esposo|esposa|pareja|"
    r"hermano|hermana|suegro|suegra|tio|tia)\b"
    rf"|\b(?:my|our)\s+{_QUALITY}{_DATA}\b"
    r"|\bmy\s+(?:dad|father|mum|mom|mother|grandad|grandfather|grandma|grandmother|son|"
    r"daughter|husband|wife|partner|brother|sister)\b"
    r"|\b(?:i'm|im|i am|estoy|soy)\b[^.]{0,40}\b(?:phone|telefono|movil|tlf|on)\b"
    r"|\b(?:llamadme|llamame|llamenme|llameme|contactadme|escribidme|escribeme|avisadme|"
    r"me podeis llamar|me puedes llamar|podeis llamarme|localizarme|contactarme|"
    r"mi contacto|contacto|contactar)\b"
    r"|\b(?:call|text|reach|contact|email|ring|phone|message)\s+(?:me|us)\b"
    r"|\b(?:vivo|vivimos)\b|\bi\s+live\b|\bwe\s+live\b")
# Floor and door after a street number: "12, 2ºA", "5 bajo", "3, piso 2, puerta B".
_DOOR = (r"(?:[ ,]+(?:\d{1,2}\s*(?:o|a|º|ª)?\s*[a-z]?\b|bajo|atico|entresuelo|piso \w+|"
         r"puerta \w+|esc(?:alera)?\.? \w+|dcha|izda|derecha|izquierda|flat \w+|apt\.? \w+|"
         r"bloque \w+|portal \w+|top floor|ground floor|first floor))*")
_STREET = (r"(?:calle|c/|avenida|avda\.?|plaza|paseo|camino|carretera|barriada|urbanizacion|"
           r"urb\.?|bloque|street|st\.?|road|rd\.?|avenue|ave\.?|lane|close|drive|way)")
_ADDRESS = re.compile(
    r"\b(?:vive|viven|vivis|vives|lives|live|living|resides)\s+(?:en|at|on|in)\s+"
    r"(?:la |el |the |number |no\.? )?(?:\d{1,4},?\s+)?" + _STREET
    + r"\s+[\w .,'-]{2,40}?(?:\b\d{1,4}\b|\bbloque \w+)" + _DOOR
    + r"|\b(?:su|la)\s+(?:casa|direccion|domicilio|piso|portal)\s+(?:de \w+ )?(?:esta|es)\s+"
    r"(?:en )?(?:la |el )?" + _STREET + r"\s+[\w .'-]{2,40}?\b\d{1,4}\b" + _DOOR
    + r"|\b(?:his|her|their|\w+'s)\s+(?:house|home|address|flat)\s+is\s+(?:at |on |in )?"
    r"[\w .'-]{2,40}?\b\d{1,4}\b" + _DOOR
    + r"|\b(?:lives|live)\s+at\s+(?:number\s+)?\d{1,4}[a-z]?,?\s+[\w .'-]{2,40}?"
    r"(?=[,.;!?]|$)" + _DOOR)
_SENTENCE = re.compile(r"[.!?\n]+")
_DIGIT = re.compile(r"\d")


def valid_id_number(prefix: str, digits: str, letter: str) -> bool:
    """Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits) with the right check letter."""
    if prefix:
        if len(digits) != 7:
            return False
        number = int(str("xyz".index(prefix)) + digits)
    else:
        if len(digits) != 8:
            return False
        number = int(digits)
    return _DNI_LETTERS[number % 23] == letter.upper()


@functools.lru_cache(maxsize=256)
def _owner(name: str) -> re.Pattern[str]:
    """A staff member said to own the data: "el móvil de Antonio", "antonio: 612...",
    "Antonio's number", "antonio tiene el 612...", "el 612... de antonio" (a mention alone
    addresses them)."""
    who = rf"@?{re.escape(name)}"
    return re.compile(
        rf"\b{_DATA}\s+{_QUALITY}(?:de |del |of )?{who}(?!\w)"
        rf"|(?<!\w){who}(?:'s| tiene| has)? (?:\w+ )?{_DATA}\b"
        rf"|(?<!\w){who}\s*[:=]\s*(?:\+|00)?\w"
        rf"|\w,? (?:es )?(?:de|del|of|is) {who}(?!\w)")


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around a span, with the one before it (the data is often introduced
    there: "Here's the mayor's private mobile: 612...")."""
    boundaries = [m.end() for m in _SENTENCE.finditer(text, 0, start)]
    low = boundaries[-2] if len(boundaries) >= 2 else 0
    after = _SENTENCE.search(text, end)
    return low, after.start() if after else len(text)


def _whose(text: str, start: int, end: int, protected: Sequence[str]) -> str:
    """"mine", "theirs" or "" for the data at text[start:end]."""
    low, high = _sentence(text, start, end)
    window = text[low:start] + " " + text[end:high]
    if _MINE.search(window):
        return "mine"
    if _THEIRS.search(window) or any(p and _owner(plain(p)).search(text, low, high)
                                     for p in protected):
        return "theirs"
    return ""


def find(detector: str, text: str, protected: Sequence[str] = ()) -> list[tuple[int, int]]:
    """Spans of `detector`'s kind of personal data said to be someone else's."""
    found: list[tuple[int, int]] = []
    # Every kind but an e-mail has digits; most messages have none.
    if "@" not in text if detector == "email" else not _DIGIT.search(text):
        return found
    if detector == "id_number":
        for m in _ID_NUMBER.finditer(text):
            named = _ID_WORD.search(text[max(0, m.start() - 32):m.start()]) is not None
            if named or valid_id_number(m.group(1) or "", m.group(2), m.group(3)):
                found.append((m.start(), m.end()))
    elif detector == "phone_number":
        found = [(m.start(), m.end()) for m in _PHONE.finditer(text)]
        if _HOME_LINE.search(text):
            found += [(m.start(), m.end()) for m in _LANDLINE.finditer(text)]
    elif detector == "email":
        found = [(m.start(), m.end()) for m in _EMAIL.finditer(text)
                 if not _PUBLIC_EMAIL.search(m.group(0))]
    elif detector == "home_address":
        # The pattern itself says whose home it is; only "vivo en" makes it the writer's.
        return [(m.start(), m.end()) for m in _ADDRESS.finditer(text)
                if not re.search(r"\b(?:vivo|vivimos|i|we|i've|we've)\s+(?:\w+\s+)?$",
                                 text[max(0, m.start() - 20):m.start()])]
    return [(a, b) for a, b in found if _whose(text, a, b, protected) == "theirs"]
