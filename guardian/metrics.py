"""Prometheus metrics. Counters are per process; gauges that describe the queue are read
from the database at scrape time, so every process reports the same totals."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

# `*_created` series double the output and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
                    60, 300)

INGESTED = Counter("guardian_messages_ingested", "Messages stored by ingest (new ones only).",
                   registry=REGISTRY)
DUPLICATES = Counter("guardian_messages_duplicate", "Ingested messages that were already stored.",
                     registry=REGISTRY)
REQUESTS = Counter("guardian_http_requests", "HTTP requests answered.",
                   ["method", "route", "status"], registry=REGISTRY)
REQUEST_SECONDS = Histogram("guardian_http_request_seconds", "HTTP request latency.",
                            ["route"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
STAGE_COMPLETED = Counter("guardian_stage_completed", "Messages that reached a stage.",
                          ["stage"], registry=REGISTRY)
STAGE_FAILURES = Counter("guardian_stage_failures", "Failed attempts of a stage.", ["stage"],
                         registry=REGISTRY)
STAGE_SECONDS = Histogram("guardian_stage_seconds", "Time a stage took, per message batch.",
                          ["stage"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
PIPELINE_SECONDS = Histogram("guardian_pipeline_seconds",
                             "From receipt to the last stage, per message.",
                             buckets=_LATENCY_BUCKETS, registry=REGISTRY)
LEASES_LOST = Counter("guardian_leases_lost",
                      "Stage results discarded because the lease had passed to another worker.",
                      registry=REGISTRY)
MESSAGES_BY_STAGE = Gauge("guardian_messages", "Stored messages by stage (`failed`: parked).",
                          ["stage"], registry=REGISTRY)
QUEUE_OLDEST = Gauge("guardian_queue_oldest_seconds", "How long the oldest message not yet "
                     "through the pipeline has waited (0 when none waits; read at each "
                     "scrape).", registry=REGISTRY)
QUEUE_DEPTH = Gauge("guardian_queue_depth", "Messages not yet at the last stage.",
                    registry=REGISTRY)
SCORED = Counter("guardian_messages_scored", "Messages scored, by harassment level and scorer.",
                 ["level", "scorer"], registry=REGISTRY)
PAGE_EVENTS = Counter("guardian_page_events", "Pages sent, escalated, sent to the last "
                      "resort, or acknowledged.", ["kind"], registry=REGISTRY)
DECISIONS = Counter("guardian_decision_outcomes", "Outcomes of decisions, by kind.", ["kind"],
                    registry=REGISTRY)

# The engine's jobs (`guardian.engine.loop`): one series per job name (`pipeline`,
# `escalation`, `sender`, `digests`, `dismissed`, `decision-memory`, `mqtt-replies`).
JOB_SECONDS = Histogram("guardian_job_round_seconds", "Time a job's round took (busy or idle).",
                        ["job"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
JOB_WORK = Counter("guardian_job_work", "Work done by a job's rounds (messages moved a stage, "
                   "notifications claimed, pages advanced...).", ["job"], registry=REGISTRY)
JOB_ERRORS = Counter("guardian_job_errors", "Rounds of a job that failed (then retried with "
                     "back-off).", ["job"], registry=REGISTRY)

# Notifications. `channel` is an apprise URL's scheme only (`channel_label`), never the URL:
# URLs carry secrets, and a label per URL would be unbounded.
_DELIVERY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400)

NOTIFICATIONS_SENT = Counter("guardian_notifications_sent", "Notifications delivered, by the "
                             "channel that took them and kind.", ["channel", "kind"],
                             registry=REGISTRY)
NOTIFICATIONS_FAILED = Counter("guardian_notifications_failed", "Notifications given up (every "
                               "channel failed until the kind's expiry), by the last channel "
                               "tried and kind.",
                               ["channel", "kind"], registry=REGISTRY)
NOTIFICATION_BACKLOG = Gauge("guardian_notification_backlog", "Notifications due and not "
                             "sent after failed attempts, by the channel scheme they wait "
                             "on (read at each scrape).", ["channel"], registry=REGISTRY)
NOTIFICATION_BACKLOG_OLDEST = Gauge("guardian_notification_backlog_oldest_seconds", "How long "
                                    "the oldest of them has been due, by channel scheme.",
                                    ["channel"], registry=REGISTRY)
NOTIFICATIONS_OUTAGE = Counter("guardian_notifications_outage", "Times a notification found "
                                "every channel failing and was set to be tried again on the "
                                "outage schedule, by kind.", ["kind"], registry=REGISTRY)
NOTIFICATION_ATTEMPTS_FAILED = Counter("guardian_notification_attempts_failed", "Failed "
                                       "delivery attempts (then retried or fallen back).",
                                       ["channel"], registry=REGISTRY)
NOTIFICATION_DELIVERY_SECONDS = Histogram("guardian_notification_delivery_seconds",
                                          "From a notification's due time to its delivery.",
                                          ["channel"], buckets=_DELIVERY_BUCKETS,
                                          registry=REGISTRY)
NOTIFICATIONS_BY_STATUS = Gauge("guardian_notifications", "Notifications in the outbox by "
                                "status.", ["status"], registry=REGISTRY)

CONNECTOR_EVENTS = Counter("guardian_connector_events", "New messages a connector stored.",
                           ["connector"], registry=REGISTRY)
CONNECTOR_SKIPPED = Counter("guardian_connector_skipped", "Events a connector could not read "
                            "(malformed, empty or too long): logged and skipped.",
                            ["connector"], registry=REGISTRY)
CONNECTOR_ERRORS = Counter("guardian_connector_errors", "Fetches that failed (then retried "
                           "after a back-off or the network's Retry-After).", ["connector"],
                           registry=REGISTRY)
CONNECTOR_LAG = Gauge("guardian_connector_lag_seconds", "Seconds since each connector last "
                      "fetched successfully (read at each scrape; it grows while a feed "
                      "fails).", ["connector"],
                      registry=REGISTRY)

_REQUEST_BUCKETS = (300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800, 2592000)
REQUEST_ACKNOWLEDGE_SECONDS = Histogram("guardian_request_acknowledge_seconds", "From a "
                                        "request's receipt to its first acknowledgement, by "
                                        "team.", ["team"], buckets=_REQUEST_BUCKETS,
                                        registry=REGISTRY)
REQUEST_RESOLVE_SECONDS = Histogram("guardian_request_resolve_seconds", "From a request's "
                                    "receipt to its resolution, by team.", ["team"],
                                    buckets=_REQUEST_BUCKETS, registry=REGISTRY)

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31})://")


def channel_label(url: str) -> str:
    """The `channel` label of an apprise URL: its scheme lowercased (`json`, `mailto`,
    `mqtts`), or `unknown`. Never put the URL itself in a label."""
    found = _SCHEME.match(url.strip())
    return found.group(1).lower() if found else "unknown"
