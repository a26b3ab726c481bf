from __future__ import annotations

import inspect

import ponder


def test_all_lists_every_public_name() -> None:
    public = {
        name
        for name, value in vars(ponder).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(ponder.__all__) - {"__version__"}


def test_ask_is_exposed() -> None:
    assert callable(ponder.ask)
    assert "strategy" in inspect.signature(ponder.ask).parameters
