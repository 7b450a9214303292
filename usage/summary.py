"""The dashboard's figures as JSON (REST's /api/usage/summary and the Gradio API's
usage_summary): plain numbers, None for no data, times ISO 8601 in UTC ("...Z")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from usage.dashboard import UsageView


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of JSON values: numpy numbers become ints and floats, NA becomes None."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(iso)
    rows: list[dict[str, Any]] = json.loads(out.to_json(orient="records", date_format="iso"))
    return rows


def summary_json(view: UsageView, range_key: str) -> dict[str, Any]:
    """Everything the dashboard shows. by_user, heaviest_users and users are None for a
    non-admin; `user` is whose rows these are (None: everyone's)."""
    flt, o, p, series = view.flt, view.outcomes, view.percentiles, view.series
    return {
        "range": range_key, "start": iso(flt.start), "end": iso(flt.end), "bucket": flt.bucket,
        "model": flt.model,
        "user": flt.scope_user_id if flt.scope_user_id is not None else flt.user_id,
        "totals": {
            "requests": o.total, "completed": o.completed, "cancelled": o.cancelled,
            "failed": o.failed, "server_errors": o.server_errors,
            **{k: int(series[k].sum()) for k in ("input_tokens", "output_tokens", "tokens")},
        },
        "rates": {"error_rate": o.error_rate, "cancel_rate": o.cancel_rate,
                  "server_error_rate": o.server_error_rate},
        "percentiles": {
            "completed": p.completed,
            "latency_ms": {"p50": p.latency_p50, "p95": p.latency_p95, "p99": p.latency_p99},
            "ttft_ms": {"p50": p.ttft_p50, "p95": p.ttft_p95, "p99": p.ttft_p99},
        },
        "series": records(series),
        "by_model": records(view.by_model),
        "slowest": records(view.slowest),
        "models": view.models,
        "by_user": None if view.by_user is None else records(view.by_user),
        "heaviest_users": None if view.heaviest is None else records(view.heaviest),
        "users": None if view.users is None else [
            {"id": uid, "username": name} for uid, name in view.users],
    }
