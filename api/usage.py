"""GET /api/usage: per-request usage rows; users see their own, admins may ask for everyone's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response

from api.deps import AdminDep, ServicesDep, UserDep
from errors import PermissionDenied
from storage import exports, usage

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
    format: Literal["csv", "parquet"] = "csv",
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
) -> Response:
    """Usage rows as a file: admins get everyone's, users their own."""
    owner = None if user.is_admin else user.id
    write = exports.usage_csv if format == "csv" else exports.usage_parquet
    body = await services.db.run(lambda c: write(c, start, end, owner))
    name = f"usage-{date.today():%Y%m%d}.{format}"
    return Response(body, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/usage/snapshot")
async def snapshot(services: ServicesDep, _: AdminDep) -> dict[str, object]:
    """Write the Parquet snapshot that notebooks read, now."""
    paths = await services.snapshots.snapshot_now()
    return {"directory": str(services.snapshots.directory), "files": [p.name for p in paths]}
