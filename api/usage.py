"""GET /api/usage: per-request usage rows; users see their own, admins may ask for everyone's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import ServicesDep, UserDep
from errors import PermissionDenied
from storage import usage

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
