"""Usage over REST, over the usage service (which decides whose rows each caller gets).

GET /api/usage: recent per-request rows; users see their own, admins may ask for everyone's.
GET /api/usage/summary: the Usage dashboard's figures as JSON, scoped to the caller.
GET /api/usage/export: the usage rows as a CSV or Parquet file, scoped to the caller.
POST /api/usage/snapshot: (admin) write the Parquet snapshot that notebooks read, now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import AdminDep, SnapshotsDep, UsageDep, UserDep

router = APIRouter(prefix="/api", tags=["usage"])


@router.get("/usage")
async def list_usage(
    usage: UsageDep,
    user: UserDep,
    limit: int = Query(default=100, ge=1, le=1000),
    all_users: bool = Query(default=False, alias="all"),
) -> dict[str, list[dict[str, Any]]]:
    return {"requests": await usage.recent(user, everyone=all_users, limit=limit)}


@router.get("/usage/summary")
async def usage_summary(
    usage: UsageDep,
    user: UserDep,
    range_key: str = Query(default="24h", alias="range",
                           description="24h, 7d or 30d, up to now"),
    model: str | None = Query(default=None, description="only this model's requests"),
    user_id: int | None = Query(
        default=None, alias="user",
        description="only this user's requests (admins; others may name only themselves)"),
) -> dict[str, Any]:
    """The Usage tab's figures: totals, error and cancel rates, latency and TTFT percentiles,
    requests and tokens per bucket, tokens by model, the slowest requests; for admins also
    tokens by user and the heaviest users. Times are ISO 8601 in UTC."""
    return await usage.summary(user, range_key, model, user_id)


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.get("/usage/export", response_model=None)
async def export_usage(
    usage: UsageDep,
    user: UserDep,
    format: Literal["csv", "parquet"] = Query(default="csv"),
    start: datetime | None = Query(
        default=None, alias="from",
        description="ISO 8601 date or datetime, inclusive; without an offset it is UTC"),
    end: datetime | None = Query(
        default=None, alias="to",
        description="ISO 8601 date or datetime, exclusive; without an offset it is UTC"),
    model: str | None = Query(default=None, description="only this model's requests"),
    user_id: int | None = Query(
        default=None, alias="user",
        description="only this user's requests (admins; others may name only themselves)"),
) -> Response:
    """Usage rows as a file: admins get everyone's, users their own. No from/to = all time.

    CSV is UTF-8 with a byte-order mark (Excel reads Korean names right); Parquet keeps types.
    The Usage tab's download links here with the tab's filters.
    """
    body = await usage.export(user, format, start, end, model, user_id)
    name = f"usage-{datetime.now(UTC):%Y%m%d}.{format}"
    return Response(body, media_type=MEDIA_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    })


@router.post("/usage/snapshot")
async def snapshot(writer: SnapshotsDep, _: AdminDep) -> dict[str, Any]:
    """Write the Parquet snapshot that notebooks read (DATA_DIR/exports), now."""
    paths = await writer.snapshot_now()
    return {"directory": str(writer.directory.resolve()), "files": [p.name for p in paths],
            "written_at": writer.last_written}
