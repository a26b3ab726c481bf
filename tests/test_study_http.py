"""A study over HTTP, end to end: an `openai:` model served on loopback by a real engine.

The HTTP backend holds one AsyncOpenAI client, bound to the event loop of its first request; a study
that ran each request in its own loop crashed after its first problem ("Event loop is closed"). One
loop per model's work, with requests in flight together, must finish and record every call.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ponder.backends.embedded import EmbeddedBackend
from ponder.lab.study import study
from served import serving
from served_app import create_app


def test_a_study_over_http_finishes_and_records_each_call(
    smol_engine: EmbeddedBackend, tmp_path: Path
) -> None:
    app = create_app(smol_engine)
    flight = {"now": 0, "most": 0}

    @app.middleware("http")
    async def count_in_flight(request: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        flight["now"] += 1
        flight["most"] = max(flight["most"], flight["now"])
        try:
            return await call_next(request)
        finally:
            flight["now"] -= 1

    out = tmp_path / "http"
    with serving(app) as url:
        summary = study(
            "openai:smollm2-135m",
            "arithmetic@1",
            strategies="cot,sc@2,coverage",
            max_n=2,
            problems=3,
            max_tokens=16,
            base_url=url,
            concurrency=2,
            out=str(out),
        )
    assert (out / "summary.json").exists() and (out / "report.html").exists()
    assert json.loads((out / "summary.json").read_text())["rows"] == summary["rows"]
    points = {(r["strategy"], r["budget"]) for r in summary["rows"]}
    assert points == {("cot", 1), ("sc", 1), ("sc", 2), ("coverage", 1), ("coverage", 2)}
    assert all(r["problems"] == 3 and r["mean_completion_tokens"] > 0 for r in summary["rows"])

    db = sqlite3.connect(out / "study.sqlite")
    kinds = sorted(k for (k,) in db.execute("SELECT kind FROM requests"))
    assert kinds == ["pool"] * 3 + ["run:cot"] * 3 + ["timing:1"] * 3  # timing requests on 3 problems
    # every request recorded its calls, and the calls account for every HTTP request the server saw
    per_request = db.execute(
        "SELECT r.id, count(c.idx) FROM requests r LEFT JOIN calls c ON c.request_id = r.id GROUP BY r.id"
    ).fetchall()
    assert len(per_request) == 9 and all(count >= 1 for _, count in per_request)
    (engine_requests,) = db.execute("SELECT sum(requests) FROM calls").fetchone()
    assert engine_requests == len(app.state.bodies) == 9
    (samples,) = db.execute("SELECT count(*) FROM samples").fetchone()
    assert samples == 3 * 2 + 3  # the pools' samples and the cot runs' answers (timing: not stored)
    assert flight["most"] == 2  # two requests were in flight together
    assert summary["provenance"]["models"]["openai:smollm2-135m"]["sha256"] is None
