"""Prometheus metrics and the masked, structured application log."""
