"""The `judged` score axis: what the rubric judge thinks of each answer, as a reader.

Where a study names `judges = ["rubric", ...]`, the rubric judge scores every pool sample (the
`score:rubric` pass) and every run's final answer (`score:rubric@run:SPEC`), criterion by
criterion. This axis is the weighted mean of the **reader** criteria alone (coherence, vividness,
staying on the subject: `ponder.rubric.WRITING`, or a rubric's `reader` criteria), on [0, 1]: the
part of quality no program checks. The rules a program checks are the `checks` axis, from the
oracle; the judge's verdicts on them are measured against it (`ponder.lab.judging`), never used as
the oracle. A sample the judge did not read (no text) is valued 0, as the contract asks; so is a text
it read but gave no reader score (no "Score: N" line), which lowers the axis where the judge
fails to grade: its notes count such criteria in the study's samples, and the agreement section
shows how often it graded.

The judge is a model and can be wrong: its figures are labelled with its name in the summary
(`score_axes`), and the agreement section says how far its verdicts on the rules can be trusted.
"""

from __future__ import annotations

import numpy as np

from ponder.lab.study.scores import ScoreAxis, StudyView, register_axis
from ponder.rubric import DEFAULT
from ponder.strategies.pooling import run_judge_kind, score_kind

JUDGE = "rubric"


def _reader_value(detail: dict[str, object] | None, item_rubric: object) -> float:
    if not detail:
        return 0.0
    rubric = item_rubric if item_rubric is not None else DEFAULT
    scores = detail.get("scores")
    if not isinstance(scores, dict):
        return 0.0
    total = rubric.total(scores, kind="reader")  # type: ignore[attr-defined]
    return 0.0 if total is None else float(total)


def judged(study: StudyView, model: str, kind: str) -> np.ndarray | None:
    """Per pool sample or run, the rubric judge's reader score; None where the judge did not read
    that kind (no `judges` in the study, or a run it was not asked about)."""
    if kind == "pool":
        source = score_kind(JUDGE, "cot")
    elif kind.startswith("run:"):
        source = run_judge_kind(JUDGE, kind)
    else:
        return None
    rows = [study.requests.get((model, item.id, source)) for item in study.items]
    if not rows or any(r is None for r in rows):
        return None
    rubrics = [item.problem().rubric for item in study.items]
    details = [study.store.score_details(int(r["id"])) for r in rows if r is not None]
    values = [[_reader_value(d, rubric) for d in ds] for ds, rubric in zip(details, rubrics, strict=True)]
    if kind.startswith("run:"):
        return np.array([v[0] if v else 0.0 for v in values])
    if len({len(v) for v in values}) != 1:
        return None
    return np.array(values, dtype=float)


register_axis(
    ScoreAxis(
        "judged",
        "the rubric judge's reader criteria (coherence, vividness, staying on the subject) on "
        "[0, 1]: a model's opinion, not the oracle",
        judged,
    )
)
