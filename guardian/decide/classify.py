"""Classification: what a message is about (category), whose it is (team, person), and how
urgent it is, each choice with its reason. Pure; the policy's rules are compiled once per
policy object and cached.

Category, by the policy's routing rules in the message's language (and those under `any`;
all languages when the language is unknown): every hashtag found scores 3, every pattern
2, every keyword 1; the highest score wins, ties go to the category owned by a mentioned
person's team, then to the order of `categories`. Nothing matches: `general`.

Person: the first staff member mentioned by their handle on the message's source. The
message is addressed to them, except when a routing rule chose a category owned by a team
they are not in (a resident tagging the mayor about a street lamp): then the category's
team has it, as the mayor would have forwarded it.

Urgency: the most urgent of the matching urgency rules and the category's default (the
policy's `default` when neither applies), raised to `threat_minimum` for a threat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardian.decide.inputs import AssessmentLike, MessageLike
from guardian.decide.text import (
    fold,
    handle_key,
    hashtags_in,
    keyword_regex,
    mentions_in,
    normal_spaces,
    pattern_regex,
)
from guardian.policy.model import URGENCIES, Policy, Urgency
from guardian.schedule.availability import QuietCache, rotation_duty

DEFAULT_CATEGORY = "general"
ANY = "any"
_RANK = {u: i for i, u in enumerate(URGENCIES)}
_WEIGHT = {"hashtag": 3, "pattern": 2, "keyword": 1}
_CACHE_SIZE = 16


@dataclass(frozen=True, slots=True)
class _CategoryRules:
    """Every category's rules for a set of languages, merged so a message is searched
    once for all keywords (not once per category)."""

    keywords: re.Pattern[str] | None
    by_keyword: dict[str, tuple[str, ...]]    # folded keyword -> its categories
    by_hashtag: dict[str, tuple[str, ...]]    # folded tag without `#` -> its categories
    patterns: tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True, slots=True)
class _UrgencyRule:
    id: str
    lang: str
    urgency: Urgency
    regex: re.Pattern[str]
    description: str


class Router:
    """A policy's routing and urgency rules, compiled."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        languages = {ANY, *policy.town.languages}
        for category in policy.categories:
            languages |= {*category.keywords, *category.hashtags, *category.patterns}
        languages |= {r.lang for r in policy.urgency.rules}
        self.languages = frozenset(languages - {ANY})
        self.order = {c.id: i for i, c in enumerate(policy.categories)}
        self.by_lang: dict[str, _CategoryRules] = {
            lang: self._category_rules((lang, ANY)) for lang in self.languages}
        self.all_langs = self._category_rules(tuple(languages))
        rules = [_UrgencyRule(r.id, r.lang, r.urgency,
                              pattern_regex(r.pattern) if r.pattern is not None
                              else _must(keyword_regex(r.keywords)), r.description)
                 for r in policy.urgency.rules]
        self.urgency_by_lang = {lang: tuple(r for r in rules if r.lang in (lang, ANY))
                                for lang in self.languages}
        self.urgency_all = tuple(rules)
        self.owner: dict[str, str] = {}
        for team in policy.teams:
            for category_id in team.categories:
                self.owner.setdefault(category_id, team.id)
        self.handles: dict[tuple[str, str], str] = {
            (feed, handle_key(handle)): member.id
            for member in policy.staff for feed, handle in member.handles.items()}
        self.quiet_cache: QuietCache = {}
        self.duty_index = rotation_duty(policy, "duty")
        self.call_index = rotation_duty(policy, "on_call")
        # For reasons: each person's quiet hours as text.
        self.quiet_text = {m.id: ", ".join(sorted({str(w) for day in m.quiet_hours.days
                                                   for w in day}))
                           for m in policy.staff}
        self.teams_of: dict[str, tuple[str, ...]] = {
            member.id: tuple(t.id for t in policy.teams if member.id in t.members)
            for member in policy.staff}

    def _category_rules(self, langs: tuple[str, ...]) -> _CategoryRules:
        by_keyword: dict[str, list[str]] = {}
        by_hashtag: dict[str, list[str]] = {}
        patterns: list[tuple[str, re.Pattern[str]]] = []
        for category in self.policy.categories:
            for lang in langs:
                for word in category.keywords.get(lang, ()):
                    _once(by_keyword, normal_spaces(fold(word)), category.id)
                for tag in category.hashtags.get(lang, ()):
                    _once(by_hashtag, fold(tag).lstrip("#"), category.id)
                patterns += [(category.id, pattern_regex(p))
                             for p in category.patterns.get(lang, ())]
        return _CategoryRules(keyword_regex(list(by_keyword)),
                              {k: tuple(v) for k, v in by_keyword.items()},
                              {k: tuple(v) for k, v in by_hashtag.items()}, tuple(patterns))


def _once(index: dict[str, list[str]], key: str, category: str) -> None:
    found = index.setdefault(key, [])
    if category not in found:
        found.append(category)


def _must(regex: re.Pattern[str] | None) -> re.Pattern[str]:
    assert regex is not None  # the model requires keywords or a pattern
    return regex


_ROUTERS: dict[int, Router] = {}


def router_for(policy: Policy) -> Router:
    """The compiled rules of `policy`, built once per policy object (a reloaded policy is
    a new object, so it gets its own)."""
    router = _ROUTERS.get(id(policy))
    if router is not None and router.policy is policy:
        return router
    if len(_ROUTERS) >= _CACHE_SIZE:
        _ROUTERS.clear()
    router = _ROUTERS[id(policy)] = Router(policy)
    return router


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    team: str | None         # the team whose work it is (None: no team owns it)
    person: str | None       # the staff member it is addressed to, if any
    mentioned: tuple[str, ...]
    target: str              # what a pile-on would be aimed at: person, else team
    urgency: Urgency
    lang: str | None
    reasons: tuple[str, ...]


def _lang(message: MessageLike, assessment: AssessmentLike) -> str | None:
    lang = assessment.lang or message.lang
    return lang.split("-")[0].lower() if lang else None


def category_of(router: Router, text: str, folded: str, lang: str | None,
                preferred: set[str]) -> tuple[str, str | None]:
    """The category the routing rules give `text` (folded: `folded`), and why; None for
    why when nothing matched (`general`)."""
    # An unknown or unexpected language: every language's rules.
    rules = (router.by_lang[lang] if lang is not None and lang in router.languages
             else router.all_langs)
    found: dict[str, list[tuple[str, str]]] = {}
    if rules.by_hashtag and "#" in text:
        for tag in sorted(hashtags_in(text)):
            for category in rules.by_hashtag.get(tag, ()):
                found.setdefault(category, []).append(("hashtag", f"#{tag}"))
    for category, pattern in rules.patterns:
        match = pattern.search(folded)
        if match:
            found.setdefault(category, []).append(("pattern", match.group(0)))
    if rules.keywords is not None:
        for word in dict.fromkeys(normal_spaces(w) for w in rules.keywords.findall(folded)):
            for category in rules.by_keyword[word]:
                found.setdefault(category, []).append(("keyword", word))
    if not found:
        return DEFAULT_CATEGORY, None

    def rank(category: str) -> tuple[int, bool, int]:
        score = sum(_WEIGHT[kind] for kind, _ in found[category])
        return score, category in preferred, -router.order[category]

    best = max(found, key=rank)
    what = ", ".join(f"{kind} {value!r}" for kind, value in found[best][:4])
    return best, (f"category {best} ({what}; score {rank(best)[0]}, language "
                  f"{lang or 'unknown'})")


def urgency_of(router: Router, folded: str, lang: str | None, category: str,
             assessment: AssessmentLike) -> tuple[Urgency, list[str]]:
    policy = router.policy.urgency
    rules = (router.urgency_by_lang[lang] if lang is not None and lang in router.languages
             else router.urgency_all)
    candidates: list[tuple[Urgency, str]] = []
    for rule in rules:
        match = rule.regex.search(folded)
        if match:
            what = f" ({rule.description})" if rule.description else ""
            candidates.append((rule.urgency, f"urgency rule {rule.id} matched "
                                             f"{match.group(0)!r}{what}"))
    default = policy.category_defaults.get(category)
    if default is not None:
        candidates.append((default, f"category {category} is {default} by default"))
    if candidates:
        urgency, why = max(candidates, key=lambda c: _RANK[c[0]])
        reasons = [f"urgency {urgency}: {why}"]
    else:
        urgency = policy.default
        reasons = [f"urgency {urgency}: no urgency rule matched (the policy's default)"]
    if assessment.level == "threat" and _RANK[urgency] < _RANK[policy.threat_minimum]:
        urgency = policy.threat_minimum
        score = assessment.labels.get("threat", 0.0)
        reasons.append(f"urgency raised to {urgency}: judged a threat (threat score "
                       f"{score:.2f}), and every message here is aimed at the town's staff")
    return urgency, reasons


def classify(message: MessageLike, assessment: AssessmentLike, policy: Policy
             ) -> Classification:
    return classify_folded(message, assessment, router_for(policy), fold(message.text))


def classify_folded(message: MessageLike, assessment: AssessmentLike, router: Router,
                    folded: str) -> Classification:
    """`classify`, with the compiled rules and the folded text at hand (the engine has
    them already)."""
    policy = router.policy
    text = message.text
    lang = _lang(message, assessment)
    reasons: list[str] = []

    mentioned: list[str] = []
    for raw in (*message.mentions, *mentions_in(text)):
        staff_id = router.handles.get((message.source, handle_key(raw)))
        if staff_id is not None and staff_id not in mentioned:
            mentioned.append(staff_id)
            reasons.append(f"mentions {raw if raw.startswith('@') else '@' + raw} on "
                           f"{message.source}: {staff_id}")
    preferred = {c for p in mentioned for t in router.teams_of.get(p, ())
                 for c in policy.team_index[t].categories}

    category, why = category_of(router, text, folded, lang, preferred)
    reasons.append(why or f"category {category}: no routing rule matched")

    owner = router.owner.get(category) or router.owner.get(DEFAULT_CATEGORY)
    if owner is not None and category not in router.owner:
        reasons.append(f"no team owns {category}: {owner} (owner of {DEFAULT_CATEGORY}) "
                       "has it")
    person: str | None = None
    team = owner
    for candidate in mentioned:
        teams = router.teams_of.get(candidate, ())
        if why is not None and owner is not None and owner not in teams:
            reasons.append(f"{candidate} is mentioned but {category} belongs to team "
                           f"{owner}: {owner} has it")
            continue
        person = candidate
        team = owner if owner in teams else (teams[0] if teams else owner)
        reasons.append(f"addressed to {person} (team {team})")
        break
    target = f"person:{person}" if person else (
        f"person:{mentioned[0]}" if mentioned else f"team:{team}" if team else "town")

    urgency, why_urgent = urgency_of(router, folded, lang, category, assessment)
    reasons += why_urgent
    return Classification(category=category, team=team, person=person,
                          mentioned=tuple(mentioned), target=target, urgency=urgency,
                          lang=lang, reasons=tuple(reasons))
