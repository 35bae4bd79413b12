"""The API's request and response bodies (pydantic), also the source of the OpenAPI schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from guardian.types import FIRST_YEAR, LAST_YEAR, RequestStatus, instant_in_range

Handle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone, for example 2026-11-25T22:48:00Z")
    if not instant_in_range(value):
        raise ValueError(f"is outside the years Guardian takes ({FIRST_YEAR} to {LAST_YEAR})")
    return value.astimezone(dt.UTC)


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]


class AuthorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: Handle = Field(description="The author's handle on the source, e.g. `@vecina`.")
    name: Annotated[str, StringConstraints(max_length=256)] | None = None


class MessageIn(BaseModel):
    """One public post addressed to the town hall or a member of staff."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"
    )] = Field(description="Where it came from: `twitter`, `mastodon`, `bluesky`, `webhook`...")
    external_id: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=1, max_length=256
    )] = Field(description="The message's id on its source; (source, external_id) is unique.")
    author: AuthorIn
    # The length limit is a setting (GUARDIAN_MAX_TEXT_CHARS), checked by the handler.
    text: str = Field(description="The message text, as posted.")
    created_at: AwareDatetime = Field(description="When it was posted (ISO 8601 with zone).")
    mentions: list[Handle] = Field(default_factory=list, max_length=50)
    in_reply_to: Annotated[str, StringConstraints(max_length=256)] | None = None
    url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    lang: Annotated[str, StringConstraints(
        strip_whitespace=True, min_length=2, max_length=16,
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$",
    )] | None = Field(default=None, description="BCP 47 language tag if the source gives one.")


class AcceptedMessage(BaseModel):
    id: int
    source: str
    external_id: str
    duplicate: bool = Field(description="True when this (source, external_id) was already "
                                        "stored: nothing new was created.")


class IngestResponse(BaseModel):
    ids: list[int]
    messages: list[AcceptedMessage]


class StageEventPublic(BaseModel):
    stage: str
    completed_at: dt.datetime
    duration_ms: float


class ScorerPublic(BaseModel):
    name: str
    variant: str
    version: str


class AssessmentPublic(BaseModel):
    """What the scoring stage found: per-label probabilities, the level and why."""

    level: str = Field(description="none, rude, abusive or threat.")
    labels: dict[str, float]
    reasons: list[str]
    lang: str | None = Field(description="Detected (or given) language.")
    lang_confidence: float
    covered: bool = Field(description="False when the scorer does not cover the language.")
    scorer: ScorerPublic
    masked_text: str = Field(description="The text staff may see: abusive spans replaced.")


class MessagePublic(BaseModel):
    id: int
    source: str
    external_id: str
    author: AuthorIn
    text: str
    lang: str | None
    mentions: list[str]
    in_reply_to: str | None
    url: str | None
    created_at: dt.datetime
    received_at: dt.datetime
    stage: str
    attempts: int
    failed: bool
    last_error: str | None
    history: list[StageEventPublic]
    assessment: AssessmentPublic | None = Field(
        description="Null until the scoring stage has run.")
    decision: dict[str, Any] | None = Field(
        default=None, description="What Guardian does with it and why (docs/decisions.md); "
                                  "null until the decision stage has run.")


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    errors: list[ErrorItem]


class ErrorResponse(BaseModel):
    error: ErrorBody


class HealthCheck(BaseModel):
    ok: bool
    detail: str
    info: dict[str, Any] = Field(default_factory=dict)


class HealthResponse(BaseModel):
    status: str = Field(description="`ok` or `degraded`; `degraded` answers 503.")
    version: str
    checks: dict[str, HealthCheck]


Kind = Literal["replace", "add", "remove"]
StaffId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class _Period(BaseModel):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> _Period:
        if self.end <= self.start:
            raise ValueError("`end` must be after `start`")
        if self.end - self.start > dt.timedelta(days=366):
            raise ValueError("a period may last at most a year; split longer ones")
        return self


class RequestMoveIn(BaseModel):
    """Move a citizen's request on its lifecycle."""

    model_config = ConfigDict(extra="forbid")

    status: RequestStatus = Field(description="acknowledged, in_progress, resolved or closed "
                                              "(closed needs a reason).")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        Field(default=None, description="Why (required to close; never shown to the "
                                        "citizen)."))
    reply: bool = Field(default=True, description="Answer the citizen with the policy's "
                                                  "template for this status, where it has one.")


class RequestPublic(BaseModel):
    message_id: int
    status: RequestStatus
    team: str
    category: str
    changed_at: dt.datetime | None
    changed_by: str | None
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    reason: str | None = Field(description="Shown to staff, HR and admins only.")
    reply_queued: bool = False


class MessagesRetryIn(BaseModel):
    """Parked messages to put back in the queue: `ids`, or every one (`failed: true`)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        default=None, min_length=1, max_length=1000)
    failed: bool = False

    @model_validator(mode="after")
    def _one(self) -> MessagesRetryIn:
        if self.failed == (self.ids is not None):
            raise ValueError("give `ids` or `failed: true`, one of them")
        return self


class OverrideIn(_Period):
    """Replace, add or remove a person on a team's duty for a period."""

    model_config = ConfigDict(extra="forbid")

    team: StaffId
    kind: Kind
    person: StaffId = Field(description="Who comes in (replace, add) or goes out (remove).")
    replaces: StaffId | None = Field(default=None, description="Who goes out (replace only).")
    reason: Reason

    @model_validator(mode="after")
    def _replaces(self) -> OverrideIn:
        if (self.kind == "replace") != (self.replaces is not None):
            raise ValueError("`replaces` is required for kind `replace`, and only for it")
        if self.replaces == self.person:
            raise ValueError("a person cannot replace themselves")
        return self


class SwapIn(_Period):
    """A staff member asks another to take their duty for a period."""

    model_config = ConfigDict(extra="forbid")

    team: StaffId
    with_: StaffId = Field(alias="with", description="Who would take the duty.")
    reason: Reason


class OverridePublic(BaseModel):
    id: int
    team: str
    kind: str
    person: str
    replaces: str | None
    start: dt.datetime
    end: dt.datetime
    reason: str
    status: str
    created_by: str
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None


class AuditEventPublic(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


ReviewDecisionName = Literal["dismiss", "confirm", "escalate", "mute", "block"]
EscalateTo = Literal["hr", "police"]
MAX_BULK_REVIEW = 1000


class ReviewDecisionIn(BaseModel):
    """A moderator's decision on a review item (`mute_days` and `escalate_to` as needed)."""

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecisionName = Field(description=(
        "`dismiss` (not abusive: staff get it as a normal request), `confirm` (abusive: a "
        "strike for the author), `escalate` (to HR or the police), `mute` the author for "
        "`mute_days`, or `block` the author."))
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    mute_days: int | None = Field(default=None, ge=1, le=365, validate_default=True,
                                  description="With `mute` only; default 30.")
    escalate_to: EscalateTo | None = Field(
        default=None, validate_default=True,
        description="With `escalate` only (required there): `hr`, or `police` (the "
                    "policy's police team).")

    @field_validator("mute_days")
    @classmethod
    def _mute_days_only_with_mute(cls, value: int | None, info: ValidationInfo) -> int | None:
        decision = info.data.get("decision")
        if value is not None and decision is not None and decision != "mute":
            raise ValueError("goes only with decision `mute`")
        return value

    @field_validator("escalate_to")
    @classmethod
    def _escalate_to_with_escalate(cls, value: str | None, info: ValidationInfo
                                   ) -> str | None:
        decision = info.data.get("decision")
        if decision == "escalate" and value is None:
            raise ValueError("is required with decision `escalate`: `hr` or `police`")
        if value is not None and decision is not None and decision != "escalate":
            raise ValueError("goes only with decision `escalate`")
        return value


class ReviewBulkIn(ReviewDecisionIn):
    """One decision for up to 1,000 review items."""

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] = Field(
        min_length=1, max_length=MAX_BULK_REVIEW, description="Review item ids (1 to 1,000).")


class ReviewItemPublic(BaseModel):
    """A review item as listed: the masked text only, never the raw one."""

    id: int
    message_id: int
    source: str
    author_handle: str
    masked_text: str | None = Field(description="The text with abusive spans replaced.")
    reason: str = Field(description="Why it is held: `abusive`, `threat`, `storm`...")
    level: str
    category: str | None
    target: str | None = Field(description="The staff or team id the message is aimed at.")
    status: str = Field(description="`open` (an expired claim counts as open), `claimed` or "
                                    "`decided`.")
    claimed_by: str | None
    claim_expires_at: dt.datetime | None
    assignable: bool = Field(description="Whether the caller may claim it now.")
    not_assignable_because: str | None
    decision: str | None
    escalated_to: str | None
    released: bool = Field(description="Dismissed: staff get the message as a normal request.")
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None
    created_at: dt.datetime


class ReviewItemDetail(ReviewItemPublic):
    text: str | None = Field(description="The raw text, only for the moderator holding the "
                                         "claim (and within their daily exposure limit).")
    text_hidden_because: str | None


class FlagIn(BaseModel):
    """Staff say a message they were told about was abusive (optionally, why)."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        Field(default=None, description="Optional, up to 500 characters: why, for the "
                                        "moderators."))


class FlaggedItemPublic(BaseModel):
    """The review item a flag put the message in: what the person who flagged may see of it
    (no text, no moderator names, no notes)."""

    id: int
    message_id: int
    reason: str = Field(description="`flagged`.")
    level: str = Field(description="The message's harassment level as scored.")
    category: str | None
    target: str | None = Field(description="The staff or team id the message is aimed at.")
    status: str = Field(description="`open`, `claimed` or `decided`.")
    decision: str | None = Field(description="The moderator's decision, once decided.")
    created_at: dt.datetime


class AuthorStatusPublic(BaseModel):
    source: str
    handle: str
    strikes: int
    muted_until: dt.datetime | None
    blocked: bool


class ExposurePublic(BaseModel):
    moderator: str
    day: dt.date = Field(description="The UTC day counted.")
    abusive_items: int = Field(description="Abusive or threatening items revealed today.")
    limit: int = Field(description="The policy's `exposure_limits.max_abusive_items_per_day`.")
    remaining: int


class DeliveryAttemptPublic(BaseModel):
    """One try of a notification on one of the recipient's channels."""

    at: dt.datetime
    channel_index: int = Field(description="Which of the recipient's channels (0: the first).")
    channel_url_masked: str = Field(description="The channel's URL with its secrets masked.")
    ok: bool
    error: str | None
    duration_ms: float


class NotificationPublic(BaseModel):
    """A notification in the outbox and its delivery log; never a channel's secrets."""

    id: int
    recipient: str = Field(description="The staff id it is for.")
    kind: str = Field(description="deliver, digest, page, storm_notice, admin_alert or test.")
    status: str = Field(description="pending, sent, failed, waiting, digested or cancelled.")
    lang: str
    category: str | None
    message_id: int | None
    page_id: int | None
    digest_id: int | None = Field(description="The digest notification that carried it.")
    due_at: dt.datetime
    sent_at: dt.datetime | None
    created_at: dt.datetime
    attempts: int = Field(description="Attempts made on the channel tried now.")
    channel_index: int = Field(description="The recipient's channel tried now (0: the first).")
    last_error: str | None
    body: str = Field(description="The plain-text rendering (masked text only).")
    deliveries: list[DeliveryAttemptPublic] = Field(description="Every attempt, oldest first.")


class NotificationListPublic(BaseModel):
    notifications: list[NotificationPublic] = Field(description="Newest first.")
    next_before: int | None = Field(description="Pass as `before` for the next page; null on "
                                                "the last one.")
