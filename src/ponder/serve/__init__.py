"""An OpenAI-compatible HTTP server around the embedded engine (it grows into the proxy later)."""
