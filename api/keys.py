"""Personal API keys: create (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import AuthDep, UserDep

router = APIRouter(prefix="/api/keys", tags=["api keys"])


class NewKey(BaseModel):
    name: str


@router.post("", status_code=201)
async def create_key(body: NewKey, auth: AuthDep, user: UserDep) -> dict[str, Any]:
    row, key = await auth.create_key(user, body.name)
    return {**row, "key": key}


@router.get("")
async def list_keys(auth: AuthDep, user: UserDep) -> dict[str, Any]:
    return {"keys": await auth.list_keys(user)}


@router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: int, auth: AuthDep, user: UserDep) -> Response:
    await auth.revoke_key(user, key_id)
    return Response(status_code=204)
