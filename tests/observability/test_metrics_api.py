"""/metrics, X-Request-Id and the request log, on the real app."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from conftest import AppServer
from fastapi import FastAPI
from helpers import eventually, http, stream_chat, usage_rows
from prometheus_client.parser import text_string_to_metric_families

from api import metrics as metrics_routes
from api.deps import serve_services
from api.errors import install_error_handlers
from observability.metrics import AppMetrics
from services import Services, ServicesHolder


def test_a_chat_is_counted_logged_and_traced_by_its_request_id(app_server: AppServer) -> None:
    headers = app_server.auth()
    response, _ = stream_chat(app_server.url, {**headers, "X-Request-Id": "trace-42"}, {
        "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8})
    assert response.headers["x-request-id"] == "trace-42"
    row = eventually(lambda: next((r for r in usage_rows(app_server.url, headers)
                                   if r["request_id"] == "trace-42"), None))
    assert row["status"] == "completed"

    text = http.get(f"{app_server.url}/metrics").text
    found = {(s.name, tuple(sorted(s.labels.items()))): s.value
             for family in text_string_to_metric_families(text) for s in family.samples}
    model = ("model", "smollm2-135m-instruct")
    assert found[("vllm_chat_requests_total", (model, ("status", "completed")))] >= 1
    assert found[("vllm_chat_time_to_first_token_seconds_count", (model,))] >= 1
    assert found[("vllm_chat_tokens_total", (("direction", "out"), model))] > 0
    assert found[("vllm_chat_engine_state", (("state", "ready"),))] == 1

    def logged() -> dict[str, object] | None:
        for line in app_server.log().splitlines():
            if '"request_id": "trace-42"' in line:
                return dict(json.loads(line[line.index("{"):]))
        return None
    entry = eventually(logged)
    assert entry["status_code"] == 200 and entry["model"] == "smollm2-135m-instruct"
    assert set(entry) >= {"request_id", "user_id", "model", "ctx_len", "input_tokens",
                          "output_tokens", "latency_ms", "status_code"}


def test_every_response_has_a_request_id(app_server: AppServer) -> None:
    first = http.get(f"{app_server.url}/health").headers["x-request-id"]
    second = http.get(f"{app_server.url}/health").headers["x-request-id"]
    assert first != second and len(first) == 32
    bad = http.get(f"{app_server.url}/health", headers={"X-Request-Id": "no spaces allowed"})
    assert bad.headers["x-request-id"] != "no spaces allowed"


def response_counts(server: AppServer) -> dict[str, float]:
    text = http.get(f"{server.url}/metrics").text
    return {sample.labels["code"]: sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "vllm_chat_http_responses" for sample in family.samples
            if sample.name.endswith("_total")}


def test_every_response_is_counted_by_status_class(app_server: AppServer) -> None:
    before = response_counts(app_server)
    assert http.get(f"{app_server.url}/health").status_code == 200
    assert http.get(f"{app_server.url}/api/models").status_code == 401
    assert http.get(f"{app_server.url}/config").status_code in (200, 401)  # Gradio's own route
    after = response_counts(app_server)
    assert after["2xx"] >= before["2xx"] + 2  # /health and the first /metrics
    assert after["4xx"] >= before["4xx"] + 1
    assert set(after) == {"2xx", "3xx", "4xx", "429", "5xx"}


def test_personal_data_in_the_app_log_is_masked(app_server: AppServer) -> None:
    http.post(f"{app_server.url}/api/auth/login",
              json={"username": "kim.minsu@example.com", "password": "x"})
    eventually(lambda: "failed login for" in app_server.log())
    log = app_server.log()
    assert "kim.minsu@example.com" not in log
    assert "failed login for '[email]'" in log


def metrics_app(token: str | None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(metrics_routes.router)
    holder = ServicesHolder()
    holder.set(cast(Services, SimpleNamespace(
        settings=SimpleNamespace(metrics_token=token), metrics=AppMetrics(set),
        chat=SimpleNamespace(active_streams=0),
        engine=SimpleNamespace(state=SimpleNamespace(value="ready")),
        sampler=SimpleNamespace(latest=lambda: None))))
    serve_services(app, holder)
    return app


@pytest.mark.parametrize(("client_host", "token", "presented", "status"), [
    ("127.0.0.1", None, None, 200),
    ("10.1.2.3", None, None, 403),
    ("10.1.2.3", "s3cret-token", None, 403),
    ("10.1.2.3", "s3cret-token", "wrong", 403),
    ("10.1.2.3", "s3cret-token", "s3cret-token", 200),
])
async def test_metrics_answer_loopback_or_the_metrics_token(
    client_host: str, token: str | None, presented: str | None, status: int
) -> None:
    transport = httpx.ASGITransport(app=metrics_app(token), client=(client_host, 5555))
    headers = {"Authorization": f"Bearer {presented}"} if presented else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == status
