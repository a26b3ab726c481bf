"""A study's settings: from flags, a TOML file (`--config`), or Python; checked before anything runs.

Budgets are the powers of two up to N, and N (`--max-n 12` → 1, 2, 4, 8, 12). A strategy given with a
budget (`sc@16`) uses its own ladder up to that budget instead of `--max-n`. `only` gives a model its
own strategies (`only = {"qwen2.5-coder-1.5b" = ["cot"]}`: the large model answers once), so a small
model thinking longer can stand beside a large one without paying for the large one's pool.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ponder.backends.base import MAX_N
from ponder.errors import PonderError
from ponder.limits import Limit
from ponder.session import Options, parse_roles
from ponder.specs import Spec, parse_spec, parse_specs
from ponder.strategies import (
    DEFAULT_STRATEGIES,
    POOL_ESTIMATORS,
    REGISTRY,
    Pooling,
    build,
    check_roles,
    info_of,
)
from ponder.strategies.pooling import SCORE_PASSES

MAX_CONCURRENCY = 64
PAIRWISE_POOL = 8  # the largest pool a study's pairwise judge reads (its calls grow as N²)
WHOLE_NUMBERS = (
    "max_n",
    "problems",
    "max_tokens",
    "seed",
    "threads",
    "ctx",
    "timing_problems",
    "concurrency",
    "workers",
)
EXECUTORS = ("local", "ray")
MAX_WORKERS = 4096


def pooling(spec: Spec) -> Pooling | None:
    """How the study derives `spec` from a pool, as its strategy (or a pool estimator such as
    `coverage`) declares it; None for a strategy that runs as written."""
    if spec.name in POOL_ESTIMATORS:
        return POOL_ESTIMATORS[spec.name]
    info = info_of(spec)
    return info.pooling(spec) if info.pooling is not None else None


def compare_points(pair: str) -> list[tuple[str, str, int]]:
    """'sc@8/qwen2.5-coder-0.5b vs cot/qwen2.5-coder-1.5b' → two (model, strategy, budget) points."""
    sides = pair.split(" vs ")
    if len(sides) != 2:
        raise PonderError(f"--compare '{pair}': write 'SPEC@K/MODEL vs SPEC@K/MODEL'")
    points = []
    for side in sides:
        spec_text, slash, model = side.strip().partition("/")
        if not slash or not model:
            raise PonderError(f"--compare '{side.strip()}': write SPEC@K/MODEL, e.g. sc@8/qwen2.5-coder-0.5b")
        spec = parse_spec(spec_text)
        points.append((model, str(spec.at(None)), spec.n or 1))
    return points


def budgets(n: int) -> list[int]:
    ladder, k = [], 1
    while k < n:
        ladder.append(k)
        k *= 2
    return [*ladder, n]


@dataclass
class StudyConfig:
    models: list[str]
    suite: str
    strategies: list[str] = field(default_factory=lambda: list(DEFAULT_STRATEGIES))
    max_n: int = 8
    problems: int = 20
    out: str = "study"
    max_tokens: int = 320
    temperature: float = 0.7
    seed: int = 0
    split: str = "public"
    base_url: str | None = None
    threads: int = 2
    ctx: int = 2048
    only: dict[str, list[str]] = field(default_factory=dict)
    compare: list[str] = field(default_factory=list)  # "sc@8/MODEL vs cot/MODEL2": paired intervals
    # Problems on which each pool budget k < n is also requested for real, to measure the engine's
    # batching curve (seconds at k); 0 prorates seconds by token share instead (an estimate).
    timing_problems: int = 3
    # Models of roles other than the policy ({"judge": "qwen2.5-1.5b"}): the `[roles]` table of a
    # TOML config, `--role ROLE=MODEL` / `--judge MODEL` on the command line. Each studied model is
    # the policy in turn; a role named here serves every one of them.
    roles: dict[str, str] = field(default_factory=dict)
    # A hard limit per problem and run ("tokens=4000,usd=0.01"): see `ponder.limits`.
    limit: str | None = None
    # Work items (requests) in flight at once per model: HTTP requests in flight, or problems sharing
    # the embedded engine's slots. How the study runs, not what it measures: not in its identity.
    concurrency: int = 1
    # Scoring passes run over every pool to measure, not to select (`judges = ["rubric",
    # "pairwise"]`): the judged-quality axis and the judges' agreement with the oracle come from
    # them. Charged to no strategy: a strategy that reads a pass pays for it through its own scorer.
    judges: list[str] = field(default_factory=list)
    # Where the work runs (`executors.md`): "local", on this process's event loop, or "ray", on a
    # pool of `workers` Ray actors (each its own session: its own engine and `threads` cores, or its
    # own client of a server) joined at `address` ("auto", "HOST:PORT"; None: a local cluster).
    # How the study runs, not what it measures: not in its identity, so either executor resumes
    # what the other began.
    executor: str = "local"
    address: str | None = None
    workers: int = 1

    @classmethod
    def from_toml(cls, path: Path, **overrides: Any) -> StudyConfig:
        try:
            data = tomllib.loads(path.read_text())
        except OSError as e:
            raise PonderError(f"cannot read the config {path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise PonderError(f"{path} is not valid TOML ({e})") from None
        data = data.get("study", data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise PonderError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
        for key in ("models", "strategies"):
            if isinstance(data.get(key), str):
                data[key] = [s for s in data[key].split(",") if s]
        if isinstance(data.get("roles"), dict):
            data["roles"] = {str(k): v for k, v in data["roles"].items()}
        if isinstance(data.get("only"), dict):
            data["only"] = {
                m: v.split(",") if isinstance(v, str) else list(v) for m, v in data["only"].items()
            }
        data.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**data)
        except TypeError as e:
            raise PonderError(f"{path}: {e}") from None

    def specs(self, model: str | None = None) -> list[Spec]:
        """The strategies, or a model's own where `only` names it."""
        chosen = self.only.get(model, self.strategies) if model is not None else self.strategies
        return parse_specs(",".join(chosen))

    def ladder(self, spec: Spec) -> list[int]:
        """The budgets of a spec: a pooled one's ladder up to its @N (or --max-n); a strategy that
        runs as written has one point, at its own @N (a ladder of those is written out:
        `revise@1,revise@2`)."""
        if pooling(spec) is not None:
            return budgets(spec.n if spec.n is not None else self.max_n)
        info = info_of(spec)
        return [info.n(spec)] if info.budget else [1]

    def pools(self, model: str | None = None) -> dict[str, int]:
        """Each pool a model's strategies draw from, with its size: the largest budget using it."""
        sizes: dict[str, int] = {}
        for s in self.specs(model):
            p = pooling(s)
            if p is not None:
                sizes[p.pool] = max(sizes.get(p.pool, 0), max(self.ladder(s)))
        return sizes

    def pool_size(self, model: str | None = None) -> int:
        """The most samples per problem any of a model's pools holds (sizes the engine's slots)."""
        return max(self.pools(model).values(), default=0)

    def pool_logprobs(self, model: str, pool: str) -> bool:
        """Whether a pool must carry token logprobs: some strategy using it scores by them."""
        return any(p.logprobs for s in self.specs(model) if (p := pooling(s)) is not None and p.pool == pool)

    def score_passes(self, model: str | None = None) -> list[tuple[str, str]]:
        """The scoring passes a model's strategies read, each with the pool it scores: (scorer, pool)."""
        found = {(p.scorer, p.pool) for s in self.specs(model) if (p := pooling(s)) and p.scorer}
        if "cot" in self.pools(model):  # the judges read the chain-of-thought pool, where drawn
            found |= {(judge, "cot") for judge in self.judges}
        return sorted((scorer, pool) for scorer, pool in found if scorer is not None)

    def run_judges(self) -> list[str]:
        """The judges that also read each run's final answer: those giving a value of their own
        (a rubric's score); a pairwise judge ranks a pool and has nothing to say of one answer."""
        return [j for j in self.judges if j != "pairwise"]

    def _check_types(self) -> None:
        def bad(name: str, what: str) -> PonderError:
            return PonderError(f"setting '{name}' must be {what} (got {getattr(self, name)!r})")

        for name in ("models", "strategies"):
            value = getattr(self, name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(name, "a list of strings or a comma-separated string")
        for name in ("suite", "out", "split"):
            if not isinstance(getattr(self, name), str):
                raise bad(name, "a string")
        for name in WHOLE_NUMBERS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad(name, "a whole number")
        if not isinstance(self.temperature, int | float) or isinstance(self.temperature, bool):
            raise bad("temperature", "a number")
        for name in ("base_url", "limit", "address"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise bad(name, "a string")
        if not isinstance(self.roles, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.roles.items()
        ):
            raise bad("roles", "a table of role = model")
        if not isinstance(self.judges, list) or not all(isinstance(j, str) for j in self.judges):
            raise bad("judges", 'a list of scoring passes, e.g. ["rubric", "pairwise"]')
        if not isinstance(self.compare, list) or not all(isinstance(c, str) for c in self.compare):
            raise bad("compare", "a list of 'SPEC@K/MODEL vs SPEC@K/MODEL'")
        if not isinstance(self.only, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(s, str) for s in v)
            for k, v in self.only.items()
        ):
            raise bad("only", "a table of model = [strategies]")

    def check(self) -> None:
        self._check_types()
        if not self.models:
            raise PonderError("--model needs at least one model")
        if len(set(self.models)) != len(self.models):
            raise PonderError("a model is named twice in --model")
        if not 1 <= self.max_n <= MAX_N:
            raise PonderError(f"--max-n must be between 1 and {MAX_N}")
        if not 1 <= self.problems <= 100_000:
            raise PonderError("--problems must be between 1 and 100000")
        self.options().check()  # the settings every session shares: checked as `ask` checks them
        if not self.strategies:
            raise PonderError("--strategies needs at least one strategy")
        self.role_models(self.models[0])
        if not 0 <= self.timing_problems <= 100_000:
            raise PonderError("--timing-problems must be between 0 and 100000")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise PonderError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        if self.executor not in EXECUTORS:
            raise PonderError(f"unknown executor '{self.executor}': use one of {', '.join(EXECUTORS)}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise PonderError(f"--workers must be between 1 and {MAX_WORKERS}")
        if self.executor == "local" and (self.workers != 1 or self.address is not None):
            raise PonderError("--workers and --address are for --executor ray: add it, or drop them")
        strangers = set(self.only) - set(self.models)
        if strangers:
            raise PonderError(f"'only' names models that are not studied: {', '.join(sorted(strangers))}")
        if any(not v for v in self.only.values()):
            raise PonderError("'only' gives a model no strategy: name at least one")
        all_specs = [s for m in [None, *self.only] for s in self.specs(m)]
        for judge in self.judges:
            if judge not in SCORE_PASSES:
                raise PonderError(
                    f"unknown judge '{judge}' in 'judges': use one of {', '.join(SCORE_PASSES)}"
                )
        if len(set(self.judges)) != len(self.judges):
            raise PonderError("a judge is named twice in 'judges'")
        for spec in all_specs:
            if spec.name in POOL_ESTIMATORS:
                if spec.params or spec.inner:
                    raise PonderError(f"{spec.name} takes no keys: it is an estimator over the pool")
            elif spec.name not in REGISTRY:
                known = ", ".join(sorted([*REGISTRY, *POOL_ESTIMATORS]))
                raise PonderError(f"unknown strategy '{spec.name}': use one of {known}")
            elif pooling(spec) is None:
                build(spec)  # run as written
            elif "temperature" in spec.params:
                raise PonderError(
                    f"'{spec}': pooled strategies share one pool sampled at --temperature: set it there"
                )
            else:
                build(spec.at(1))  # keys checked; the budgets come from the ladder
            if pooling(spec) is not None and spec.n is not None and not 1 <= spec.n <= MAX_N:
                raise PonderError(f"'{spec}': N must be between 1 and {MAX_N}")
        if self.judges and not any("cot" in self.pools(m) for m in self.models):
            raise PonderError(
                "'judges' score the chain-of-thought pool: name at least one pooled strategy that "
                "draws it (sc@4, bon@4)"
            )
        if "pairwise" in self.judges and self.max_n > PAIRWISE_POOL:
            raise PonderError(
                f"the pairwise judge compares every two samples of a pool (N(N-1) calls per criterion): "
                f"use max_n of at most {PAIRWISE_POOL} with it"
            )
        for pair in self.compare:
            for point in compare_points(pair):
                self.find(point)
        for model in [None, *self.only]:
            mine = self.specs(model)
            if len({str(s) for s in mine}) != len(mine):
                raise PonderError("a strategy is named twice in --strategies")
        # a role given a model that no strategy calls is a mistake (the pools use the policy only);
        # the judges' own passes call theirs (a judge model that only measures)
        judging = {role for judge in self.judges for role in SCORE_PASSES[judge].roles}
        check_roles([s for s in all_specs if s.name in REGISTRY], [r for r in self.roles if r not in judging])

    def find(self, point: tuple[str, str, int]) -> None:
        """Check that a named point (model, strategy without budget, budget) is in this study."""
        model, strategy, budget = point
        if model not in self.models:
            raise PonderError(f"--compare names '{model}', which is not studied")
        for spec in self.specs(model):
            if str(spec.at(None)) == strategy and budget in self.ladder(spec):
                return
        raise PonderError(f"--compare names {strategy}@{budget} for {model}, which the study does not run")

    def options(self) -> Options:
        """The session options of the study's models (the sampling temperature is the pool's, set
        per request; runs keep their strategies' own)."""
        return Options(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=self.seed,
            threads=self.threads,
            ctx=self.ctx,
            base_url=self.base_url,
            limit=Limit.parse(self.limit),
        )

    def role_models(self, model: str) -> dict[str, str]:
        """The roles of a studied model's session: it is the policy; the other roles are shared."""
        return parse_roles(model, [f"{r}={m}" for r, m in self.roles.items()])

    def identity(self) -> dict[str, Any]:
        """What must match for `--resume` to continue this study (everything but where it is and
        how it runs: requests in flight, the executor and its workers)."""
        data = asdict(self)
        data.pop("out")
        for how in ("concurrency", "executor", "address", "workers"):
            data.pop(how)
        if not data["judges"]:
            data.pop("judges")  # a study from before `judges` keeps its identity
        return data
