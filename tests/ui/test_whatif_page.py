"""HR's what-if page through the real app: the form, a changed file uploaded and the
difference shown side by side (totals, per person, the message whose contacts changed,
masked as staff read it), and bad uploads answered on the page with FILE:LINE and nothing
replayed."""

from __future__ import annotations

from aiohttp import FormData
from sqlalchemy.ext.asyncio import AsyncEngine

from guardian.policy_files.overlay import MAX_FILE_BYTES
from tests.conftest import POLICIES, Client
from tests.ui.conftest import sign_in_as
from tests.web.test_whatif import MASKED, ON_SQLITE, RAW, ROOMS, booking, rooms_to_elena


def upload(token: str, files: dict[str, bytes], days: str = "2") -> FormData:
    form = FormData()
    form.add_field("csrf_token", token)
    for name, data in files.items():
        form.add_field("files", data, filename=name, content_type="application/x-yaml")
    form.add_field("days", days)
    return form


def section(html: str, ident: str) -> str:
    return html.split(f'id="{ident}"')[1].split("</table>")[0]


@ON_SQLITE
async def test_a_changed_file_shows_the_difference(client: Client,
                                                   engine: AsyncEngine) -> None:
    ident = await booking(engine)
    token = await sign_in_as(client, engine, "lucia")
    form = await client.get("/hr/what-if")
    assert form.status == 200
    html = await form.text()
    assert 'enctype="multipart/form-data"' in html and 'name="files"' in html
    assert "Como mucho se reproducen 300 mensajes" in html
    response = await client.post("/hr/what-if", data=upload(
        token, {"teams.yaml": rooms_to_elena().encode()}))
    assert response.status == 200, await response.text()
    html = await response.text()
    assert "Reproducidos: 1 mensajes" in html
    assert "Archivos sustituidos: teams.yaml" in html
    # Totals first: the same number of contacts, to someone else.
    totals = section(html, "what-if-totals")
    assert "<td data-label=\"Política en vigor\">1</td>" in totals
    # Per person, side by side: María loses the booking, Elena gets it; both marked.
    people = section(html, "what-if-people")
    maria = people.split("María Ortega")[1].split("</tr>")[0]
    elena = people.split("Elena Castro")[1].split("</tr>")[0]
    assert 'Contactos (mensajes, avisos urgentes y resúmenes), en vigor">1<' in maria
    assert 'Contactos (mensajes, avisos urgentes y resúmenes), cambiada">0<' in maria
    assert 'Contactos (mensajes, avisos urgentes y resúmenes), cambiada">1<' in elena
    assert people.count('<tr class="changed">') == 2
    # The message, masked as staff read it, with who had it under each policy.
    messages = section(html, "what-if-messages")
    assert f"Mensaje {ident}" in messages and "Reserva de salas" in messages
    assert MASKED in messages
    assert RAW not in html and "chorlito" not in html
    old, new = messages.split('data-label="Política en vigor"')[1].split(
        'data-label="Política cambiada"')
    assert "María Ortega" in old and "Elena Castro" not in old
    assert "Elena Castro" in new and "María Ortega" not in new


async def test_bad_uploads_are_answered_on_the_page(client: Client,
                                                    engine: AsyncEngine) -> None:
    token = await sign_in_as(client, engine, "lucia")
    teams = (POLICIES / "teams.yaml").read_text(encoding="utf-8").replace(
        ROOMS, ROOMS.replace("maria", "nadie"))
    response = await client.post("/hr/what-if", data=upload(token, {
        "teams.yaml": teams.encode()}))
    assert response.status == 422
    html = await response.text()
    assert "No se ha reproducido nada" in html and 'id="what-if-result"' not in html
    errors = section(html, "what-if-errors")
    line = teams.splitlines().index("  - id: rooms") + 1  # the team, as the loader says
    assert "<code>teams.yaml</code>" in errors and f">{line}<" in errors
    assert "`nadie`" in errors
    # Names with folders or of other kinds, too big, or no file: nothing read.
    for files, status in (({"notas.txt": b"x"}, 422), ({}, 422),
                          ({"staff.yaml": b"#" * (MAX_FILE_BYTES + 1)}, 413)):
        refused = await client.post("/hr/what-if", data=upload(token, files))
        assert refused.status == status, files
        assert 'id="what-if-errors"' in await refused.text()
    bad_days = await client.post("/hr/what-if", data=upload(
        token, {"teams.yaml": teams.encode()}, days="29"))
    assert bad_days.status == 422
    assert "Elige de 1 a 28 días" in await bad_days.text()
