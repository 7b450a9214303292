"""GET /health: no auth; says whether the engine and the database answer.

503 when degraded, so Docker's HEALTHCHECK, compose's service_healthy and load balancers see an
engine that is down. GET /health/live is 200 while the process serves (a liveness probe that
must not restart the app because its engine is down)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DatabaseDep, EngineDep, SettingsDep

router = APIRouter()


@router.get("/health")
async def health(engine: EngineDep, db: DatabaseDep, settings: SettingsDep) -> JSONResponse:
    engine_ok = await engine.health()
    database_ok = await asyncio.to_thread(db.ping)
    body: dict[str, Any] = {
        "status": "healthy" if engine_ok and database_ok else "degraded",
        "service": "vLLM Chat Gateway",
        "version": settings.app_version,
        "services": {
            "engine": {
                "status": "up" if engine_ok else "down",
                "state": engine.state.value,
                "profile": engine.profile.id,
                "model": engine.profile.served_model_name,
                "error": None if engine_ok else engine.last_error,
                "recent_failures": engine.recent_failures(),
            },
            "database": {"status": "up" if database_ok else "down"},
        },
    }
    return JSONResponse(body, status_code=200 if engine_ok and database_ok else 503)


@router.get("/health/live")
async def live(settings: SettingsDep) -> dict[str, str]:
    return {"status": "alive", "service": "vLLM Chat Gateway",
            "version": settings.app_version}
