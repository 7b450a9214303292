"""Engine management for admins: profiles with their fit verdict, status, switching."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AdminDep, EngineDep
from engine.fit import summary

router = APIRouter(prefix="/api", tags=["engine"])


class SwitchBody(BaseModel):
    profile: str
    override_fit: bool = False


@router.get("/profiles")
async def list_profiles(engine: EngineDep, _: AdminDep) -> dict[str, Any]:
    profiles = []
    for profile in engine.profiles.values():
        verdict = engine.fit(profile)
        profiles.append({
            "id": profile.id, "name": profile.name, "description": profile.description,
            "engine": profile.engine, "model": profile.model or profile.served_model_name,
            "aliases": profile.aliases, "tensor_parallel_size": profile.tensor_parallel_size,
            "max_model_len": profile.max_model_len, "active": profile.id == engine.profile.id,
            "fits": verdict.fits, "fit": summary(verdict), "first_fix": verdict.first_fix,
        })
    return {"profiles": profiles}


@router.get("/engine")
async def engine_status(engine: EngineDep, _: AdminDep) -> dict[str, Any]:
    hardware = engine.hardware
    return {
        **engine.snapshot(),
        "metrics": await engine.metrics(),
        "log_tail": await asyncio.to_thread(engine.log_tail, 50),
        "hardware": {
            "gpus": [{"index": g.index, "name": g.name, "memory_total_bytes": g.memory_total_bytes,
                      "memory_free_bytes": g.memory_free_bytes} for g in hardware.gpus],
            "error": hardware.error,
        },
    }


@router.post("/engine/restart", status_code=202)
async def restart_engine(engine: EngineDep, _: AdminDep) -> dict[str, str]:
    """Start the active profile afresh, e.g. after it ended failed; GET /api/engine follows it."""
    engine.begin_restart()
    return {"status": "restarting", "profile": engine.profile.id}


@router.post("/engine/switch", status_code=202)
async def switch_engine(body: SwitchBody, engine: EngineDep, _: AdminDep) -> dict[str, str]:
    engine.begin_switch(body.profile, override_fit=body.override_fit)
    return {"status": "switching", "profile": body.profile}
