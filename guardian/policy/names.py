"""Things of the policy by the names people read (pages, notifications), never by ids such
as `street_lighting`: pure look-ups, with a readable fallback when the policy names
nothing (an id no longer in the policy, a category without `names`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from guardian.policy.model import Policy


def readable_id(ident: str) -> str:
    """`street_lighting` → "Street lighting": what an unnamed id reads as."""
    words = ident.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else ident


def category_name(policy: Policy | None, category: str | None, lang: str) -> str:
    """The category in `lang`, else in the town's first language that names it."""
    if not category:
        return ""
    found = next((c for c in policy.categories if c.id == category), None) if policy else None
    if found is not None and found.names:
        if lang in found.names:
            return found.names[lang]
        for town_lang in policy.town.languages if policy else ():
            if town_lang in found.names:
                return found.names[town_lang]
        return next(iter(found.names.values()))
    return readable_id(category)


def team_name(policy: Policy | None, team: str | None) -> str:
    if not team:
        return ""
    found = policy.team_index.get(team) if policy is not None else None
    return found.name if found is not None else readable_id(team)


def person_name(policy: Policy | None, staff_id: str | None) -> str:
    if not staff_id:
        return ""
    found = policy.people.get(staff_id) if policy is not None else None
    return found.name if found is not None else staff_id


def person_zone(policy: Policy | None, staff_id: str) -> ZoneInfo:
    """The person's clock: their time zone, else the town's (an id no longer in the
    policy), else UTC (no policy loaded)."""
    if policy is None:
        return ZoneInfo("UTC")
    person = policy.people.get(staff_id)
    return ZoneInfo(person.timezone if person is not None else policy.town.timezone)
