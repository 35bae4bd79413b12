"""Policy files: the example town loads; every error at once, with file and line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from guardian.policy.harassment import HarassmentPolicy, Rule, Thresholds
from guardian.policy.model import (
    Category,
    Connector,
    Delivery,
    Escalation,
    EscalationChain,
    EscalationStep,
    ExposureLimits,
    Holiday,
    HolidayCalendar,
    Layer,
    OnCallLimits,
    Policy,
    PolicyFile,
    Queue,
    RateLimits,
    Replies,
    Retention,
    Rotation,
    StaffMember,
    StormThresholds,
    Swaps,
    Team,
    Town,
)
from guardian.policy_files.loader import load_policy
from tests.conftest import POLICIES

TOWN = "town:\n  name: Test\n  timezone: Europe/Madrid\n  languages: [es]\n"


def _write(directory: Path, **files: str) -> None:
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text)


def test_the_example_town_is_valid() -> None:
    result = load_policy(POLICIES)
    assert result.errors == [], [str(p) for p in result.errors]
    assert result.policy is not None
    teams = {t.id: t for t in result.policy.teams}
    assert {"lighting", "cleaning", "rooms", "health", "police"} <= set(teams)
    categories = {c.id: c for c in result.policy.categories}
    assert "farola" in categories["street_lighting"].keywords["es"]
    assert "streetlight" in categories["street_lighting"].keywords["en"]


def test_every_error_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=(
        "staff:\n"
        "  - id: ana\n"
        "    name: Ana\n"
        "    timezone: Europe/Madird\n"      # line 4: misspelt zone
        "  - id: luis\n"
        "    name: Luis\n"
        "    timezone: Europe/Madrid\n"
        "    colour: blue\n"                 # line 8: unknown field
    ), teams=(
        "teams:\n"
        "  - id: lighting\n"
        "    name: Lighting\n"
        "    members: [ana, nobody]\n"
    ))
    result = load_policy(tmp_path)
    assert result.policy is None
    messages = [str(p) for p in result.errors]
    assert any(m.startswith(f"{tmp_path}/staff.yaml:4: error:") and "Europe/Madird" in m
               for m in messages), messages
    assert any(m.startswith(f"{tmp_path}/staff.yaml:8: error:") and "`colour`" in m
               for m in messages), messages
    assert any(m.startswith(f"{tmp_path}/teams.yaml:2: error:") and "`nobody`" in m
               for m in messages), messages
    # `ana` is declared in staff.yaml even though that file has errors: no false alarm.
    assert len(messages) == 3


def test_cross_file_checks(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=(
        "staff:\n"
        "  - {id: ana, name: Ana, timezone: Europe/Madrid, handles: {twitter: '@ana'}}\n"
        "  - {id: eva, name: Eva, timezone: Europe/Madrid, handles: {twitter: '@ANA'}}\n"
    ), teams=(
        "teams:\n"
        "  - {id: lighting, name: L, members: [ana, nobody], lead: eva, categories: [lamps]}\n"
        "categories:\n"
        "  - {id: orphan}\n"
    ))
    result = load_policy(tmp_path)
    errors = [str(p) for p in result.errors]
    assert any("staff.yaml:3" in e and "@ANA" in e and "`ana`" in e for e in errors), errors
    assert any("teams.yaml:2" in e and "`nobody`" in e for e in errors), errors
    assert any("lead `eva`" in e for e in errors), errors
    assert any("`lamps`" in e for e in errors), errors
    warnings = [str(p) for p in result.warnings]
    assert any("teams.yaml:4" in w and "`orphan`" in w for w in warnings), warnings


def test_broken_yaml_and_empty_directories_are_explained(tmp_path: Path) -> None:
    assert "no *.yaml" in str(load_policy(tmp_path).errors[0])
    _write(tmp_path, town="town:\n  name: [unclosed\n")
    [problem] = load_policy(tmp_path).errors
    assert problem.file.endswith("town.yaml") and problem.line == 3
    assert "not valid YAML" in problem.message
    missing = load_policy(tmp_path / "nowhere")
    assert "is not a directory" in str(missing.errors[0])


def test_connectors_keep_credentials_out_of_the_files(tmp_path: Path) -> None:
    """A connector's credentials are `{env:NAME}` only; what each kind needs is named, with
    file and line; ids are unique."""
    shutil.copytree(POLICIES, tmp_path, dirs_exist_ok=True)
    _write(tmp_path, connectors=(
        "connectors:\n"
        "  - id: mastodon-town\n"
        "    kind: mastodon\n"
        "    url: https://ejemplo.social\n"
        "    token: 'a-literal-token-0123456789'\n"
        "  - id: bsky\n"
        "    kind: bluesky\n"
        "    account: ayto.ejemplo.es\n"
        "  - id: forms\n"
        "    kind: webhook\n"
        "    secret: '{env:FORMS_SECRET}'\n"
        "  - id: forms\n"
        "    kind: webhook\n"
        "    secret: '{env:OTHER_SECRET}'\n"))
    problems = [(p.file.rsplit("/", 1)[-1], p.line, p.message)
                for p in load_policy(tmp_path).errors]
    assert any(f == "connectors.yaml" and line == 5 and "{env:NAME}" in m
               for f, line, m in problems), problems
    assert not any("a-literal-token" in m for *_, m in problems)
    assert any(line == 6 and "needs password" in m for _, line, m in problems), problems
    assert any(line == 12 and "connector id `forms` is used twice" in m
               for _, line, m in problems), problems
    (tmp_path / "connectors.yaml").write_text(
        "connectors:\n  - id: forms\n    kind: webhook\n    secret: '{env:FORMS_SECRET}'\n")
    loaded = load_policy(tmp_path)
    assert loaded.errors == [] and loaded.policy is not None
    [forms] = loaded.policy.connectors
    assert (forms.kind, forms.polled, forms.secret) == ("webhook", False, "{env:FORMS_SECRET}")


# --- duty policies: the example town -----------------------------------------------------

NOW = dt.datetime(2026, 11, 25, 22, 48, tzinfo=dt.UTC)


def _easter(year: int) -> dt.date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher): an oracle independent of the
    policy files."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def test_the_example_town_keeps_its_people_and_teams_and_has_duty_policies() -> None:
    result = load_policy(POLICIES, now=NOW)
    assert result.problems == [], [str(p) for p in result.problems]
    policy = result.policy
    assert policy is not None
    # The lead's routing relies on these ids.
    assert [s.id for s in policy.staff] == ["lucia", "antonio", "carmen", "jose", "maria",
                                            "elena", "pablo", "raquel"]
    assert {t.id for t in policy.teams} == {"lighting", "cleaning", "rooms", "health",
                                            "police", "mayor"}
    assert {t.id: t.duty for t in policy.teams}["police"] == "police-shifts"
    assert {r.id for r in policy.rotations} == {"police-shifts", "lighting-on-call",
                                                "town-on-call"}
    assert policy.escalation is not None and policy.escalation.last_resort == "lucia"
    assert policy.rate_limits.max_per_person_per_hour == 6
    assert policy.storm.window_minutes == 30
    assert policy.exposure_limits.max_abusive_items_per_day == 60
    antonio = policy.people["antonio"]
    assert antonio.working_hours.to_spec()["mon"] == ["08:00-15:00"]
    assert "sat" not in antonio.working_hours.to_spec()
    assert all("{env:" in c for p in policy.staff for c in p.channels if ":" in
               c.split("://", 1)[-1].split("@")[0])


def test_the_example_holiday_calendar() -> None:
    policy = load_policy(POLICIES).policy
    assert policy is not None and policy.town.holidays == "ejemplo"
    days = policy.holiday_dates["ejemplo"]
    for year in (2026, 2027):
        easter = _easter(year)
        fixed = {(1, 1), (1, 6), (2, 28), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6),
                 (12, 8), (12, 25)}
        expected = {dt.date(year, m, d) for m, d in fixed} | {
            easter - dt.timedelta(days=3), easter - dt.timedelta(days=2)}  # Thu, Fri
        in_year = {d for d in days if d.year == year}
        assert expected <= in_year
        assert len(in_year - expected) == 2  # the two (invented) local days
    national = policy.holiday_dates["es-national"]
    assert dt.date(2026, 2, 28) not in national and dt.date(2026, 4, 3) in national
    assert len(national) == 20


@pytest.mark.parametrize("now", [NOW, dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC),
                                 dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
                                 dt.datetime(2027, 10, 20, tzinfo=dt.UTC)])
def test_the_example_town_has_someone_for_every_team_all_year(now: dt.datetime) -> None:
    assert load_policy(POLICIES, now=now).problems == []


# --- duty policies: errors and warnings --------------------------------------------------

STAFF = (
    "staff:\n"
    "  - id: ana\n"
    "    name: Ana\n"
    "    timezone: Europe/Madrid\n"
    "    working_hours: {mon-fri: 08:00-15:00}\n"
    "    quiet_hours: 22:00-07:00\n"
    "  - {id: luis, name: Luis, timezone: Europe/Madrid}\n"
)
TEAMS = (
    "teams:\n"
    "  - {id: night, name: Night, members: [ana, luis], on_call: night-watch}\n"
    "rotations:\n"
    "  - id: night-watch\n"
    "    name: Night watch\n"
    "    timezone: Europe/Madrid\n"
    "    layers:\n"
    "      - members: [ana, luis]\n"
    "        shift: daily\n"
    "        hand_off: 20:00\n"
    "        start: 2026-01-05\n"
)


def test_a_valid_duty_policy_reads_unquoted_times_as_times(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=STAFF, teams=TEAMS)
    result = load_policy(tmp_path, now=NOW)
    assert result.problems == [], [str(p) for p in result.problems]
    assert result.policy is not None
    [rotation] = result.policy.rotations
    assert rotation.layers[0].hand_off == dt.time(20, 0)
    assert str(result.policy.people["ana"].quiet_hours.days[0][0]) == "22:00-07:00"


def test_every_duty_error_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=(
        "staff:\n"
        "  - id: ana\n"
        "    name: Ana\n"
        "    timezone: Europe/Madrid\n"
        "    working_hours:\n"
        "      mon-fry: 08:00-15:00\n"            # 6: not a day
        "      sat: 8-13\n"                       # 7: not a window
        "    channels:\n"
        "      - mailtos://ana:hunter2@smtp.example.es\n"  # 9: a password in the file
        "      - no-scheme\n"                     # 10
        # 11: unknown calendar (checked although ana, in the same file, is invalid)
        "  - {id: luis, name: Luis, timezone: Europe/Madrid, holidays: nowhere}\n"
    ), teams=(
        "teams:\n"
        "  - id: night\n"
        "    name: Night\n"
        "    members: [ana]\n"
        "    on_call: night-wach\n"               # 5: unknown rotation
        "    escalation: urgent\n"                # 6: unknown chain
        "rotations:\n"
        "  - id: night-watch\n"
        "    name: Night watch\n"
        "    timezone: Europe/Madrid\n"
        "    layers:\n"
        "      - members: [ana, nobody]\n"        # 12: unknown person
        "        shift: daily\n"
        "        hand_off: 20:00\n"
        "        start: 2026-01-05\n"
        "  - id: day\n"
        "    name: Day\n"
        "    timezone: Europe/Madird\n"           # 18: misspelt zone
        "    layers:\n"
        "      - {members: [ana], shift: P1M, hand_off: 08:00, start: 2026-01-05}\n"  # 20
        "  - id: evening\n"                       # 21: two layers, one priority
        "    name: Evening\n"
        "    timezone: Europe/Madrid\n"
        "    layers:\n"
        "      - {name: a, members: [ana], shift: daily, hand_off: 08:00, start: 2026-01-05}\n"
        "      - {name: b, members: [ana], shift: daily, hand_off: 09:00, start: 2026-01-05}\n"
    ), escalation=(
        "escalation:\n"
        "  last_resort: ana\n"
        "  default_chain: standard\n"
        "  chains:\n"
        "    - id: standard\n"
        "      repeat: 7\n"                       # 6: at most 5
        "      steps:\n"
        "        - {who: person, delay_minutes: 10}\n"   # 8: whom?
        "        - {who: team_lead, delay_minutes: 10, person: ana}\n"  # 9
        "holiday_calendars:\n"
        "  - {id: a, name: A, include: [b]}\n"   # 11: a cycle
        "  - {id: b, name: B, include: [a, c]}\n"  # 12: a cycle and an unknown
    ))
    result = load_policy(tmp_path)
    assert result.policy is None
    errors = [str(p) for p in result.errors]

    def found(where: str, *words: str) -> bool:
        return any(e.startswith(f"{tmp_path}/{where}: error:") and all(w in e for w in words)
                   for e in errors)

    assert found("staff.yaml:6", "'mon-fry' is not a day"), errors
    assert found("staff.yaml:7", "'8' is not a time of day"), errors
    assert found("staff.yaml:9", "password written in the file", "{env:NAME}"), errors
    assert not any("hunter2" in e for e in errors)
    assert found("staff.yaml:10", "needs a scheme"), errors
    assert found("staff.yaml:11", "`nowhere`", "holiday_calendars"), errors
    assert found("teams.yaml:5", "`night-wach`"), errors
    assert found("teams.yaml:6", "`urgent`"), errors
    assert found("teams.yaml:12", "`nobody`"), errors
    assert found("teams.yaml:18", "Europe/Madird"), errors
    assert found("teams.yaml:20", "months are not supported"), errors
    assert found("teams.yaml:21", "same priority"), errors
    assert found("escalation.yaml:6", "less than or equal to 5"), errors
    assert found("escalation.yaml:8", "`person` is needed"), errors
    assert found("escalation.yaml:9", "`person` is needed"), errors
    assert found("escalation.yaml:11", "`a` includes itself"), errors
    assert found("escalation.yaml:12", "`b` includes itself"), errors
    assert found("escalation.yaml:12", "`c`, which is not defined"), errors
    assert len(errors) == 17, errors


def test_escalation_references_are_checked(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=STAFF, teams=TEAMS, escalation=(
        "escalation:\n"
        "  last_resort: mayor\n"
        "  default_chain: standrd\n"
        "  chains:\n"
        "    - id: standard\n"
        "      steps:\n"
        "        - {who: person, person: nobody, delay_minutes: 10}\n"))
    errors = [str(p) for p in load_policy(tmp_path).errors]
    assert any("escalation.yaml:2" in e and "`mayor`" in e for e in errors), errors
    assert any("escalation.yaml:2" in e and "`standrd`" in e for e in errors), errors
    assert any("escalation.yaml:7" in e and "`nobody`" in e for e in errors), errors
    assert len(errors) == 3, errors


def test_duty_warnings(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff=STAFF.replace("quiet_hours: 22:00-07:00",
                                                    "quiet_hours: 14:00-07:00"),
           teams=TEAMS.replace("start: 2026-01-05", "start: 2026-12-01")
           + "  - {id: spare, name: Spare, timezone: UTC, layers: [{members: [ana], "
             "shift: daily, hand_off: 08:00, start: 2026-01-01}]}\n"
           + "escalation:\n  last_resort: ana\n  default_chain: c\n  chains:\n"
             "    - {id: c, steps: [{who: team_lead, delay_minutes: 5}]}\n",
           holidays="holiday_calendars:\n  - {id: h, name: H, days: [{date: 2026-12-08, "
                    "name: X}, {date: 2026-12-08, name: Y}]}\n")
    (tmp_path / "town.yaml").write_text(TOWN + "  holidays: h\n")
    result = load_policy(tmp_path, now=NOW)
    assert result.errors == [], [str(p) for p in result.errors]
    warnings = [str(p) for p in result.warnings]

    def found(where: str, *words: str) -> bool:
        return any(w.startswith(f"{tmp_path}/{where}: warning:") and all(x in w for x in words)
                   for w in warnings)

    assert found("staff.yaml:6", "`ana`'s working hours overlap their quiet hours",
                 "Mon 14:00-Mon 15:00"), warnings
    # The night watch starts on 1 December: until then no one is on duty or on call.
    assert found("teams.yaml:2", "team `night` has no one on duty or on call",
                 "2026-11-25 23:48 to 2026-11-26 08:00", "and 2 more"), warnings
    assert found("teams.yaml:12", "`spare` is not used by any team"), warnings
    assert found("teams.yaml:2", "has no `lead`"), warnings
    assert found("holidays.yaml:2", "lists 2026-12-08 twice"), warnings
    assert len(warnings) == 5, warnings
    # Without `now`, nothing that depends on the date is checked.
    assert len(load_policy(tmp_path).warnings) == 4


def test_a_holiday_calendar_that_runs_out_is_flagged() -> None:
    [warning] = load_policy(POLICIES, now=dt.datetime(2027, 12, 20, tzinfo=dt.UTC)).warnings
    assert warning.file.endswith("holidays.yaml")
    assert "`ejemplo` lists no holidays in 2028" in warning.message


def test_a_team_with_no_working_hours_and_no_rotation_is_flagged(tmp_path: Path) -> None:
    _write(tmp_path, town=TOWN, staff="staff:\n  - {id: ana, name: Ana, timezone: UTC}\n",
           teams="teams:\n  - {id: idle, name: Idle, members: [ana]}\n")
    [warning] = load_policy(tmp_path, now=NOW).warnings
    assert warning.line == 2 and "no one on duty at any time" in warning.message


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        load_policy(POLICIES, now=dt.datetime(2026, 11, 25, 12))


def test_the_policy_is_immutable_and_round_trips_through_json() -> None:
    policy = load_policy(POLICIES).policy
    assert policy is not None
    with pytest.raises(ValidationError):
        policy.town = policy.town  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.rotations[0].layers[0].members = []  # type: ignore[misc]
    again = Policy.model_validate_json(policy.model_dump_json())
    assert again == policy
    assert again.model_dump(mode="json")["rotations"][1]["layers"][0]["shift"] == "P7D"


def test_every_policy_field_is_documented() -> None:
    doc = (POLICIES.parent / "docs" / "policies.md").read_text(encoding="utf-8")
    fenced = re.compile(r"```[a-z]*\n(.*?)```", flags=re.DOTALL)  # yaml, sh, text
    code = " ".join([*fenced.findall(doc), *re.findall(r"`([^`]+)`", fenced.sub("", doc))])
    models: list[type[BaseModel]] = [
        PolicyFile, Town, StaffMember, Team, Category, Rotation, Layer, HolidayCalendar,
        Holiday, Escalation, EscalationChain, EscalationStep, RateLimits, StormThresholds,
        ExposureLimits, HarassmentPolicy, Rule, Thresholds, Delivery, Swaps, OnCallLimits,
        Retention, Connector, Replies, Queue]
    # A field is written in YAML under its alias when it has one (`raise`).
    missing = [f"{m.__name__}.{name}" for m in models
               for name in (f.alias or n for n, f in m.model_fields.items())
               if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", code)]
    assert missing == []


def test_channel_urls_are_checked_by_apprise(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOD_BOT", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    _write(tmp_path, town=TOWN, staff=(
        "staff:\n"
        "  - id: ana\n"
        "    name: Ana\n"
        "    timezone: Europe/Madrid\n"
        "    channels:\n"
        "      - 'json://127.0.0.1:8080/hook'\n"
        "      - 'tgram://{env:GOOD_BOT}/12345'\n"
        "      - 'tgram://{env:UNSET_BOT}/12345'\n"   # checked where the secret exists
        "      - 'nosuchservice://somewhere'\n"         # line 9
        "      - 'tgram://not-a-bot-token/'\n"          # line 10
    ))
    errors = [str(p) for p in load_policy(tmp_path).errors]
    assert len(errors) == 2, errors
    assert "staff.yaml:9" in errors[0] and "channel 4 of `ana`" in errors[0]
    assert "staff.yaml:10" in errors[1] and "tgram://" in errors[1]


def test_someone_kept_on_call_week_after_week_is_flagged(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "p")
    rotations = tmp_path / "p" / "rotations.yaml"
    rotations.write_text(rotations.read_text(encoding="utf-8").replace(
        "members: [antonio, carmen]", "members: [antonio]"), encoding="utf-8")
    [warning] = load_policy(tmp_path / "p", now=NOW).warnings
    assert warning.file.endswith("staff.yaml") and warning.line is not None
    assert "antonio is on call" in warning.message
    assert "`on_call_limits.max_consecutive_weeks`" in warning.message


def test_a_date_that_does_not_exist_is_reported_with_its_line(tmp_path: Path) -> None:
    shutil.copytree(POLICIES, tmp_path / "p")
    holidays = tmp_path / "p" / "holidays.yaml"
    text = holidays.read_text(encoding="utf-8")
    holidays.write_text(text.replace("2026-01-06", "2026-12-32", 1), encoding="utf-8")
    result = load_policy(tmp_path / "p")
    [problem] = [p for p in result.errors if "2026-12-32" in p.message]
    assert problem.file.endswith("holidays.yaml") and problem.line is not None
    assert "is not a real date" in problem.message


@pytest.mark.parametrize(("url", "named"), [
    ("ntfy://ntfy.sh/guardian?token=tk_live_abc123", "`token`"),
    ("json://hooks.example/in?+X-Api-Key=s3cr3tvalue", "the header `X-Api-Key`"),
    ("tgram://123456789:AAFakeTokenAbcdefghijklmnopqrstuv/987654", "a token in the path"),
    ("slack://T1234ABCD/B5678EFGH/aBcDeFgHiJkLmNoPqRsTuVwX12/#general",
     "a token in the path"),
])
def test_a_literal_secret_anywhere_in_a_channel_url_is_refused(
        tmp_path: Path, url: str, named: str) -> None:
    shutil.copytree(POLICIES, tmp_path / "p")
    staff = tmp_path / "p" / "staff.yaml"
    text = staff.read_text(encoding="utf-8")
    staff.write_text(text.replace('"ntfy://ntfy.ejemplo.es/guardian-antonio"', f'"{url}"', 1),
                     encoding="utf-8")
    result = load_policy(tmp_path / "p")
    [problem] = [p for p in result.errors if "written in the file" in p.message]
    assert named in problem.message and "{env:NAME}" in problem.message
    secret = url.split("=")[-1] if "=" in url else url.split("/")[-2 if "slack" in url else 2]
    assert secret not in problem.message  # the error never repeats it
    # Written as a reference, the same channel is fine.
    fixed = text.replace('"ntfy://ntfy.ejemplo.es/guardian-antonio"',
                         '"json://hooks.example/in?+X-Api-Key={env:HOOK_KEY}"', 1)
    staff.write_text(fixed, encoding="utf-8")
    assert load_policy(tmp_path / "p").errors == []
