"""Usage over REST.

GET /api/usage: recent per-request rows; users see their own, admins may ask for everyone's.
GET /api/usage/export: the usage rows as a CSV or Parquet file, scoped to the caller.
POST /api/usage/snapshot: (admin) write the Parquet snapshot that notebooks read, now.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import AdminDep, ServicesDep, UserDep
from errors import InvalidInput, PermissionDenied
from storage import exports, usage
from storage.users import User

router = APIRouter(prefix="/api", tags=["usage"])


@router.get("/usage")
async def list_usage(
    services: ServicesDep,
    user: UserDep,
    limit: int = Query(default=100, ge=1, le=1000),
    all_users: bool = Query(default=False, alias="all"),
) -> dict[str, list[dict[str, Any]]]:
    if all_users and not user.is_admin:
        raise PermissionDenied("Only admins may read everyone's usage", code="admin_only")
    owner = None if all_users else user.id
    rows = await services.db.run(lambda c: usage.recent(c, owner, limit))
    return {"requests": rows}


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.get("/usage/export", response_model=None)
async def export_usage(
    services: ServicesDep,
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
    start, end = exports.as_utc(start), exports.as_utc(end)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("`to` must be later than `from`", code="invalid_range")
    owner = _export_owner(user, user_id)
    frame = await services.db.run(lambda c: exports.usage_frame(c, start, end, owner, model))
    # Serialising uses a private in-memory DuckDB: off the database thread and the event loop.
    encode = exports.to_csv_bytes if format == "csv" else exports.to_parquet_bytes
    body = await asyncio.to_thread(encode, frame)
    name = f"usage-{datetime.now(UTC):%Y%m%d}.{format}"
    return Response(body, media_type=MEDIA_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    })


def _export_owner(caller: User, asked: int | None) -> int | None:
    """Whose rows: decided from the caller's account here, never by the link alone."""
    if caller.is_admin:
        return asked
    if asked is not None and asked != caller.id:
        raise PermissionDenied("Only admins may export another user's usage", code="admin_only")
    return caller.id


@router.post("/usage/snapshot")
async def snapshot(services: ServicesDep, _: AdminDep) -> dict[str, Any]:
    """Write the Parquet snapshot that notebooks read (DATA_DIR/exports), now."""
    writer = services.snapshots
    paths = await writer.snapshot_now()
    return {"directory": str(writer.directory.resolve()), "files": [p.name for p in paths],
            "written_at": writer.last_written}
