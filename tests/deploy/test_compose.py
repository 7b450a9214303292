"""The compose files, checked as far as a machine without Docker can: they parse (with the
`!reset` and `!override` tags compose takes), refer only to files that exist, reserve both GPUs
with a restart policy, keep secrets out of the files, and put nginx with the shipped config in
front of an app that believes forwarded headers only from nginx."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from conftest import ROOT

FILES = ["docker-compose.yml", "docker-compose.cpu.yml", "docker-compose.remote-vllm.yml"]


class ComposeLoader(yaml.SafeLoader):
    """PyYAML with compose's merge tags (their values are what matters here)."""


for tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(
        tag, lambda loader, node: (loader.construct_sequence(node)
                                   if isinstance(node, yaml.SequenceNode)
                                   else loader.construct_mapping(node)
                                   if isinstance(node, yaml.MappingNode) else None))


def load(name: str) -> dict[str, Any]:
    data = yaml.load((ROOT / name).read_text(), Loader=ComposeLoader)
    assert isinstance(data, dict)
    return data


def bind_sources(service: dict[str, Any]) -> list[str]:
    return [str(v).split(":")[0] for v in service.get("volumes") or []
            if str(v).startswith((".", "/"))]


@pytest.mark.parametrize("name", FILES)
def test_every_file_the_compose_files_name_exists(name: str) -> None:
    compose = load(name)
    for service_name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), service_name
        for source in bind_sources(service):
            path = ROOT / source
            if source == "./deploy/certs":  # made by scripts/dev_cert.sh, or your own
                assert "deploy/certs" in (ROOT / "scripts" / "dev_cert.sh").read_text()
                continue
            assert path.exists(), f"{service_name}: {source}"


def test_the_app_has_both_gpus_a_restart_policy_and_its_data_on_volumes() -> None:
    app = load("docker-compose.yml")["services"]["app"]
    assert app["build"]["dockerfile"] == "Dockerfile.gpu" and app["restart"] == "unless-stopped"
    (gpus,) = app["deploy"]["resources"]["reservations"]["devices"]
    assert (gpus["driver"], gpus["count"], gpus["capabilities"]) == ("nvidia", 2, ["gpu"])
    assert {"data:/data", "hf-cache:/hf"} <= set(app["volumes"])


def test_no_secret_is_written_in_the_compose_files() -> None:
    env = load("docker-compose.yml")["services"]["app"]["environment"]
    for name in ("JWT_SECRET", "ADMIN_PASSWORD", "HF_TOKEN", "METRICS_TOKEN"):
        assert re.fullmatch(rf"\$\{{{name}(:\?[^}}]+|:-)\}}", env[name]), name
    assert re.fullmatch(r"\$\{JWT_SECRET:\?.+\}", env["JWT_SECRET"]), "required, not defaulted"
    assert env["DEMO_ACCOUNTS"] == "false"


def test_nginx_fronts_the_app_with_the_shipped_config_and_is_the_only_trusted_proxy() -> None:
    compose = load("docker-compose.yml")
    nginx, app = compose["services"]["nginx"], compose["services"]["app"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-alpine", nginx["image"]), "a pinned image"
    assert "./deploy/nginx/vllm-chat.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert set(nginx["ports"]) == {"80:80", "443:443"} and "ports" not in app
    nginx_ip = nginx["networks"]["internal"]["ipv4_address"]
    assert app["environment"]["FORWARDED_ALLOW_IPS"] == nginx_ip
    conf = (ROOT / "deploy" / "nginx" / "vllm-chat.conf").read_text()
    assert f"server app:{app['expose'][0]};" in conf


def test_prometheus_loads_the_shipped_rules_with_the_token_from_a_secret() -> None:
    compose = load("docker-compose.yml")
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    job = scrape["scrape_configs"][0]
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"


@pytest.mark.parametrize("name", ["docker-compose.cpu.yml", "docker-compose.remote-vllm.yml"])
def test_the_overrides_drop_the_gpus_for_the_cpu_image(name: str) -> None:
    app = load(name)["services"]["app"]
    assert app["build"]["dockerfile"] == "Dockerfile"
    assert app["deploy"] == {} and app["ipc"] is None  # !reset: not inherited
    assert app["volumes"] == ["data:/data"]
    text = (ROOT / name).read_text()
    assert "deploy: !reset {}" in text and "volumes: !override" in text


def test_the_env_example_names_every_variable_the_compose_files_need() -> None:
    example = (ROOT / "deploy" / "env.example").read_text()
    needed = {m for name in FILES for m in re.findall(r"\$\{(\w+)", (ROOT / name).read_text())}
    assert needed <= set(re.findall(r"^(\w+)=", example, re.M))

