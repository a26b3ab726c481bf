"""`router@N:name=NAME`: compute-optimal routing by a rule fitted from a study (`ponder router fit`).

At run time: 1. two probe samples, drawn with logprobs in one call; 2. their signals (do their
answers agree, their mean logprob, the problem's family and level where its id names them:
`ponder.lab.router`); 3. the rule's option for those signals, `sc@k` or `bon@k`, capped at N;
4. k − 2 more samples in a second call (its own seed offset; with logprobs only for bon); 5. the
option's selection over all k: the vote, or the best by mean logprob with the vote as fallback
where there are none. The probes are reused, charged once: the usage is the two calls'. The notes
state the signals and the option. The rule never sees a gold answer; nor does this strategy.

@N caps the samples drawn (default 16): an option above it is cut to N (`bon@16` → `bon@8` at
N = 8), and N = 1 draws one sample and answers it, with no probes to route on. The cap is what a
study's ladder of budgets needs: a study derives `router` from its chain-of-thought pool (with
logprobs) at each budget k of its ladder, the rule capped at k, every probe pair of the pool
averaged, and charges it the expected samples drawn (`Estimate.samples`), as adaptive is charged.
The pool carries no family or level, so there the rule's pooled bins serve every problem.

Without a name, `router` runs the built-in agreement rule (not fitted): probes that agree give
their answer, otherwise a vote over N samples; the note says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ponder.lab import router as rules
from ponder.lab.router_pool import estimate_pool, group_of_id, parse_option
from ponder.specs import Spec
from ponder.strategies.base import Context, Key, Strategy, StrategyInfo, register
from ponder.strategies.pooling import Estimate, Pooling, PoolView
from ponder.strategies.sampling import TEMPERATURE, draw, to_candidate, vote
from ponder.strategies.scorers import score, vote_scores
from ponder.types import Problem, Result

DEFAULT_N = 16
KEYS = {
    "name": Key(str, None, "a router fitted by `ponder router fit ... --name NAME`, e.g. gsm8k-05b"),
    "temperature": TEMPERATURE,
}


def rule_of(name: str | None, n: int) -> rules.Rule:
    return rules.load(name) if name is not None else rules.agreement_rule(n)


def router(*, spec: str, n: int, name: str | None = None, temperature: float | None = None) -> Strategy:
    rule = rule_of(name, n)  # a missing name fails here, before any model is asked
    label = f"router '{name}'" if name is not None else "router (built-in agreement rule, not fitted)"

    async def run(problem: Problem, ctx: Context) -> Result:
        if n < 2:
            samples, answers = await draw(problem, ctx, 1, temperature)
            candidates = [to_candidate(samples[0], answers[0], None)]
            note = f"{label}: N = 1 leaves no probes to route on: one sample, answered"
            return ctx.result(answer=answers[0], strategy=spec, candidates=candidates, votes=vote(answers)[1],
                              scorer="vote", notes=[note])  # fmt: skip
        # 1-3: the probes, their signals, the option
        samples, answers = await draw(problem, ctx, 2, temperature, logprobs=True)
        ctx.keep(vote(answers)[0], [to_candidate(s, a, None) for s, a in zip(samples, answers, strict=True)])
        seen = rules.signals(answers, [s.mean_logprob for s in samples], group_of_id(problem.id))
        option = rule.choose(seen, cap=n)
        kind, k = parse_option(option)
        # 4: the rest of the k samples
        if k > 2:
            more, read = await draw(problem, ctx, k - 2, temperature, logprobs=kind == "bon", seed_offset=1)
            samples, answers = [*samples, *more], [*answers, *read]
        # 5: the option's selection over all k
        winner, votes = vote(answers)
        notes: list[str] = []
        if kind == "bon":
            used, scores, notes = await score("logprob", problem, samples, answers, ctx)
            best = max(range(len(samples)), key=lambda i: (answers[i] is not None, scores[i], -i))
            winner = answers[best]
        else:
            used, scores = "vote", vote_scores(samples, answers)
        lp = "none" if math.isnan(seen.logprob) else f"{seen.logprob:.3f}"
        signal = (
            f"probes {'agree' if seen.agree else 'disagree'}, mean logprob {lp} "
            f"(bin {rule.logprob_bin(seen.logprob)}), group {seen.group or 'none'}"
        )
        notes.append(f"{label}: {signal} → {option} ({k} samples, the 2 probes among them)")
        candidates = [to_candidate(s, a, x) for s, a, x in zip(samples, answers, scores, strict=True)]
        return ctx.result(
            answer=winner, strategy=spec, candidates=candidates, votes=votes, scorer=used, notes=notes
        )

    return run


def _pooling(spec: Spec) -> Pooling:
    name = spec.params.get("name")

    def estimate(view: PoolView, ks: Sequence[int]) -> Estimate:
        rule = rule_of(name, max(ks))
        values, samples, info = estimate_pool(
            rule, view.labels, view.correct, view.scores, ks, seed=view.seed
        )
        return Estimate(values, info, samples=samples)

    return Pooling(estimate, logprobs=True)


register(
    StrategyInfo(
        "router",
        "compute-optimal routing: 2 probe samples, then the fitted rule's sc@k or bon@k, k ≤ N",
        router,
        KEYS,
        budget=True,
        default_n=DEFAULT_N,
        pooling=_pooling,
        runs_code=False,
    )
)
