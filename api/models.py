"""GET /api/models: the names the active deployment answers to."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep, UserDep

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/models")
async def list_models(engine: EngineDep, _: UserDep) -> dict[str, list[dict[str, object]]]:
    profile = engine.profile
    return {
        "models": [
            {
                "id": profile.served_model_name,
                "name": profile.name,
                "profile": profile.id,
                "engine": profile.engine,
                "aliases": [n for n in profile.model_names if n != profile.served_model_name],
                "state": engine.state.value,
            }
        ]
    }
