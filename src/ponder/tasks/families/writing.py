"""`writing`: short texts under constraints a program can check; the level is how many.

A task names a form (story, letter, product description, poem) and a subject, and lists its
constraints. The oracle is the program alone (`check_text`): it scores the checkable part exactly,
and a text is correct when every constraint holds. How well the text reads (coherence, vividness,
staying on the subject) is for a judge, reported apart and never the oracle.

Level L means L constraints, without a ceiling. Every item has a word-count window; the rest are
drawn from kinds that repeat without contradicting each other:
- a required word (more of them: distinct words from `VOCABULARY`, none holding a forbidden letter);
- a forbidden letter (a lipogram; more letters, up to `RARE`, each absent from every required word,
  the acrostic and the last word);
- for the poem: one more acrostic line (line i begins with the i-th letter of a word the first
  lines spell, the word as long as there are such constraints);
  for the prose forms: one more paragraph with its exact number of sentences;
- a required last word (once).
Past the rare letters, higher levels add required words, acrostic lines or paragraphs, whose supply
grows with the level, so there is no highest level. The window widens with what the text must hold.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ponder.rubric import WRITING, Criterion, Rubric
from ponder.tasks.base import Content

FORMS = ("story", "letter", "product description", "poem")
SUBJECTS = (
    "a lighthouse keeper", "a lost umbrella", "a city garden", "an old bicycle", "a winter market",
    "a robot gardener", "a night train", "a mountain village", "a bakery at dawn", "a paper kite",
    "a quiet library", "a river ferry", "a street musician", "a tea kettle", "a desert road",
)  # fmt: skip
VOCABULARY = (
    "bright", "stone", "garden", "window", "silver", "morning", "river", "candle", "forest", "music",
    "golden", "bread", "harbor", "letter", "summer", "shadow", "market", "thunder", "meadow", "ribbon",
    "lantern", "orchard", "pebble", "station", "blanket", "cellar", "violet", "anchor", "basket",
    "mirror", "pocket", "ladder", "button", "tunnel", "compass", "feather", "marble", "saddle",
    "thread", "island", "cotton", "engine", "harvest", "echo", "mountain", "planet", "ocean", "puzzle",
)  # fmt: skip
RARE = "zqxjkvwy"  # letters a text can do without
ACROSTICS = ("sun", "rain", "stone", "garden", "morning", "lanterns", "moonlight", "lighthouse")
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")

INSTRUCTION = "Reply with the text only: no title, no notes before or after it."
FILLER = ("the", "a", "and", "it", "is", "on", "at", "as", "in", "to", "of")  # no rare letter


def words(text: str) -> list[str]:
    return WORD.findall(text)


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def sentences(paragraph: str) -> int:
    return len(SENTENCE_END.findall(paragraph.strip()))


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def check_constraint(text: str, c: dict[str, Any]) -> bool:
    """Whether `text` keeps one constraint (a dict with `kind`), exactly."""
    found = [w.lower() for w in words(text)]
    kind = c["kind"]
    if kind == "words":
        return bool(c["low"] <= len(found) <= c["high"])
    if kind == "include":
        return bool(c["word"] in found)
    if kind == "avoid":
        return c["letter"] not in text.lower()
    if kind == "acrostic":
        heads = [line.lstrip("*_-#> ")[:1].lower() for line in lines(text)]
        return bool(c["line"] < len(heads) and heads[c["line"]] == c["letter"])
    if kind == "sentences":
        ps = paragraphs(text)
        return bool(c["paragraph"] < len(ps) and sentences(ps[c["paragraph"]]) == c["count"])
    if kind == "last":
        return bool(found) and found[-1] == c["word"]
    raise ValueError(f"unknown constraint kind {kind!r}")


def check_text(text: str | None, constraints: list[dict[str, Any]]) -> list[bool]:
    """One verdict per constraint (all False for no text)."""
    if not text:
        return [False] * len(constraints)
    return [check_constraint(text, c) for c in constraints]


def describe(c: dict[str, Any]) -> str:
    """A constraint as the rule the task states."""
    kind = c["kind"]
    if kind == "words":
        return f"It is between {c['low']} and {c['high']} words long."
    if kind == "include":
        return f'It uses the word "{c["word"]}".'
    if kind == "avoid":
        return f'It never uses the letter "{c["letter"]}", upper or lower case.'
    if kind == "acrostic":
        spelled = f'the first letters of the lines spell "{c["word"].upper()}"'
        return f'Line {c["line"] + 1} begins with the letter "{c["letter"].upper()}" ({spelled}).'
    if kind == "sentences":
        return f"Paragraph {c['paragraph'] + 1} has exactly {c['count']} sentence(s)."
    return f'It ends with the word "{c["word"]}".'


def witness(constraints: list[dict[str, Any]], form: str) -> str:
    """A text that keeps every constraint, built by program: the proof that the rules do not
    contradict each other, stored as the item's gold (a strategy never sees it; the oracle does not
    need it, as it checks the rules themselves). It is a proof, not prose."""
    banned = {c["letter"] for c in constraints if c["kind"] == "avoid"}
    allowed = [w for w in (*FILLER, *VOCABULARY) if not set(w) & banned]
    window = next(c for c in constraints if c["kind"] == "words")
    include = [c["word"] for c in constraints if c["kind"] == "include"]
    last = [c["word"] for c in constraints if c["kind"] == "last"]
    blocks: list[str] = []
    starts = {w[0]: w for w in reversed(allowed)}
    heads = sorted((c["line"], c["letter"]) for c in constraints if c["kind"] == "acrostic")
    if heads:
        blocks.append("\n".join(f"{starts.get(ch, ch).capitalize()} {allowed[0]}" for _, ch in heads))
    for c in constraints:
        if c["kind"] == "sentences":
            blocks.append(
                " ".join(f"It is {allowed[(c['paragraph'] + k) % len(allowed)]}." for k in range(c["count"]))
            )
    body = [*include]
    count = sum(len(words(b)) for b in blocks) + len(body) + len(last)
    body += [allowed[i % len(allowed)] for i in range(max(0, window["low"] - count))]
    tail = " ".join([*body, *last]) + "."
    return ("\n" if form == "poem" else "\n\n").join([*blocks, tail])


class Writing:
    name = "writing"
    description = "short texts (story, letter, product description, poem) under checkable constraints"
    instruction = INSTRUCTION
    answer_format = "text"

    def generate(self, rng: random.Random, level: int) -> Content:
        form, subject = rng.choice(FORMS), rng.choice(SUBJECTS)
        extra = level - 1  # the word window is always there
        kinds = rng.choices(["include", "avoid", "shape", "last"], k=extra)
        avoid = rng.sample(RARE, min(kinds.count("avoid"), len(RARE)))
        shape_count = kinds.count("shape") + max(0, kinds.count("avoid") - len(RARE))
        has_last = "last" in kinds
        includes = kinds.count("include") + max(0, kinds.count("last") - 1)

        def clean(ws: list[str]) -> list[str]:
            return [w for w in ws if not set(w) & set(avoid)]

        constraints: list[dict[str, Any]] = []
        pool = clean(list(VOCABULARY))
        rng.shuffle(pool)
        last = pool.pop() if has_last and pool else None
        if has_last and last is None:
            includes += 1
        chosen = [pool[i % len(pool)] + ("s" * (i // len(pool))) for i in range(includes)]
        constraints += [{"kind": "include", "word": w} for w in chosen]
        constraints += [{"kind": "avoid", "letter": a} for a in avoid]
        if form == "poem" and shape_count:
            # One constraint a line: the first letters of the first S lines spell a word of S
            # letters (one past the longest word repeats it).
            exact = clean([w for w in (*ACROSTICS, *VOCABULARY) if len(w) == shape_count])
            base = rng.choice(exact or clean(list(ACROSTICS)) or ["a"])
            word = (base * (shape_count // len(base) + 1))[:shape_count]
            constraints += [
                {"kind": "acrostic", "line": i, "letter": ch, "word": word} for i, ch in enumerate(word)
            ]
        else:
            for p in range(shape_count):
                constraints.append({"kind": "sentences", "paragraph": p, "count": rng.randint(1, 4)})
        if last is not None:
            constraints.append({"kind": "last", "word": last})
        # The window holds what the text must: its required words, lines and sentences, with room.
        need = 30 + 6 * len(chosen) + 12 * shape_count
        low = rng.randrange(need, need + 40)
        constraints.insert(0, {"kind": "words", "low": low, "high": low + rng.choice((40, 60, 80))})
        rules = "\n".join(f"{i + 1}. {describe(c)}" for i, c in enumerate(constraints))
        question = f"Write a {form} about {subject}. It must keep every rule below.\n{rules}"
        structure = {
            "constraints": len(constraints),
            "include": len(chosen),
            "avoid": len(avoid),
            "shape": shape_count,
            "last": int(last is not None),
        }
        gold = witness(constraints, form)
        return Content(
            question, gold, structure, {"constraints": constraints, "form": form, "subject": subject}
        )

    def check(self, gold: str, pred: str | None, data: dict[str, Any]) -> bool:
        return all(check_text(pred, data["constraints"]))

    def rubric(self, data: dict[str, Any]) -> Rubric:
        """The task's rules as `check` criteria (kept or not, one each, as the task states them),
        then what only a reader can judge; the judge's verdict on a rule is compared with
        `check_constraint`'s to measure the judge (`ponder.lab.judging`)."""
        rules = [
            Criterion(f"rule_{i + 1}", describe(c), 1.0, (0, 1), "check")
            for i, c in enumerate(data["constraints"])
        ]
        return Rubric((*rules, *WRITING))

    def grade(self, gold: str, pred: str | None, data: dict[str, Any]) -> float:
        """Partial credit: the share of constraints kept (the verdict is all of them)."""
        kept = check_text(pred, data["constraints"])
        return sum(kept) / len(kept)

    def space(self, level: int) -> int:
        # forms × subjects × windows (40 lows × 3 widths) × about a word's choice per further rule
        return int(len(FORMS) * len(SUBJECTS) * 120 * len(VOCABULARY) ** min(level - 1, 3))
