"""Domain errors shown in the Gradio UI."""

from __future__ import annotations

import gradio as gr

from errors import AppError


def as_gradio_error(exc: AppError) -> gr.Error:
    return gr.Error(exc.message, title="Error")
