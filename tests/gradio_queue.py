"""Gradio's queue in the tests: the chat endpoint's index, an unstarted queue, a join."""

from __future__ import annotations

from conftest import AppServer
from fastapi import Request
from helpers import http

from services import ServicesHolder
from settings import Settings
from ui.app import build_blocks
from ui.fair_queue import PerUserQueue


def chat_fn_index(server: AppServer, headers: dict[str, str]) -> int:
    config = http.get(f"{server.url}/config", headers=headers).json()
    return next(int(dep["id"]) for dep in config["dependencies"] if dep["api_name"] == "chat")


def queue_for(settings: Settings) -> tuple[PerUserQueue, int]:
    blocks = build_blocks(ServicesHolder(), settings)
    chat = next(fn for fn in blocks.fns.values() if fn.api_name == "chat")
    assert isinstance(blocks._queue, PerUserQueue)
    return blocks._queue, chat._id


def join_request(language: str = "en") -> Request:
    return Request({"type": "http", "method": "POST", "path": "/gradio_api/queue/join",
                    "headers": [(b"accept-language", language.encode())]})
