"""destkit against Segment's own packages (actions-core, destination-subscriptions) in Node.

Thousands of generated mappings and triggers (:mod:`.generate`) are evaluated by both, Segment's
side in one Node process; every disagreement must be one of the deliberate differences that
:mod:`.differences` lists with its reason. Skipped, saying why, where Node or the packages are missing.
"""

from __future__ import annotations

import json
import warnings

import pytest

from .compare import Outcome, node_ready, run

CASES = 3000


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    problem = node_ready()
    if problem:
        pytest.skip(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the generated triggers include odd ones on purpose
        return run(seed=15, mapping_count=CASES, trigger_count=CASES)


@pytest.mark.parametrize("kind", ["mapping", "trigger"])
def test_every_disagreement_is_a_listed_difference(outcomes: list[Outcome], kind: str) -> None:
    unexplained = [o for o in outcomes if o.kind == kind and not o.agrees and o.explanation is None]
    shown = "\n".join(
        f"{json.dumps(o.case, ensure_ascii=False)[:300]}\n  segment: {o.segment}\n  destkit: {o.destkit}" for o in unexplained[:5]
    )
    assert not unexplained, f"{len(unexplained)} {kind}s disagree with Segment for no listed reason:\n{shown}"


@pytest.mark.parametrize("kind", ["mapping", "trigger"])
def test_most_cases_agree_outright(outcomes: list[Outcome], kind: str) -> None:
    mine = [o for o in outcomes if o.kind == kind]
    assert len(mine) == CASES
    assert sum(o.agrees for o in mine) / len(mine) >= 0.995  # the target: agreeing outright, differences included
