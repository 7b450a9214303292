"""POST /api/admin/backup: a consistent backup of the running app's data (storage/backup.py),
for an admin or the server's own ./backup (its operator token)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from api.deps import AuthDep, DatabaseDep, SettingsDep
from auth import ops_token
from auth.web import token_from
from errors import PermissionDenied
from storage import backup

router = APIRouter(prefix="/api/admin", tags=["operations"])


@router.post("/backup", status_code=201)
async def make_backup(request: Request, settings: SettingsDep, db: DatabaseDep,
                      auth: AuthDep) -> dict[str, Any]:
    """Back up the database (as of now, while answers go on), the JWT secret and the chosen
    profile into DATA_DIR/backups, keeping the newest BACKUP_KEEP."""
    presented = token_from(request)
    if not ops_token.matches(settings.data_dir, presented):
        user, _ = await auth.user_for_token(presented)
        if not user.is_admin:
            raise PermissionDenied("This needs an admin account", code="admin_only")
    made = await asyncio.to_thread(backup.make, settings.data_dir, None, db, settings.backup_keep)
    return {"path": str(made.path), "bytes": made.bytes, "created_at": made.created_at.isoformat()}
