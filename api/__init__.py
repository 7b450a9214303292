"""REST and the OpenAI-compatible API: routes that check the caller, call one service each and
render domain errors in one place (api/errors.py). No route queries storage itself."""
