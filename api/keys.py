"""Personal API keys: create (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import ServicesDep, UserDep

router = APIRouter(prefix="/api/keys", tags=["api keys"])


class NewKey(BaseModel):
    name: str


@router.post("", status_code=201)
async def create_key(body: NewKey, services: ServicesDep, user: UserDep) -> dict[str, Any]:
    row, key = await services.auth.create_key(user, body.name)
    return {**row, "key": key}


@router.get("")
async def list_keys(services: ServicesDep, user: UserDep) -> dict[str, Any]:
    return {"keys": await services.auth.list_keys(user)}


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: int, services: ServicesDep, user: UserDep) -> Response:
    await services.auth.revoke_key(user, key_id)
    return Response(status_code=204)
