"""HTTP clients to the engine, on one shared TLS context.

httpx (and the httpx2 inside the openai SDK) load the CA bundle into a new TLS context for every
client, ~20 ms of CPU each. The readiness probes and the 1 Hz metrics sampler make a client per
call, so every client here verifies with the same context, built once.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx
from openai import DefaultAsyncHttpxClient


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # certifi's bundle, or SSL_CERT_FILE, as httpx does


def engine_http(**kwargs: Any) -> httpx.AsyncClient:
    """A short-lived client for the engine's own endpoints (probes, metrics, tokenizer)."""
    return httpx.AsyncClient(verify=tls_context(), **kwargs)


def openai_http() -> DefaultAsyncHttpxClient:
    """The openai SDK's client, as it would make it, on the shared context."""
    return DefaultAsyncHttpxClient(verify=tls_context())
