"""The policy fields the decision engine reads: routing rules (hashtags, patterns),
`urgency`, `moderation`; their errors with file and line; their documentation; and
classification on its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from guardian.decide import Judged, Post, classify
from guardian.decide.text import fingerprint, fold, keyword_regex, mentions_in, pattern_regex
from guardian.policy.model import Category, Moderation, Policy, UrgencyPolicy, UrgencyRule
from guardian.policy_files.loader import load_policy
from tests.conftest import ROOT, example_policy

TOWN = "town:\n  name: Test\n  timezone: Europe/Madrid\n  languages: [es]\n"
STAFF = ("staff:\n"
         "  - {id: ana, name: Ana, timezone: Europe/Madrid, handles: {twitter: '@ana'}}\n")
TEAMS = ("teams:\n"
         "  - {id: works, name: Works, members: [ana], categories: [roads, general]}\n"
         "categories:\n"
         "  - id: roads\n"
         "    keywords: {es: [bache]}\n"
         "  - id: general\n")


def _write(directory: Path, **files: str) -> None:
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text)


def test_the_example_town_sets_the_decision_sections() -> None:
    policy = example_policy()
    assert policy.urgency.category_defaults == {"police": "high"}
    assert {r.urgency for r in policy.urgency.rules} == {"emergency", "high"}
    assert policy.moderation.moderators == ["maria"] and policy.moderation.hr == ["lucia"]
    lighting = {c.id: c for c in policy.categories}["street_lighting"]
    assert "#alumbrado" in lighting.hashtags["any"] and lighting.patterns["es"]


def test_a_policy_without_the_new_sections_gets_the_defaults(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=STAFF, teams=TEAMS)
    result = load_policy(tmp_path)
    assert result.errors == [] and result.policy is not None
    assert result.policy.urgency == UrgencyPolicy()
    assert result.policy.moderation == Moderation()


def test_every_decision_policy_error_is_reported_with_its_file_and_line(
        tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=STAFF, teams=TEAMS + (
        "  - id: lights\n"
        "    patterns: {es: ['farola (']}\n"                         # 8: bad regex
        "urgency:\n"
        "  default: urgent\n"                                        # 10: not an urgency
        "  category_defaults: {roads: high, parks: low}\n"
        "  rules:\n"
        "    - {id: fire, keywords: [fuego], pattern: fuego, urgency: emergency}\n"  # 13
        "    - {id: smoke, urgency: high}\n"                         # 14: no matcher
    ), limits=(
        "moderation:\n"
        "  moderators: [ana, bob]\n"
        "  hr: [carla]\n"
        "  strikes_to_shield: 0\n"                                   # 4: at least 1
    ))
    # (Sections that do not validate are not checked against the others: `parks`, `bob`
    # and `carla` are the next test's.)
    result = load_policy(tmp_path)
    assert result.policy is None
    errors = [str(p) for p in result.errors]

    def found(where: str, *words: str) -> bool:
        return any(e.startswith(f"{tmp_path}/{where}: error:") and all(w in e for w in words)
                   for e in errors)

    assert found("teams.yaml:8", "'farola (' is not a valid regular expression"), errors
    assert found("teams.yaml:10", "'low', 'normal', 'high' or 'emergency'"), errors
    assert found("teams.yaml:13", "`fire` needs exactly one of `pattern` or `keywords`"), errors
    assert found("teams.yaml:14", "`smoke` needs exactly one of `pattern` or `keywords`"), errors
    assert found("limits.yaml:4", "greater than or equal to 1"), errors
    assert len(errors) == 5, errors


def test_names_in_the_decision_sections_are_checked_across_files(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=STAFF, teams=TEAMS + (
        "urgency:\n"
        "  category_defaults:\n"
        "    roads: high\n"
        "    parks: low\n"                                           # 10
    ), limits=(
        "moderation:\n"
        "  moderators: [ana, bob]\n"                                 # 2
        "  hr: [carla]\n"                                            # 3
        "  report_readers: [ana, dora]\n"                           # 4
    ))
    errors = [str(p) for p in load_policy(tmp_path).errors]
    assert errors == [
        f"{tmp_path}/limits.yaml:2: error: `moderation.moderators` lists `bob`, who is not in "
        "`staff`; add them or fix the id.",
        f"{tmp_path}/limits.yaml:3: error: `moderation.hr` lists `carla`, who is not in "
        "`staff`; add them or fix the id.",
        f"{tmp_path}/limits.yaml:4: error: `moderation.report_readers` lists `dora`, who is "
        "not in `staff`; add them or fix the id.",
        f"{tmp_path}/teams.yaml:10: error: `urgency.category_defaults` names category "
        "`parks`, which is not defined in `categories`."]


def test_every_decision_policy_field_is_documented() -> None:
    doc = (ROOT / "docs" / "decisions.md").read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [UrgencyPolicy, UrgencyRule, Moderation]
    missing = [f"{m.__name__}.{name}" for m in models for name in m.model_fields
               if f"`{name}`" not in doc]
    missing += [f"Category.{name}" for name in ("hashtags", "patterns")
                if f"`{name}`" not in doc]
    assert missing == []


# --- classification and text ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "lang", "category", "urgency"), [
    ("La FAROLA de la esquina", "es", "street_lighting", "normal"),
    ("farola y basura y contenedor", "es", "cleaning", "normal"),    # 2 keywords beat 1
    ("#Limpieza la farola", "es", "cleaning", "normal"),             # a hashtag beats both
    ("Hay un cable eléctrico en el suelo", "es", "street_lighting", "emergency"),
    ("CABLES CAIDOS en la plaza", "es", "street_lighting", "emergency"),
    ("Downed power line on Main St", "en", "street_lighting", "emergency"),
    ("my dog is on fire escape", "en", "general", "emergency"),
    ("Un accidente en la plaza", "es", "general", "high"),
    ("Robo en la tienda", "es", "police", "high"),
    ("Robo en la tienda", None, "police", "high"),                   # unknown: all languages
    ("Hola, ¿a qué hora abre el ayuntamiento?", "es", "general", "normal"),
])
def test_categories_and_urgency(town: Policy, text: str, lang: str | None, category: str,
                                urgency: str) -> None:
    found = classify(Post("twitter", "1", "@v", text, lang), Judged({}, "none", text, lang),
                     town)
    assert (found.category, found.urgency) == (category, urgency), found.reasons
    assert found.reasons


def test_a_threat_is_at_least_high_and_says_why(town: Policy) -> None:
    text = "Sé dónde vives"
    found = classify(Post("twitter", "1", "@v", text, "es"),
                     Judged({"threat": 0.93}, "threat", text, "es"), town)
    assert found.urgency == "high"
    assert any("judged a threat (threat score 0.93)" in r for r in found.reasons)


def test_mentions_are_matched_on_the_message_source_only(town: Policy) -> None:
    text = "@carmen_luz hola"
    on_twitter = classify(Post("twitter", "1", "@v", text, "es"), Judged({}, "none", text),
                          town)
    on_mastodon = classify(Post("mastodon", "1", "@v", text, "es"), Judged({}, "none", text),
                           town)
    assert on_twitter.person == "carmen" and on_twitter.team == "lighting"
    assert on_mastodon.person is None and on_mastodon.target == "team:mayor"
    fediverse = "@lucia@ejemplo.social buenas"
    found = classify(Post("mastodon", "1", "@v", fediverse, "es"),
                     Judged({}, "none", fediverse), town)
    assert found.person == "lucia"


def test_text_helpers() -> None:
    assert fold("Caído ÁRBOL ñu") == "caido arbol ñu"
    assert mentions_in("hola @ana_b, y @lucia@ejemplo.social.") == [
        "ana_b", "lucia@ejemplo.social"]
    regex = keyword_regex(["sin luz", "luz"])
    assert regex is not None and regex.findall("calle sin   luz; luz") == ["sin   luz", "luz"]
    assert keyword_regex([" "]) is None
    whole = keyword_regex(["bin"])
    assert whole is not None and not whole.search("cabinet") and whole.search("the bin")
    # A pattern's own accents are folded, but not its escapes (\W stays "not a word").
    assert pattern_regex(r"\bca[íi]do\W").search("cable caido!")
    assert not pattern_regex(r"\bcaído\W").search("cable caidoS")
    assert fingerprint("Hola  @ana https://x.test/1 ¡FAROLA!") == fingerprint("hola ¡farola!")
    assert fingerprint("hola") != fingerprint("adiós")


def test_category_patterns_are_folded_like_the_text() -> None:
    category = Category(id="x", patterns={"es": [r"\bÁrbol caído\b"]})
    assert pattern_regex(category.patterns["es"][0]).search(fold("Un ARBOL CAÍDO"))
    with pytest.raises(ValueError, match="not a valid regular expression"):
        Category(id="x", patterns={"es": ["(unclosed"]})
