"""GET /metrics in Prometheus format: from loopback, or with METRICS_TOKEN as a Bearer token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import ChatDep, EngineDep, MetricsDep, ServicesDep, SettingsDep
from auth.web import token_from
from errors import PermissionDenied
from settings import is_loopback_host

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep, app_metrics: MetricsDep,
                  chat: ChatDep, engine: EngineDep, services: ServicesDep) -> Response:
    client = request.client.host if request.client else ""
    token = settings.metrics_token
    presented = token_from(request) or ""
    allowed = is_loopback_host(client) or bool(
        token and hmac.compare_digest(presented.encode(), token.encode()))
    if not allowed:
        raise PermissionDenied("Metrics are served to loopback or with METRICS_TOKEN",
                               code="metrics_forbidden")
    sample = services.sampler.latest()
    body = app_metrics.render(chat.active_streams, engine.state.value,
                              sample.gpus if sample else ())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
