"""Personal data and whose it is: doxxing of someone else, never the citizen's own."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardian.scoring.grammar import plain
from guardian.scoring.personal import DETECTORS, find, valid_id_number


def _found(text: str, protected: tuple[str, ...] = ()) -> dict[str, list[str]]:
    bare = plain(text.lower())
    return {d: [bare[a:b] for a, b in find(d, bare, protected)] for d in DETECTORS
            if find(d, bare, protected)}


@pytest.mark.parametrize(("text", "kind", "data"), [
    # Phones said to be someone else's.
    ("Su móvil es 612 345 678, llamadle todos", "phone_number", "612 345 678"),
    ("Here's the mayor's private mobile: 612 908 734. Give her a ring at 3am",
     "phone_number", "612 908 734"),
    ("Mi vecino del 3º, Rafael Gil, tlf 645 778 990, deja la basura en la acera",
     "phone_number", "645 778 990"),
    ("The bloke at number 5 is Derek, phone 633 445 566. Fine him", "phone_number",
     "633 445 566"),
    # ID numbers: a valid check letter, or named as an ID, about someone else.
    ("El DNI de la alcaldesa es 28123456T, que lo use quien quiera", "id_number",
     "28123456t"),
    ("el dni del policía es 12345678Z", "id_number", "12345678z"),
    # Homes.
    ("José el de la limpieza vive en la barriada El Carmen, bloque 3, 2ºA", "home_address",
     "vive en la barriada el carmen, bloque 3, 2ºa"),
    ("The officer lives at 7 Calle Azucena, top floor. Just putting it out there",
     "home_address", "lives at 7 calle azucena, top floor"),
    ("Su casa está en la calle Olmo 12, 1ºB", "home_address",
     "su casa esta en la calle olmo 12, 1ºb"),
    # Private e-mail.
    ("El correo personal de la Elena es elena77@correo.es. Escribidle todos", "email",
     "elena77@correo.es"),
])
def test_someone_elses_data_is_found(text: str, kind: str, data: str) -> None:
    assert _found(text).get(kind) == [data]


@pytest.mark.parametrize("text", [
    "Llamadme al 612 345 678 cuando venga el electricista",
    "Mi móvil es 612 345 678 por si falta algo de la reserva",
    "My NIE is Y1234567X, you asked for it for the room booking. Mobile is 699 876 543",
    "Para la cita de mi madre, su médico nos dijo que llamáramos: 612 345 678",
    "I'm on 612 345 678 if the crew needs to get into the courtyard",
    "Vivo en la calle Real 14, 2ºA y la farola de enfrente no funciona",
    "La farola rota está en la calle Nueva 8, frente a la farmacia",
    "La oficina atiende en el 958 123 456 y en citas@ayto-jun.es",
    "Mi DNI es 12345678Z, quería reservar la sala del centro cívico",
    "Escribidme a pepa.lopez@correo.es con la confirmación de la sala",
    "mi pedido es el 12345678a",
])
def test_the_citizens_own_data_and_the_place_of_the_problem_are_not_doxxing(
        text: str) -> None:
    assert _found(text) == {}


def test_a_staff_members_name_or_handle_next_to_a_number_makes_it_theirs() -> None:
    assert _found("el 612 345 678 de antonio", ("antonio",)) == {
        "phone_number": ["612 345 678"]}
    assert _found("@antonio_luz: 612 345 678", ("antonio_luz",)) == {
        "phone_number": ["612 345 678"]}
    assert _found("el 612 345 678 de antonio") == {}


def test_id_numbers_need_a_valid_check_letter_unless_named_as_an_id() -> None:
    assert valid_id_number("", "12345678", "z")
    assert not valid_id_number("", "12345678", "a")
    assert valid_id_number("x", "1234567", "l")
    assert not valid_id_number("x", "12345678", "l")


@given(st.from_regex(r"6\d{8}", fullmatch=True),
       st.sampled_from(["llamadme al {}", "mi móvil: {}", "my mobile is {}",
                        "call me on {} please", "contacto {} (tardes)"]))
def test_a_callback_number_is_never_doxxing(number: str, template: str) -> None:
    assert "phone_number" not in _found("La farola de la calle Mayor sigue rota. "
                                        + template.format(number))
