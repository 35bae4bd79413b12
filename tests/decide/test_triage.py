"""Triage at the door: what the cheap rules already know orders the work (emergencies
first), before any score exists."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from guardian.decide.classify import router_for
from guardian.decide.triage import triage
from guardian.policy.model import Policy
from guardian.types import DEFAULT_PRIORITY, PRIORITY
from tests.conftest import example_policy

POLICY: Policy = example_policy()
ROUTER = router_for(POLICY)


def _priority(text: str, *, mentions: tuple[str, ...] = (),
              on_call: frozenset[str] | None = None, source: str = "twitter") -> int:
    return triage(ROUTER, source=source, text=text, mentions=mentions,
                  on_call=None if on_call is None else on_call.__contains__).priority


def test_an_urgency_rule_of_the_policy_makes_an_emergency_first() -> None:
    # The example town's own rules: a fallen power line, fire or smoke, in either language.
    assert _priority("Hay un cable de la luz caído en la calle Mayor, junto al colegio"
                     ) == PRIORITY["emergency"]
    assert _priority("Sale humo de un contenedor en la plaza") == PRIORITY["emergency"]
    assert _priority("There is a downed power line on Elm Street") == PRIORITY["emergency"]
    assert _priority("Un accidente en la rotonda, hay un herido") == PRIORITY["high"]


def test_every_language_is_searched_at_the_door() -> None:
    # A feed's hint is often wrong on short texts (Spanish tagged as English, say): the
    # rules of every language count, whatever the message claims to be.
    assert _priority("Cables eléctricos caídos en la calle del Pez") == PRIORITY["emergency"]
    assert _priority("fire in the bins behind the library") == PRIORITY["emergency"]


def test_a_category_urgent_by_default_is_raised() -> None:
    # The example policy makes `police` high by default.
    text = "Coches aparcados en doble fila toda la mañana en la calle Real, avisen a la policía"
    assert triage(ROUTER, source="twitter", text=text, mentions=()).urgency == "high"
    assert _priority(text) == PRIORITY["high"]


def test_everyday_requests_keep_the_normal_order() -> None:
    for text in ("La farola de la calle Olmo lleva una semana apagada",
                 "¿Puedo reservar la sala del centro cívico el jueves?",
                 "Gracias por arreglar el bache tan rápido"):
        assert _priority(text) == DEFAULT_PRIORITY, text


def test_a_mention_of_someone_on_call_now_goes_ahead() -> None:
    text = "@antonio_luz la farola de mi portal parpadea"
    assert _priority(text, on_call=frozenset({"antonio"})) == PRIORITY["high"]
    # Not on call, or the caller cannot tell: the normal order.
    assert _priority(text, on_call=frozenset({"carmen"})) == DEFAULT_PRIORITY
    assert _priority(text) == DEFAULT_PRIORITY
    # In the feed's list of mentions rather than the text; on another network it is not
    # Antonio's handle.
    plain = "la farola de mi portal parpadea"
    assert _priority(plain, mentions=("antonio_luz",),
                     on_call=frozenset({"antonio"})) == PRIORITY["high"]
    assert _priority(plain, mentions=("antonio_luz",), source="bluesky",
                     on_call=frozenset({"antonio"})) == DEFAULT_PRIORITY
    # An emergency stays an emergency.
    assert _priority("@antonio_luz cable de la luz caído en mi calle",
                     on_call=frozenset({"antonio"})) == PRIORITY["emergency"]


@given(text=st.text(max_size=200), on_call=st.booleans())
def test_triage_always_gives_a_known_priority_and_a_mention_never_lowers_it(
        text: str, on_call: bool) -> None:
    alone = _priority(text)
    assert alone in PRIORITY.values()
    mentioned = _priority(f"@antonio_luz {text}",
                          on_call=frozenset({"antonio"}) if on_call else frozenset())
    assert mentioned >= alone
