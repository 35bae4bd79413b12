"""Each connector's status, as `/health`, the metrics and `guardian connectors status` show
it: what the policy asks for beside what `connector_state` records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from guardian.connectors.factory import missing_credentials
from guardian.policy.model import Connector
from guardian.storage.models import ConnectorState


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def connector_report(specs: Sequence[Connector], states: Sequence[ConnectorState],
                     environ: Mapping[str, str], now: dt.datetime) -> list[dict[str, Any]]:
    """One entry per connector of the policy: `state` is `ok`, `waiting` (the network
    asked us to), `failing`, `missing secrets`, `disabled` or `new` (never fetched)."""
    by_name = {s.name: s for s in states}
    report = []
    for spec in specs:
        found = by_name.get(spec.id)
        missing = missing_credentials(spec, environ)
        if not spec.enabled:
            state = "disabled"
        elif missing:
            state = "missing secrets"
        elif found is not None and found.failures:
            state = "failing"
        elif found is None or found.last_fetch_at is None:
            state = "new"
        elif found.wait_until is not None and found.wait_until > now:
            state = "waiting"
        else:
            state = "ok"
        lag = ((now - found.last_fetch_at).total_seconds()
               if found is not None and found.last_fetch_at is not None else None)
        report.append({
            "id": spec.id, "kind": spec.kind, "mode": "polled" if spec.polled else "pushed",
            "state": state, "missing": missing,
            "last_event_at": _iso(found.last_event_at) if found else None,
            "last_fetch_at": _iso(found.last_fetch_at) if found else None,
            "lag_seconds": round(lag, 1) if lag is not None else None,
            "events": found.events if found else 0,
            "skipped": found.skipped if found else 0,
            "failures": found.failures if found else 0,
            "last_error": found.last_error if found else None,
            "wait_until": _iso(found.wait_until) if found else None,
        })
    return report
