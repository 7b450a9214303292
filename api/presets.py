"""Settings that stick: GET/PUT /api/me/settings, and /api/presets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import PresetsDep, UserDep

router = APIRouter(prefix="/api", tags=["presets"])


class MySettings(BaseModel):
    default_system_prompt: str | None = None


class PresetBody(BaseModel):
    name: str
    system_prompt: str | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)


@router.get("/me/settings")
async def my_settings(presets: PresetsDep, user: UserDep) -> MySettings:
    return MySettings(default_system_prompt=await presets.default_prompt(user))


@router.put("/me/settings")
async def set_my_settings(body: MySettings, presets: PresetsDep, user: UserDep) -> MySettings:
    await presets.set_default_prompt(user, body.default_system_prompt)
    return MySettings(default_system_prompt=await presets.default_prompt(user))


@router.get("/presets")
async def list_presets(presets: PresetsDep, user: UserDep) -> dict[str, Any]:
    return {"presets": await presets.list(user)}


@router.post("/presets", status_code=201)
async def save_preset(body: PresetBody, presets: PresetsDep, user: UserDep) -> dict[str, Any]:
    return await presets.save(user, body.name, body.system_prompt, body.temperature,
                              body.max_tokens)


@router.delete("/presets/{preset_id}", status_code=204)
async def delete_preset(preset_id: int, presets: PresetsDep, user: UserDep) -> Response:
    await presets.delete(user, preset_id)
    return Response(status_code=204)
