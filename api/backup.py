"""POST /api/admin/backup: a consistent backup of the running app's data (storage/backup.py),
for an admin or the server's own ./backup (its operator token)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter

from api.deps import DatabaseDep, OperatorDep, SettingsDep
from storage import backup

router = APIRouter(prefix="/api/admin", tags=["operations"])


@router.post("/backup", status_code=201, dependencies=[OperatorDep])
async def make_backup(settings: SettingsDep, db: DatabaseDep) -> dict[str, Any]:
    """Back up the database (as of now, while answers go on), the JWT secret and the chosen
    profile into DATA_DIR/backups, keeping the newest BACKUP_KEEP."""
    made = await asyncio.to_thread(backup.make, settings.data_dir, None, db, settings.backup_keep)
    return {"path": str(made.path), "bytes": made.bytes, "created_at": made.created_at.isoformat()}
