"""Item seeds and the public/private split.

An item's random generator is seeded from sha256(secret, family, level, split, seed, index, attempt),
never `seed + index`: neighbouring seeds then share no items. The public split uses a fixed, published
secret, so public items are the same on every installation; the private split uses this
installation's secret (made once, kept in PONDER_HOME/task-secret, or given by PONDER_TASK_SECRET),
which never appears in a report or an export.

Splits are disjoint by construction: an item's split is decided by a hash of its content, and
generation for one split skips (re-draws) items whose content belongs to the other.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets

from ponder import paths

PUBLIC_SECRET = "ponder-public-v1"
PRIVATE_SHARE = 4  # one item in four belongs to the private split
SPLITS = ("public", "private")


def installation_secret() -> str:
    env = os.environ.get("PONDER_TASK_SECRET")
    if env:
        return env
    path = paths.home() / "task-secret"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def item_rng(
    secret: str, family: str, level: int, split: str, seed: int, index: int, attempt: int
) -> random.Random:
    key = f"{secret}\x1f{family}\x1f{level}\x1f{split}\x1f{seed}\x1f{index}\x1f{attempt}"
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big"))


def content_hash(family: str, question: str) -> str:
    """An item is its question: two items that ask the same are the same item, whatever their gold
    expression (countdown has many correct answers to one question)."""
    return hashlib.sha256(f"{family}\x1f{question}".encode()).hexdigest()


def split_of(digest: str) -> str:
    """The split an item's content belongs to."""
    return "private" if int(digest[:8], 16) % PRIVATE_SHARE == 0 else "public"
