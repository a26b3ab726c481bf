"""ponder: test-time compute that is easy to use and honest to measure.

Spend extra inference compute on a problem through composable strategies, account for every token,
call, second, FLOP and dollar, and measure accuracy against compute.
"""

from ponder.api import ask, ask_async
from ponder.errors import PonderError
from ponder.lab.study import study
from ponder.specs import Spec, parse_spec, parse_specs
from ponder.types import Candidate, Message, Problem, Result, Sample, SamplingParams, Usage

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "Message",
    "PonderError",
    "Problem",
    "Result",
    "Sample",
    "SamplingParams",
    "Spec",
    "Usage",
    "__version__",
    "ask",
    "ask_async",
    "parse_spec",
    "parse_specs",
    "study",
]
