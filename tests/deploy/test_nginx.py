"""The shipped nginx front end (deploy/nginx/vllm-chat.conf), for real: Debian's nginx on
loopback in front of the running app with the real model. It passes `nginx -t`, streams an
answer token by token (not all at the end, as a buffering proxy would), redirects plain HTTP,
and serves the Gradio page and its event stream to gradio_client over TLS. The app also sends
`X-Accel-Buffering: no` on its streams; the config turns buffering off for every route."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, AppServer, free_port
from gradio_client import Client
from helpers import eventually

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Proxy:
    https: str
    http: str
    cert: Path


def render(work: Path, app_port: int, http_port: int, https_port: int) -> Path:
    """The shipped config as nginx -c loads it here: free ports, the app on loopback, a fresh
    certificate, and nothing outside `work`."""
    subprocess.run([str(ROOT / "scripts" / "dev_cert.sh"), str(work / "certs")], check=True,
                   capture_output=True)
    text = (ROOT / "deploy" / "nginx" / "vllm-chat.conf").read_text()
    text = (text.replace("server app:8080;", f"server 127.0.0.1:{app_port};")
            .replace("/etc/nginx/certs/", f"{work}/certs/")
            .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
            .replace("return 301 https://$host$request_uri;",
                     f"return 301 https://$host:{https_port}$request_uri;"))
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)
    (work / "vllm-chat.conf").write_text(text)
    main = work / "nginx.conf"
    main.write_text(f"pid {work}/nginx.pid;\nerror_log {work}/error.log;\nevents {{}}\n"
                    f"http {{\n    access_log {work}/access.log;\n"
                    f"    include {work}/vllm-chat.conf;\n}}\n")
    return main


@pytest.fixture(scope="module")
def proxy(app_server: AppServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    work = tmp_path_factory.mktemp("nginx")
    http_port, https_port = free_port(), free_port()
    config = render(work, int(app_server.url.rsplit(":", 1)[1]), http_port, https_port)
    process = subprocess.Popen([NGINX, "-p", str(work), "-c", str(config), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"https://127.0.0.1:{https_port}"

    def serving() -> bool:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            return httpx.get(f"{url}/health/live", verify=False, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(serving, timeout=20)
    yield Proxy(url, f"http://127.0.0.1:{http_port}", work / "certs" / "fullchain.pem")
    process.terminate()
    process.wait(10)


def test_the_shipped_config_passes_nginx_t() -> None:
    result = subprocess.run([str(ROOT / "scripts" / "check_nginx.sh")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


def trusting(proxy: Proxy) -> ssl.SSLContext:
    """TLS that trusts the proxy's throwaway certificate, and verifies it."""
    return ssl.create_default_context(cafile=str(proxy.cert))


def sign_in(proxy: Proxy) -> str:
    response = httpx.post(f"{proxy.https}/api/auth/login", verify=trusting(proxy),
                          json={"username": "test", "password": "test"})
    response.raise_for_status()
    return str(response.json()["access_token"])


def test_an_answer_streams_through_the_proxy_token_by_token(proxy: Proxy) -> None:
    token = sign_in(proxy)
    arrivals: list[float] = []
    body = {"messages": [{"role": "user", "content": "Write a long story about a lighthouse."}],
            "max_tokens": 120, "temperature": 0.8}
    started = time.monotonic()
    with httpx.stream("POST", f"{proxy.https}/api/chat", json=body, verify=trusting(proxy),
                      headers={"Authorization": f"Bearer {token}"}, timeout=120) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content"' in line:
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) >= 20, "the answer had words"
    # Streamed, pieces arrive all along the answer; buffered (proxy_buffering on, with
    # X-Accel-Buffering ignored: tried), in two or three bursts as nginx's buffers fill. Counted
    # in tenths of the answer's time, not by gaps: at ~55 tokens/s the pieces of a streamed
    # answer come less than 20 ms apart, as a burst's do.
    start, spread = arrivals[0], arrivals[-1] - arrivals[0]
    assert spread > 0.3, f"all {len(arrivals)} pieces came at once: buffered"
    tenths = {min(int(10 * (at - start) / spread), 9) for at in arrivals}
    assert len(tenths) >= 7, f"pieces arrived in {len(tenths)} of 10 tenths of the answer"


def test_plain_http_is_sent_to_https(proxy: Proxy) -> None:
    response = httpx.get(f"{proxy.http}/health", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == f"{proxy.https}/health"


def test_the_page_and_its_event_stream_work_through_the_proxy(proxy: Proxy) -> None:
    token = sign_in(proxy)
    page = httpx.get(f"{proxy.https}/", verify=trusting(proxy),
                     cookies={"vllm_chat_token": token})
    assert page.status_code == 200 and "gradio" in page.text.lower()
    client = Client(f"{proxy.https}/", headers={"Authorization": f"Bearer {token}"},
                    ssl_verify=False, verbose=False)
    updates = [text for text, _ in client.submit("Say hello.", None, None, 0.0, 24,
                                                  api_name="/chat")]
    assert len(updates) >= 2 and updates[-1].strip(), "the queue's event stream came through"
