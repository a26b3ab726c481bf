"""The `writing` family: its program checks each constraint exactly, accepting a text that keeps
them all and rejecting each near miss; its levels count constraints, with no ceiling."""

from __future__ import annotations

import random

import pytest

from ponder.answers import extract_answer
from ponder.tasks import FAMILIES, correct
from ponder.tasks import generate as gen
from ponder.tasks.families.writing import check_constraint, check_text, witness

WINDOW = {"kind": "words", "low": 8, "high": 12}
RULES = [
    WINDOW,
    {"kind": "include", "word": "lantern"},
    {"kind": "avoid", "letter": "z"},
    *({"kind": "acrostic", "line": i, "letter": ch, "word": "sun"} for i, ch in enumerate("sun")),
    {"kind": "last", "word": "harbor"},
]
POEM = "Silver lantern glows\nUnder the old stone\nNear the quiet harbor"  # 11 words


def test_a_text_that_keeps_every_rule_passes() -> None:
    assert check_text(POEM, RULES) == [True] * len(RULES)


@pytest.mark.parametrize(
    ("text", "broken"),
    [
        (POEM.replace("old stone", "old grey wet stone"), "words"),  # 13 words: one too many
        (POEM.replace("lantern", "lamp"), "include"),
        (POEM.replace("old", "dozy"), "avoid"),  # the forbidden letter, once
        (POEM.replace("Under", "Beneath"), "acrostic"),  # a broken acrostic
        (POEM + " town", "last"),
    ],
)
def test_each_near_miss_breaks_its_rule_and_only_it(text: str, broken: str) -> None:
    verdicts = list(zip([r["kind"] for r in RULES], check_text(text, RULES), strict=True))
    assert [ok for kind, ok in verdicts if kind == broken].count(False) == 1
    assert all(ok for kind, ok in verdicts if kind != broken), verdicts


def test_the_window_is_inclusive_and_exact() -> None:
    assert check_constraint(" ".join(["word"] * 8), WINDOW)
    assert check_constraint(" ".join(["word"] * 12), WINDOW)
    assert not check_constraint(" ".join(["word"] * 13), WINDOW)
    assert not check_constraint(" ".join(["word"] * 7), WINDOW)


def test_sentences_per_paragraph_are_counted_exactly() -> None:
    rule = {"kind": "sentences", "paragraph": 1, "count": 2}
    text = "Dear Ann,\n\nThe tea is warm. The rain stopped!\n\nYours, Bo."
    assert check_constraint(text, rule)
    assert not check_constraint(text.replace("stopped!", "stopped! It is late."), rule)
    assert not check_constraint("One paragraph only.", rule)
    # a known limit: an abbreviation ends a sentence for the program
    assert check_constraint("Mr. Lee came.", {"kind": "sentences", "paragraph": 0, "count": 2})


def test_the_letter_is_forbidden_in_either_case_and_no_text_keeps_nothing() -> None:
    assert not check_constraint("Zebra", {"kind": "avoid", "letter": "z"})
    assert check_text(None, RULES) == [False] * len(RULES)
    assert check_text("", RULES) == [False] * len(RULES)


@pytest.mark.parametrize("level", [1, 2, 5, 12, 40, 150])
def test_the_level_is_the_number_of_constraints_and_the_witness_keeps_them(level: int) -> None:
    for item in gen.items("writing", level, 4, seed=level):
        constraints = item.data["constraints"]
        assert len(constraints) == item.structure["constraints"] == level
        assert item.question.count("\n") == level  # one numbered rule a line
        assert all(check_text(item.answer, constraints)), item.question
        assert correct(item, extract_answer(item.answer, item.answer_format))
        assert not correct(item, extract_answer("I cannot write that.", item.answer_format))


def test_constraints_never_contradict_each_other() -> None:
    rng = random.Random(5)
    family = FAMILIES["writing"]
    for level in range(1, 60):
        content = family.generate(rng, level)
        banned = {c["letter"] for c in content.data["constraints"] if c["kind"] == "avoid"}
        for c in content.data["constraints"]:
            assert not set(c.get("word", "")) & banned, (c, banned)
        proof = witness(content.data["constraints"], content.data["form"])
        assert all(check_text(proof, content.data["constraints"]))


def test_the_text_format_is_the_whole_reply() -> None:
    assert extract_answer("  A poem.\nTwo lines.  ", "text") == "A poem.\nTwo lines."
    assert extract_answer("   ", "text") is None
