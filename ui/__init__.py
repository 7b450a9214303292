"""The Gradio Blocks: one module per tab, wiring components to services. Handlers look up the
caller on the server at every event; domain errors become Gradio errors in ui/base.py only."""
