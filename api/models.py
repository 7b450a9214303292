"""GET /api/models: every profile's model, and whether it can be used now."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep, UserDep
from engine.catalog import model_catalog

router = APIRouter(prefix="/api", tags=["models"])


@router.get("/models")
async def list_models(engine: EngineDep, _: UserDep) -> dict[str, list[dict[str, object]]]:
    """The plan's `{"models": [{"id", "name"}]}`, one entry per profile, the active one first,
    with `profile`, `aliases`, `state` (active, available, does_not_fit with `reason`),
    `engine` and `max_model_len`. Chat with a model whose state is not active answers 409."""
    return {"models": model_catalog(engine)}
