"""The engine's decisions on a fixed, rich input are byte-identical to the golden file's.

A mismatch means the engine decides differently: if that is meant (a rule changed on
purpose), rewrite the file with ``python -m tests.alerts.decisions_harness --write`` and say
why in the commit; a refactor never needs to."""

from __future__ import annotations

import json

from tests.alerts.decisions_harness import GOLDEN, compute


def test_decisions_are_byte_identical_to_the_golden_file() -> None:
    golden = json.loads(GOLDEN.read_text())
    result = compute()
    changed = {
        name: (golden["sections"].get(name), found)
        for name, found in result["sections"].items()
        if golden["sections"].get(name) != found
    }
    assert changed == {}, f"sections deciding differently: {sorted(changed)}"
    assert set(result["sections"]) == set(golden["sections"])
    assert result["sample"] == golden["sample"]
    assert result["sha256"] == golden["sha256"]
