"""The baseline: a plain Gradio chat in front of the same engine, as its documentation shows.

`gr.ChatInterface` whose function streams from the engine through the `openai` client (no
login, no storage, no limits), with its concurrency opened up so that it is not the queue that
is measured. Beside it, `/floor`: an endpoint that streams a 256-word answer with no engine at
all, so what Gradio itself costs per update can be told apart from what the app adds.

    .venv/bin/python -m benchmarks.plain_gradio --port 9200 --engine http://127.0.0.1:9100/v1
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
import openai


def build(engine_url: str, model: str) -> gr.Blocks:
    client = openai.AsyncOpenAI(base_url=engine_url, api_key="not-needed", max_retries=0)

    async def chat(message: str, history: list[dict[str, str]]) -> AsyncIterator[str]:
        messages: list[Any] = [*({"role": m["role"], "content": m["content"]} for m in history),
                               {"role": "user", "content": message}]
        stream = await client.chat.completions.create(
            model=model, messages=messages, stream=True, max_tokens=256)
        answer = ""
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                answer += chunk.choices[0].delta.content
                yield answer

    async def floor(message: str) -> AsyncIterator[str]:
        answer = ""
        for i in range(256):
            answer += f"w{i} "
            yield answer

    with gr.Blocks() as demo:
        gr.ChatInterface(chat, concurrency_limit=None)
        box, out = gr.Textbox(visible=False), gr.Textbox(visible=False)
        box.submit(floor, box, out, api_name="floor", concurrency_limit=None)
    return demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--engine", default="http://127.0.0.1:9100/v1")
    parser.add_argument("--model", default="smollm2-135m-instruct")
    args = parser.parse_args()
    demo = build(args.engine, args.model)
    demo.queue(default_concurrency_limit=None, max_size=None)
    demo.launch(server_name="127.0.0.1", server_port=args.port, show_error=True, quiet=True)


if __name__ == "__main__":
    main()
