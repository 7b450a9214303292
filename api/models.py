"""GET /api/models: the names the active deployment answers to."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServicesDep, UserDep

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/models")
async def list_models(services: ServicesDep, _: UserDep) -> dict[str, list[dict[str, object]]]:
    profile = services.engine.profile
    return {
        "models": [
            {
                "id": profile.served_model_name,
                "name": profile.name,
                "profile": profile.id,
                "engine": profile.engine,
                "aliases": [n for n in profile.model_names if n != profile.served_model_name],
                "state": services.engine.state.value,
            }
        ]
    }
