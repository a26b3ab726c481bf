"""Where ponder keeps its files: PONDER_HOME (the run store) and PONDER_MODELS (the model cache)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    """PONDER_HOME, default the user's data dir for ponder."""
    env = os.environ.get("PONDER_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("ponder"))


def models_dir() -> Path:
    """PONDER_MODELS, default PONDER_HOME/models."""
    env = os.environ.get("PONDER_MODELS")
    return Path(env) if env else home() / "models"


def store_path() -> Path:
    return home() / "ponder.db"
