"""Run model-written code safely: bubblewrap namespaces, an unprivileged user, and resource limits."""

from ponder.sandbox.run import Limits, SandboxResult, run_code

__all__ = ["Limits", "SandboxResult", "run_code"]
