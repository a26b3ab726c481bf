from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponder import PonderError, parse_spec, parse_specs
from ponder.specs import Spec
from ponder.strategies import build


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cot", Spec("cot")),
        ("sc@8", Spec("sc", 8)),
        ("bon@8:scorer=logprob", Spec("bon", 8, {"scorer": "logprob"})),
        ("beam@16:width=4", Spec("beam", 16, {"width": "4"})),
        ("bon@4(revise@2)", Spec("bon", 4, {}, Spec("revise", 2))),
        (
            "bon@4(revise@2:rounds=3):scorer=vote",
            Spec("bon", 4, {"scorer": "vote"}, Spec("revise", 2, {"rounds": "3"})),
        ),
        ("sc:temperature=0.5", Spec("sc", None, {"temperature": "0.5"})),
    ],
)
def test_parse(text: str, expected: Spec) -> None:
    assert parse_spec(text) == expected
    assert str(parse_spec(text)) == text or parse_spec(str(parse_spec(text))) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SC@8",
        "sc@",
        "sc@x",
        "sc@8:",
        "sc:k",
        "sc:k=",
        "sc:k=1:k=2",
        "bon@4(revise@2",
        "sc@8 x",
        "a/b",
        "sc,bon",
        "sc@8)",
        "@8",
        "sc:k=a/b",
    ],
)
def test_bad_specs_are_one_line_errors(text: str) -> None:
    with pytest.raises(PonderError) as e:
        parse_spec(text)
    assert "\n" not in str(e.value)


def test_lists_are_comma_separated() -> None:
    assert [str(s) for s in parse_specs("sc@8,bon@4:scorer=vote,cot")] == [
        "sc@8",
        "bon@4:scorer=vote",
        "cot",
    ]


def test_canonical_form_sorts_keys() -> None:
    assert str(parse_spec("bon@4:temperature=1:scorer=vote")) == "bon@4:scorer=vote:temperature=1"


names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
values = st.from_regex(r"[A-Za-z0-9._=+-]{1,8}", fullmatch=True)


@st.composite
def specs(draw: st.DrawFn, depth: int = 2) -> Spec:
    inner = draw(st.none() | specs(depth - 1)) if depth > 0 else None
    return Spec(
        draw(names),
        draw(st.none() | st.integers(0, 10_000)),
        draw(st.dictionaries(keys, values, max_size=3)),
        inner,
    )


# Nested specs take a while to draw; on a loaded machine that trips the speed health check, which
# is about the generator, not about what this test checks.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_round_trip(spec: Spec) -> None:
    text = str(spec)
    assert not any(c in text for c in "/, \t")
    assert parse_spec(text) == spec


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("nope@3", "unknown strategy 'nope'"),
        ("sc@8:width=2", "unknown key 'width'"),
        ("bon@4:scorer=magic", "scorer must be one of"),
        ("sc:temperature=hot", "not a float"),
        ("direct@4", "takes no @N"),
        ("sc@0", "between 1 and"),
        ("sc@100000", "between 1 and"),
        ("sc@4(cot)", "does not wrap"),
    ],
)
def test_registry_rejects(text: str, fragment: str) -> None:
    with pytest.raises(PonderError, match=fragment):
        build(text)
