"""Backends: one protocol (`Backend.generate`), an in-process engine and any OpenAI-compatible server."""
