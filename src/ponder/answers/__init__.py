"""Final answers: extraction from a completion, normalization, and matching against a gold answer."""

from ponder.answers.extract import extract_answer, normalize
from ponder.answers.match import match_exact, match_math, match_numeric

__all__ = ["extract_answer", "match_exact", "match_math", "match_numeric", "normalize"]
