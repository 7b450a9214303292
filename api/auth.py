"""POST /api/auth/login, POST /api/auth/logout and GET /api/auth/verify (plan section 9.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import AuthDep
from auth.web import TOKEN_COOKIE, token_from

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class VerifyOut(BaseModel):
    username: str
    role: str
    exp: int | None


@router.post("/login")
async def login(body: LoginBody, request: Request, auth: AuthDep) -> TokenOut:
    client = request.client.host if request.client else ""
    _, token = await auth.login(body.username, body.password, client)
    return TokenOut(access_token=token, expires_in=auth.tokens.lifetime_s)


@router.get("/verify")
async def verify(request: Request, auth: AuthDep) -> VerifyOut:
    user, claims = await auth.user_for_token(token_from(request))
    return VerifyOut(username=user.username, role=user.role, exp=claims.expires_at if claims else None)


@router.post("/logout", status_code=204)
async def logout(request: Request, auth: AuthDep) -> Response:
    """The token (Bearer or cookie) stops working at once, everywhere it was copied to."""
    await auth.logout(token_from(request))
    response = Response(status_code=204)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response
