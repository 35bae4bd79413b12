"""The policy model. Pure: validation only, no I/O, no clock.

Times of day are local wall-clock times in the time zone of whoever they belong to (a
person, a rotation); the arithmetic on them lives in `guardian.schedule`.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import core_schema

from guardian.policy.harassment import HarassmentPolicy, valid_regex
from guardian.policy.public_holidays import (
    country_problem,
    names_language,
    package_days,
    subdivision_problem,
)
from guardian.policy.urls import ENV_REF, literal_secrets, redact

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
FEEDS = ("twitter", "mastodon", "bluesky", "webhook")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HANDLE = re.compile(r"^@?[\w.@-]{1,256}$")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
MINUTES_PER_DAY = 24 * 60


def _timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Madrid"
        ) from None
    return name


def _handles(handles: dict[str, str]) -> dict[str, str]:
    for feed, handle in handles.items():
        if feed not in FEEDS:
            raise ValueError(f"unknown feed {feed!r}; use one of: {', '.join(FEEDS)}")
        if not _HANDLE.match(handle):
            raise ValueError(f"{handle!r} does not look like a handle on {feed}")
    return handles


TimeZoneName = Annotated[str, AfterValidator(_timezone)]


# --- times of day and weekly windows ---------------------------------------------------

def _clock_minutes(text: str, *, allow_24: bool) -> int:
    match = _CLOCK.match(text.strip())
    minutes = int(match[1]) * 60 + int(match[2]) if match else -1
    if not match or minutes > MINUTES_PER_DAY or (minutes == MINUTES_PER_DAY and not allow_24):
        raise ValueError(f"{text!r} is not a time of day; write it as HH:MM, e.g. \"08:00\"")
    return minutes


def _fmt_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_time(value: object) -> object:
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time of day; write it in quotes as HH:MM, "
                         "e.g. \"08:00\"")
    minutes = _clock_minutes(value, allow_24=False)
    return dt.time(minutes // 60, minutes % 60)


ClockTime = Annotated[dt.time, BeforeValidator(_clock_time),
                      PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]


@dataclass(frozen=True, slots=True, order=True)
class TimeWindow:
    """`HH:MM-HH:MM` in local wall-clock time, start-inclusive, end-exclusive.

    An end at or before the start wraps past midnight (22:00-07:00); equal ends mean a
    whole day from the start (11:00-11:00 is "always", as in Opsgenie); 24:00 may end one.
    """

    start: int  # minutes after local midnight, 0..1439
    end: int    # minutes after local midnight, 0..1440

    @property
    def minutes(self) -> int:
        return (self.end - self.start - 1) % MINUTES_PER_DAY + 1

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        parts = re.split(r"\s*[-\u2013]\s*", text.strip())  # also an en dash
        if len(parts) != 2:
            raise ValueError(f"{text!r} is not a time window; write it as HH:MM-HH:MM, "
                             "e.g. \"08:00-15:00\"")
        return cls(_clock_minutes(parts[0], allow_24=False),
                   _clock_minutes(parts[1], allow_24=True))

    def __str__(self) -> str:
        return f"{_fmt_minutes(self.start)}-{_fmt_minutes(self.end)}"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            lambda v: str(v) if isinstance(v, TimeWindow) else v,
            core_schema.no_info_after_validator_function(cls.parse, core_schema.str_schema()),
            serialization=core_schema.plain_serializer_function_ser_schema(str))


def _day_spec(spec: str) -> str:
    _days_of(spec)
    return spec


def _days_of(spec: str) -> list[int]:
    """`mon`, `mon-fri`, `fri-mon` (wraps), `sat,sun`, `daily` -> weekday numbers."""
    days: list[int] = []
    for part in (p.strip().lower() for p in str(spec).split(",")):
        if part == "daily":
            days.extend(range(7))
            continue
        ends = [e.strip() for e in part.split("-")]
        if len(ends) > 2 or any(e not in DAYS for e in ends):
            raise ValueError(f"{part!r} is not a day; use mon, tue, wed, thu, fri, sat, sun, "
                             "a range such as mon-fri, a list such as sat,sun, or daily")
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
    return days


DaySpec = Annotated[str, AfterValidator(_day_spec)]


def _week_shorthand(value: object) -> object:
    # "22:00-07:00" or a list of windows means every day; a WeekSchedule passes through.
    if isinstance(value, WeekSchedule):
        return value.to_spec()
    if isinstance(value, str | list):
        return {"daily": value if isinstance(value, list) else [value]}
    if isinstance(value, dict):
        return {k: v if not isinstance(v, str) else [v] for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class WeekSchedule:
    """Windows per weekday (Monday first); a window belongs to the day it starts on."""

    days: tuple[tuple[TimeWindow, ...], ...] = ((),) * 7
    EMPTY: ClassVar[WeekSchedule]

    def __bool__(self) -> bool:
        return any(self.days)

    @classmethod
    def from_spec(cls, spec: dict[str, list[TimeWindow]]) -> WeekSchedule:
        days: list[set[TimeWindow]] = [set() for _ in range(7)]
        for key, windows in spec.items():
            for day in _days_of(key):
                days[day].update(windows)
        return cls(tuple(tuple(sorted(d)) for d in days))

    @classmethod
    def parse(cls, value: object) -> WeekSchedule:
        """For code and tests: the same shapes as YAML (`{"mon-fri": ["08:00-15:00"]}`)."""
        return _WEEK_ADAPTER.validate_python(value)

    def to_spec(self) -> dict[str, list[str]]:
        return {DAYS[i]: [str(w) for w in windows]
                for i, windows in enumerate(self.days) if windows}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler
                                     ) -> core_schema.CoreSchema:
        spec = handler.generate_schema(dict[DaySpec, list[TimeWindow]])
        return core_schema.no_info_before_validator_function(
            _week_shorthand,
            core_schema.no_info_after_validator_function(cls.from_spec, spec),
            serialization=core_schema.plain_serializer_function_ser_schema(cls.to_spec))


WeekSchedule.EMPTY = WeekSchedule()
_WEEK_ADAPTER: TypeAdapter[WeekSchedule] = TypeAdapter(WeekSchedule)


# --- channels ---------------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
def _channel(url: str) -> str:
    """An apprise URL's shape only (apprise validates the rest when it sends): a scheme, and
    any password as an `{env:NAME}` reference rather than written in the file."""
    if url.count("{env") != len(ENV_REF.findall(url)):
        raise ValueError("a secret reference is malformed; write {env:NAME}, NAME in capital "
                         "letters, digits and _ (e.g. {env:SMTP_PASSWORD})")
    if ENV_REF.fullmatch(url):
        return url  # the whole URL comes from the environment
    refs = ENV_REF.findall(url)
    masked = ENV_REF.sub(lambda m: f"\x00{refs.index(m[1])}\x00", url)
    if not _SCHEME.match(masked) or any(c.isspace() for c in masked):
        raise ValueError(f"{redact(url)!r} is not a channel URL: it needs a scheme such as "
                         "mailto://, json:// or tgram:// (see apprise's list of services)")
    found = literal_secrets(url)
    if found:
        what = ("a password" if found == ["the password"]
                else f"a secret ({', '.join(found)})")
        raise ValueError(f"{redact(url)!r} has {what} written in the file; put it in an "
                         "environment variable or the secrets file and write {env:NAME} in "
                         "its place")
    return url


ChannelUrl = Annotated[str, AfterValidator(_channel)]


# --- shift lengths ----------------------------------------------------------------------

_NAMED_SHIFTS = {"hourly": dt.timedelta(hours=1), "daily": dt.timedelta(days=1),
                 "weekly": dt.timedelta(weeks=1)}
_SHORT = re.compile(r"^(\d+)\s*(m|min|h|d|w)$")
_SHORT_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
MIN_SHIFT = dt.timedelta(minutes=15)
MAX_SHIFT = dt.timedelta(days=366)


def _shift_length(value: object) -> object:
    length: dt.timedelta | None
    if isinstance(value, dt.timedelta):
        length = value
    elif isinstance(value, str):
        text = value.strip()
        short, iso = _SHORT.match(text.lower()), _ISO.match(text.upper())
        if text.lower() in _NAMED_SHIFTS:
            length = _NAMED_SHIFTS[text.lower()]
        elif short:
            length = dt.timedelta(**{_SHORT_UNITS[short[2]]: int(short[1])})
        elif iso and text.upper() not in ("P", "PT"):
            weeks, days, hours, minutes = (int(g or 0) for g in iso.groups())
            length = dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
        else:
            length = None
        if length is None:
            raise ValueError(f"{value!r} is not a shift length; use hourly, daily, weekly, "
                             "a length such as 12h, 3d, 2w, or an ISO 8601 duration such as "
                             "PT12H or P2W (months are not supported)")
    else:
        raise ValueError(f"{value!r} is not a shift length; use hourly, daily, weekly or "
                         "e.g. \"12h\"")
    if not MIN_SHIFT <= length <= MAX_SHIFT or length % dt.timedelta(minutes=1):
        raise ValueError(f"a shift must last between 15 minutes and 366 days, in whole "
                         f"minutes (got {value!r})")
    return length


def _iso_duration(length: dt.timedelta) -> str:
    days, seconds = length.days, length.seconds
    time = (f"{seconds // 3600}H" if seconds // 3600 else "") + (
        f"{seconds % 3600 // 60}M" if seconds % 3600 // 60 else "")
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


ShiftLength = Annotated[dt.timedelta, BeforeValidator(_shift_length),
                        PlainSerializer(_iso_duration, return_type=str)]


# --- regular expressions ----------------------------------------------------------------

RegexPattern = Annotated[str, AfterValidator(valid_regex)]


# --- the model ---------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Town(_Strict):
    name: str
    timezone: TimeZoneName
    languages: list[LanguageCode] = Field(min_length=1)
    holidays: Slug | None = None  # the holiday calendar staff follow unless they set one


class StaffMember(_Strict):
    id: Slug
    name: str
    role: str | None = None
    handles: Annotated[dict[str, str], AfterValidator(_handles)] = Field(default_factory=dict)
    timezone: TimeZoneName
    languages: list[LanguageCode] = Field(default_factory=lambda: ["es"])
    channels: list[ChannelUrl] = Field(default_factory=list)  # in order of preference
    working_hours: WeekSchedule = WeekSchedule.EMPTY
    quiet_hours: WeekSchedule = WeekSchedule.EMPTY
    holidays: Slug | None = None  # a holiday calendar id; default: the town's


class Team(_Strict):
    id: Slug
    name: str
    members: list[Slug] = Field(min_length=1)
    lead: Slug | None = None
    categories: list[Slug] = Field(default_factory=list)
    duty: Slug | None = None        # rotation deciding who is on duty (else: working hours)
    on_call: Slug | None = None     # rotation paged outside working hours
    escalation: Slug | None = None  # escalation chain (else: the default chain)


class Category(_Strict):
    id: Slug
    # What staff read on their pages and notifications, per language (`es: Alumbrado
    # público`); without one, the id with spaces ("street lighting").
    names: dict[LanguageCode, Annotated[str, StringConstraints(min_length=1, max_length=80)]
                ] = Field(default_factory=dict)
    keywords: dict[LanguageCode, list[str]] = Field(default_factory=dict)
    # Routing rules besides keywords (see docs/decisions.md); `any` as a language key
    # applies to messages in every language.
    hashtags: dict[LanguageCode, list[str]] = Field(default_factory=dict)
    patterns: dict[LanguageCode, list[RegexPattern]] = Field(default_factory=dict)


class Layer(_Strict):
    name: Slug = "main"
    priority: int = Field(default=0, ge=0, le=100)  # higher wins where it has someone
    members: list[Slug] = Field(min_length=1)       # in turn; a name may appear twice
    shift: ShiftLength
    hand_off: ClockTime
    start: dt.date  # first hand-off, at `hand_off` on this date (weekly: its weekday)
    restrictions: WeekSchedule | None = None        # active only inside these windows

    @model_validator(mode="after")
    def _restrictions_not_empty(self) -> Layer:
        if self.restrictions is not None and not self.restrictions:
            raise ValueError(f"layer `{self.name}` is restricted to no time at all; remove "
                             "`restrictions` or give it windows")
        return self


class Rotation(_Strict):
    id: Slug
    name: str
    timezone: TimeZoneName  # hand-offs and restrictions are wall-clock times here
    layers: list[Layer] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_layers(self) -> Rotation:
        names = [layer.name for layer in self.layers]
        priorities = [layer.priority for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"rotation `{self.id}` has two layers with the same name; give "
                             "each layer its own `name`")
        if len(set(priorities)) != len(priorities):
            raise ValueError(f"rotation `{self.id}` has two layers with the same priority; "
                             "give each layer its own `priority` (higher wins)")
        return self


class Holiday(_Strict):
    date: dt.date
    name: str


class HolidayCalendar(_Strict):
    id: Slug
    name: str
    # National (and with `subdivision`, regional) days from the `holidays` package, as ISO
    # codes it takes (`country: ES`, `subdivision: AN`), besides the days written here.
    country: str | None = None
    subdivision: str | None = None
    include: list[Slug] = Field(default_factory=list)  # other calendars, e.g. national
    days: list[Holiday] = Field(default_factory=list)  # local days, named by HR

    @field_validator("country", mode="before")
    @classmethod
    def _quoted_country(cls, value: object) -> object:
        if isinstance(value, bool):  # YAML reads an unquoted NO (Norway) as false
            raise ValueError("write the country code in quotes (`country: \"NO\"`): "
                             "unquoted, YAML reads NO as false")
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        problem = country_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or "country" not in info.data:  # a bad country is its own error
            return value
        country = info.data["country"]
        if country is None:
            raise ValueError("a `subdivision` needs the `country` it belongs to "
                             "(e.g. `country: ES` with `subdivision: AN`)")
        problem = subdivision_problem(country, value)
        if problem is not None:
            raise ValueError(problem)
        return value


EscalationTarget = Literal["person", "team_on_call", "team_lead", "last_resort"]
# Whether a step that names someone (`person`, `team_lead`) pages them in an emergency when
# they are off duty: `always` (the default: HR wrote them into the chain to be woken, the
# chain is HR's explicit exception to the right to disconnect) or `if_available` (only when
# on duty or on call; otherwise the step is skipped). Nobody on leave is ever woken.
WakePolicy = Literal["always", "if_available"]


class EscalationStep(_Strict):
    who: EscalationTarget
    person: Slug | None = None  # only with `who: person`
    delay_minutes: int = Field(ge=1, le=1440)  # wait for an acknowledgement, then go on
    wake: WakePolicy = "always"  # for `person` and `team_lead`; see WakePolicy

    @model_validator(mode="after")
    def _person_when_needed(self) -> EscalationStep:
        if (self.who == "person") != (self.person is not None):
            raise ValueError("`person` is needed with `who: person`, and only then")
        return self


class EscalationChain(_Strict):
    id: Slug
    name: str | None = None
    steps: list[EscalationStep] = Field(min_length=1, max_length=10)
    repeat: int = Field(default=0, ge=0, le=5)  # times the whole chain runs again


class Escalation(_Strict):
    last_resort: Slug  # told when a chain is exhausted
    default_chain: Slug
    chains: list[EscalationChain] = Field(min_length=1)


class RateLimits(_Strict):
    max_per_person_per_hour: int = Field(default=10, ge=1, le=1000)  # non-emergency


class StormThresholds(_Strict):
    distinct_authors: int = Field(default=15, ge=2, le=10_000)
    abusive_messages: int = Field(default=10, ge=1, le=10_000)
    window_minutes: int = Field(default=60, ge=1, le=1440)
    # Caught at once: this many distinct authors of abusive messages (or threats) at one
    # target within `early_window_minutes` start a storm (measured in docs/decisions.md).
    early_authors: int = Field(default=3, ge=2, le=10_000)
    early_window_minutes: int = Field(default=10, ge=1, le=1440)


class ExposureLimits(_Strict):
    max_abusive_items_per_day: int = Field(default=100, ge=1, le=10_000)  # per moderator


# --- decisions: urgency and moderation (optional; see docs/decisions.md) ----------------

Urgency = Literal["low", "normal", "high", "emergency"]
URGENCIES: tuple[Urgency, ...] = ("low", "normal", "high", "emergency")


class UrgencyRule(_Strict):
    """Words or a pattern that make a message at least this urgent."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    lang: LanguageCode = "any"  # `any`: every language
    pattern: RegexPattern | None = None
    keywords: list[Annotated[str, StringConstraints(min_length=1)]] = Field(
        default_factory=list)
    urgency: Urgency
    description: str = ""

    @model_validator(mode="after")
    def _one_matcher(self) -> UrgencyRule:
        if (self.pattern is None) == (not self.keywords):
            raise ValueError(f"urgency rule `{self.id}` needs exactly one of `pattern` or "
                             "`keywords`")
        return self


class UrgencyPolicy(_Strict):
    default: Urgency = "normal"  # when no rule and no category default applies
    rules: list[UrgencyRule] = Field(default_factory=list)
    category_defaults: dict[Slug, Urgency] = Field(default_factory=dict)
    threat_minimum: Urgency = "high"  # a message judged a threat is at least this urgent

    @model_validator(mode="after")
    def _distinct_rules(self) -> UrgencyPolicy:
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError("two urgency rules have the same `id`; give each its own")
        return self


class Moderation(_Strict):
    moderators: list[Slug] = Field(default_factory=list)  # staff ids: the review queue
    hr: list[Slug] = Field(default_factory=list)          # staff ids told about storms
    # Staff ids who may read the wellbeing report (the mayor), besides HR: its page, its
    # CSV and its weekly summary, nothing else of HR's.
    report_readers: list[Slug] = Field(default_factory=list)
    # An author with this many strikes has rude messages shielded as if abusive.
    strikes_to_shield: int = Field(default=3, ge=1, le=1000)
    # The same text from the same author within this window is a duplicate (dropped).
    duplicate_window_minutes: int = Field(default=60, ge=1, le=10_080)
    # More messages than this from one author within an hour is a flood (dropped as spam).
    spam_messages_per_hour: int = Field(default=30, ge=2, le=10_000)
    # An author whose messages moderators confirmed abusive this many times is muted for
    # `mute_days` (their messages are dropped and counted); a moderator's mute without a
    # period lasts as long.
    strikes_to_mute: int = Field(default=3, ge=1, le=1000)
    mute_days: int = Field(default=30, ge=1, le=3650)
    # An abusive message with nothing to act on once masked goes to the moderators only;
    # the person it was aimed at gets `count` ("3 messages to you were held by the
    # moderators" in their next digest) or `nothing`.
    held_notice: Literal["count", "nothing"] = "count"


class Delivery(_Strict):
    """How notifications travel: retries on one channel, then the person's next channel,
    then the admins are told (see docs/notifications.md)."""

    # Tries on one channel before falling back to the person's next channel.
    attempts_per_channel: int = Field(default=4, ge=1, le=20)
    # The wait after the n-th failed try is retry_base_seconds * 2**(n-1) (plus up to 25%
    # jitter), at most retry_max_seconds.
    retry_base_seconds: int = Field(default=30, ge=1, le=3600)
    retry_max_seconds: int = Field(default=3600, ge=1, le=86_400)
    # Told when every channel of a person failed; default: the escalation's last resort.
    admins: list[Slug] = Field(default_factory=list)
    # When every channel failed (an outage), the notification is tried again this often
    # (all channels, in order)...
    outage_retry_minutes: int = Field(default=10, ge=1, le=1440)
    # ...until this many hours after it was queued, per kind (`deliver`, `page`, `digest`,
    # `storm_notice`, `schedule`; `admin_alert` and `test` are not retried); then it is
    # `failed` for good. Kinds not named keep the defaults (DEFAULT_EXPIRY_HOURS).
    expiry_hours: dict[Literal["deliver", "page", "digest", "storm_notice", "schedule",
                               "citizen_reply"],
                       Annotated[int, Field(ge=1, le=24 * 30)]] = Field(default_factory=dict)

    def expiry(self, kind: str) -> dt.timedelta:
        """How long a notification of `kind` is tried through an outage (0: not at all)."""
        named: dict[str, int] = {str(k): v for k, v in self.expiry_hours.items()}
        return dt.timedelta(hours=named.get(kind, DEFAULT_EXPIRY_HOURS.get(kind, 0)))


# Through an outage: a message a day or three, a page a day (its escalation goes on
# meanwhile), a digest three days; alerts and tests are not retried.
DEFAULT_EXPIRY_HOURS: dict[str, int] = {"deliver": 72, "page": 24, "digest": 72,
                                        "storm_notice": 24, "schedule": 72,
                                        "citizen_reply": 24, "report": 72}


class Queue(_Strict):
    """How far behind the pipeline may fall before `/health` warns: the oldest message
    still waiting to be scored and decided, in minutes (a pile-on or an outage brings
    hundreds a minute; the backlog shows here before a citizen's report goes unanswered)."""

    warn_after_minutes: int = Field(default=5, ge=1, le=1440)


class Retention(_Strict):
    """How long citizens' data is kept in clear (docs/privacy.md); `guardian serve` and
    `guardian worker` enforce it hourly."""

    # A message's text, masked text, handle, name and link are replaced after this many
    # days (its decision, level and category stay, for reports)...
    message_days: int = Field(default=180, ge=1, le=3650)
    # ...and the body and payload of the notifications that carried it after this many.
    notification_days: int = Field(default=90, ge=1, le=3650)
    # The audit log is kept this many years.
    audit_years: int = Field(default=5, ge=1, le=50)


class Swaps(_Strict):
    # A swap two colleagues agreed on applies only once HR approves it too.
    require_approval: bool = False


class OnCallLimits(_Strict):
    # `policies check` and the API warn when a rotation or override keeps someone on call
    # (more than half of the week) for more weeks in a row than this.
    max_consecutive_weeks: int = Field(default=2, ge=1, le=52)


_REPLY_FIELDS = frozenset({"team", "when", "category"})
ReplyStatus = Literal["received", "acknowledged", "in_progress", "resolved", "closed"]


def _reply_template(value: dict[str, str]) -> dict[str, str]:
    """A reply names no person and shows no schedule beyond `{when}`: only `{team}`,
    `{when}` and `{category}` may be filled in."""
    for lang, text in value.items():
        for name in re.findall(r"\{([^{}]*)\}", text):
            if name not in _REPLY_FIELDS:
                raise ValueError(f"`{{{name}}}` in the {lang} template: a reply may use only "
                                 "{team}, {when} and {category} (never a person's name)")
    return value


ReplyTemplate = Annotated[
    dict[Literal["es", "en"], Annotated[str, StringConstraints(min_length=1, max_length=280)]],
    AfterValidator(_reply_template)]


class Replies(_Strict):
    """What the citizen hears back, on the network and in the thread they wrote in
    (docs/connectors.md): an acknowledgement when a request is received (`received`), and
    a word when staff move it on. Never to a held or abusive message, never a person's
    name; at most `per_author_per_hour` acknowledgements to one author."""

    enabled: bool = False
    # Only these categories' requests are answered (empty: every category).
    categories: list[Slug] = Field(default_factory=list)
    templates: dict[ReplyStatus, ReplyTemplate] = Field(default_factory=dict)
    per_author_per_hour: int = Field(default=1, ge=1, le=20)
    # `public` (a reply in the thread) or `direct` (a private message), per network.
    visibility: dict[Literal["mastodon", "bluesky", "x", "telegram", "whatsapp"],
                     Literal["public", "direct"]] = Field(default_factory=dict)


ConnectorKind = Literal["mastodon", "bluesky", "x", "telegram", "whatsapp", "webhook"]

# What each kind of connector needs besides its id (docs/connectors.md).
CONNECTOR_NEEDS: dict[str, tuple[str, ...]] = {
    "mastodon": ("url", "token"), "bluesky": ("account", "password"),
    "x": ("account", "token"), "telegram": ("token",),
    "whatsapp": ("secret", "verify_token"), "webhook": ("secret",)}


def _secret_reference(value: str | None) -> str | None:
    if value is not None and not ENV_REF.fullmatch(value.strip()):
        raise ValueError("a credential goes in the environment or the secrets file, never "
                         "in a policy file: write {env:NAME} (e.g. {env:MASTODON_TOKEN})")
    return value.strip() if value is not None else None


SecretReference = Annotated[str, AfterValidator(_secret_reference)]


class Connector(_Strict):
    """A public feed that flows in: polled (`mastodon`, `bluesky`, `x`, `telegram`) by
    `serve` and `worker` (one process at a time per connector), or pushed to
    `POST /hooks/{id}` (`telegram` with a `secret`, `whatsapp`, `webhook`)."""

    id: Slug
    kind: ConnectorKind
    enabled: bool = True
    # The instance (mastodon), the PDS (bluesky; default https://bsky.social), the API
    # (x: https://api.x.com, telegram: https://api.telegram.org).
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+[^\s]*$",
                                          max_length=512)] | None = None
    # The account: the Bluesky handle or the X user id the mentions are of; WhatsApp: the
    # phone number id replies are sent from.
    account: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    token: SecretReference | None = None          # access token, bearer token, bot token
                                                  # (WhatsApp: the Cloud API token, for
                                                  # replies)
    password: SecretReference | None = None       # Bluesky app password
    secret: SecretReference | None = None         # signing secret (webhook, WhatsApp app,
                                                  # Telegram's secret token)
    verify_token: SecretReference | None = None   # WhatsApp's subscription handshake
    # X only, to answer citizens: OAuth 1.0a in the town account's name, one secret of four
    # parts `CONSUMER_KEY:CONSUMER_SECRET:ACCESS_TOKEN:ACCESS_SECRET`.
    oauth1: SecretReference | None = None
    poll_seconds: float = Field(default=30.0, ge=0.1, le=3600.0)

    @model_validator(mode="after")
    def _needs(self) -> Connector:
        missing = [name for name in CONNECTOR_NEEDS[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind} connector needs {', '.join(missing)} "
                             "(see docs/connectors.md)")
        return self

    @property
    def polled(self) -> bool:
        """Fetched by the engine (the others are pushed to `/hooks/{id}`)."""
        return self.kind in ("mastodon", "bluesky", "x") or (
            self.kind == "telegram" and self.secret is None)


class PolicyFile(_Strict):
    """What one YAML file may hold; files are merged into one `Policy`."""

    SINGLE: ClassVar[tuple[str, ...]] = ("town", "escalation", "rate_limits", "storm",
                                         "exposure_limits", "harassment", "urgency",
                                         "moderation", "delivery", "swaps",
                                         "on_call_limits", "retention", "replies",
                                         "queue")
    town: Town | None = None
    staff: list[StaffMember] = Field(default_factory=list)
    teams: list[Team] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    rotations: list[Rotation] = Field(default_factory=list)
    holiday_calendars: list[HolidayCalendar] = Field(default_factory=list)
    connectors: list[Connector] = Field(default_factory=list)
    escalation: Escalation | None = None
    rate_limits: RateLimits | None = None
    storm: StormThresholds | None = None
    exposure_limits: ExposureLimits | None = None
    harassment: HarassmentPolicy | None = None
    urgency: UrgencyPolicy | None = None
    moderation: Moderation | None = None
    delivery: Delivery | None = None
    swaps: Swaps | None = None
    on_call_limits: OnCallLimits | None = None
    retention: Retention | None = None
    replies: Replies | None = None
    queue: Queue | None = None


class Policy(_Strict):
    town: Town
    staff: tuple[StaffMember, ...]
    teams: tuple[Team, ...]
    categories: tuple[Category, ...]
    rotations: tuple[Rotation, ...] = ()
    holiday_calendars: tuple[HolidayCalendar, ...] = ()
    connectors: tuple[Connector, ...] = ()
    escalation: Escalation | None = None
    rate_limits: RateLimits = RateLimits()
    storm: StormThresholds = StormThresholds()
    exposure_limits: ExposureLimits = ExposureLimits()
    harassment: HarassmentPolicy = HarassmentPolicy()
    urgency: UrgencyPolicy = UrgencyPolicy()
    moderation: Moderation = Moderation()
    delivery: Delivery = Delivery()
    swaps: Swaps = Swaps()
    on_call_limits: OnCallLimits = OnCallLimits()
    retention: Retention = Retention()
    replies: Replies = Replies()
    queue: Queue = Queue()

    def hr_contacts(self) -> list[str]:
        """Who HR is for a notice (an escalation, a swap to approve): `moderation.hr`, else
        the last-resort contact."""
        return list(dict.fromkeys(self.moderation.hr)) or (
            [self.escalation.last_resort] if self.escalation is not None else [])

    def admin_contacts(self) -> list[str]:
        """Who the admins are for a warning (a notification that failed, the pipeline
        behind): `delivery.admins`, else the last-resort contact."""
        return list(dict.fromkeys(self.delivery.admins)) or (
            [self.escalation.last_resort] if self.escalation is not None else [])

    def staff_by_id(self) -> dict[str, StaffMember]:
        return {s.id: s for s in self.staff}

    # Indexes for the schedule arithmetic; safe to cache because the model is frozen.
    @cached_property
    def people(self) -> dict[str, StaffMember]:
        return self.staff_by_id()

    @cached_property
    def team_index(self) -> dict[str, Team]:
        return {t.id: t for t in self.teams}

    @cached_property
    def rotation_index(self) -> dict[str, Rotation]:
        return {r.id: r for r in self.rotations}

    @cached_property
    def calendar_index(self) -> dict[str, HolidayCalendar]:
        return {c.id: c for c in self.holiday_calendars}

    def package_holidays(self, calendar: HolidayCalendar) -> Mapping[dt.date, str]:
        """The calendar's national and regional days from the `holidays` package (for
        `public_holidays.YEARS`), named in the town's first language the package has for
        that country (else its default); empty without a `country`."""
        if calendar.country is None:
            return {}
        return package_days(calendar.country, calendar.subdivision,
                            names_language(calendar.country, self.town.languages))

    @cached_property
    def holiday_dates(self) -> dict[str, frozenset[dt.date]]:
        """Each calendar's days (the package's for its country and region, and its own)
        with those of the calendars it includes (a cycle of includes is the loader's
        error; here it simply stops)."""
        def closure(calendar_id: str, seen: set[str]) -> set[dt.date]:
            calendar = self.calendar_index.get(calendar_id)
            if calendar is None or calendar_id in seen:
                return set()
            seen.add(calendar_id)
            days = {h.date for h in calendar.days} | set(self.package_holidays(calendar))
            for included in calendar.include:
                days |= closure(included, seen)
            return days
        return {c.id: frozenset(closure(c.id, set())) for c in self.holiday_calendars}

    def calendar_of(self, person: StaffMember) -> str | None:
        return person.holidays or self.town.holidays

    def summary(self) -> dict[str, int]:
        return {"staff": len(self.staff), "teams": len(self.teams),
                "categories": len(self.categories), "rotations": len(self.rotations),
                "holiday_calendars": len(self.holiday_calendars)}
