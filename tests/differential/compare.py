"""Segment's packages and destkit on the same generated cases: who says what, and how often they agree.

    python -m tests.differential.compare [--mappings 4000] [--triggers 4000] [--seed 15]

prints the raw agreement (every case counted, deliberate differences included) and the cases
left unexplained by :mod:`.differences`. The test (``test_segment.py``) asserts there are none.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from destkit import ConfigError, MappingFailed, compile_mapping, compile_trigger

from .differences import explain_mapping, explain_trigger
from .generate import mapping_cases, trigger_cases

__all__ = ["HERE", "node_ready", "Outcome", "run"]

HERE = Path(__file__).resolve().parent
ERROR = "error"


def node_ready() -> str | None:
    """Why the differential test cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node not found: differential tests skipped"
    if not (HERE / "node_modules" / "@segment" / "actions-core").is_dir():
        return "Segment's packages are not installed (make test installs them with npm): differential tests skipped"
    return None


def segment(mappings: list[Any], triggers: list[Any]) -> dict[str, list[Any]]:
    """Every case evaluated by Segment's packages, in one Node process."""
    answer = subprocess.run(
        ["node", str(HERE / "segment.js")],
        input=json.dumps({"mappings": mappings, "triggers": triggers}),
        capture_output=True,
        text=True,
        cwd=HERE,
        env={**os.environ, "TZ": "UTC"},  # Segment's servers render dates in UTC
        timeout=120,
        check=True,
    )
    result: dict[str, list[Any]] = json.loads(answer.stdout)
    return result


def destkit_mapping(mapping: dict[str, Any], event: dict[str, Any]) -> Any:
    try:
        return {"ok": compile_mapping(mapping)(event)}
    except (ConfigError, MappingFailed) as exc:
        return {"error": str(exc)}
    except Exception as exc:  # a crash agrees with nothing
        return {"crash": f"{type(exc).__name__}: {exc}"}


def destkit_trigger(expression: str, event: dict[str, Any]) -> Any:
    try:
        matches = compile_trigger(expression)
    except ConfigError:
        return ERROR
    except Exception as exc:  # a crash agrees with nothing
        return {"crash": f"{type(exc).__name__}: {exc}"}
    return matches(event)


def _plain(value: Any) -> Any:
    """JSON as JavaScript holds it: whole floats are integers, and booleans stay booleans."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def canonical(outcome: Any) -> str:
    if isinstance(outcome, dict) and "error" in outcome:
        return ERROR  # both refused: which words each uses does not matter
    return json.dumps(_plain(outcome), sort_keys=True, ensure_ascii=False)


@dataclass
class Outcome:
    kind: str  # "mapping" or "trigger"
    case: Any
    segment: Any
    destkit: Any
    explanation: str | None  # the deliberate difference that accounts for a disagreement

    @property
    def agrees(self) -> bool:
        return canonical(self.segment) == canonical(self.destkit)


def run(seed: int, mapping_count: int, trigger_count: int) -> list[Outcome]:
    # Both sides read the same JSON text, so they see the same values.
    mappings = json.loads(json.dumps(mapping_cases(seed, mapping_count)))
    triggers = json.loads(json.dumps(trigger_cases(seed, trigger_count)))
    answers = segment(mappings, triggers)
    outcomes = []
    for case, theirs in zip(mappings, answers["mappings"], strict=True):
        ours = destkit_mapping(*case)
        outcome = Outcome("mapping", case, theirs, ours, None)
        if not outcome.agrees:
            outcome.explanation = explain_mapping(case[0], case[1], theirs, ours)
        outcomes.append(outcome)
    for case, theirs in zip(triggers, answers["triggers"], strict=True):
        ours = destkit_trigger(*case)
        outcome = Outcome("trigger", case, theirs, ours, None)
        if not outcome.agrees:
            outcome.explanation = explain_trigger(case[0], case[1], theirs, ours)
        outcomes.append(outcome)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mappings", type=int, default=4000)
    parser.add_argument("--triggers", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--show", type=int, default=5, help="unexplained disagreements to print per kind")
    args = parser.parse_args()
    problem = node_ready()
    if problem:
        raise SystemExit(problem)
    outcomes = run(args.seed, args.mappings, args.triggers)
    for kind in ("mapping", "trigger"):
        mine = [o for o in outcomes if o.kind == kind]
        agreeing = sum(o.agrees for o in mine)
        explained = [o for o in mine if not o.agrees and o.explanation]
        unexplained = [o for o in mine if not o.agrees and not o.explanation]
        print(
            f"{kind}s: {len(mine)} cases, agreement {100 * agreeing / len(mine):.2f}% "
            f"({agreeing}), deliberate differences {len(explained)}, unexplained {len(unexplained)}"
        )
        reasons: dict[str, int] = {}
        for outcome in explained:
            reasons[outcome.explanation or ""] = reasons.get(outcome.explanation or "", 0) + 1
        for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
            print(f"  {count:5d}  {reason}")
        for outcome in unexplained[: args.show]:
            print("  UNEXPLAINED", json.dumps(outcome.case, ensure_ascii=False)[:600])
            print("    segment:", json.dumps(outcome.segment, ensure_ascii=False)[:300])
            print("    destkit:", json.dumps(outcome.destkit, ensure_ascii=False, default=repr)[:300])


if __name__ == "__main__":
    main()
