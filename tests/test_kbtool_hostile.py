"""`triage kb check` times every pattern kind on hostile input built from the pattern's own literals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import regex

from triage.kbtool import check_kb, pattern_attacks
from triage.load import REGEX_FLAGS

from test_kbtool_emitters import _kb_dir, crafted_kb

EVIL = """
[[signature]]
id = "evil-prefixed"
kb = "crafted-entry"
description = "catastrophic behind a literal prefix and a keyword"
keywords = ["zzfail"]
regex = '''zzfail: ((?:a|a)+)+b'''
[signature.examples]
match = ['''zzfail: aab''']
no_match = ['''zzfail: c''']

[[signature]]
id = "evil-anywhere"
kb = "crafted-entry"
description = "quadratic anywhere pattern"
keywords = ["qqfail"]
regex = '''qqfail'''
anywhere = ['''qqload: (\\w+\\s?)+\\.gguf$''']
[signature.examples]
match = ['''qqfail
qqload: model.gguf''']
no_match = ['''qqfail''']

[[signature]]
id = "evil-unless-anywhere"
kb = "crafted-entry"
description = "catastrophic unless_anywhere pattern"
keywords = ["wwfail"]
regex = '''wwfail'''
unless_anywhere = ['''wwok (x+x+)+y''']
[signature.examples]
match = ['''wwfail''']
no_match = ['''wwfail wwok xxy''']

[[signature]]
id = "evil-near"
kb = "crafted-entry"
description = "catastrophic near pattern"
keywords = ["nnfail"]
regex = '''nnfail'''
near = ['''nnctx=(\\d+\\d+)+!''']
[signature.examples]
match = ['''nnctx=12!
nnfail''']
no_match = ['''nnfail''']

[[signature]]
id = "fine"
kb = "crafted-entry"
description = "linear"
keywords = ["okfail"]
regex = '''okfail: (?P<what>[^\\n]{1,200})'''
[signature.examples]
match = ['''okfail: x''']
no_match = ['''okfine''']
"""


def test_attacks_carry_the_literal_prefix_and_pump_the_repeat() -> None:
    attacks = pattern_attacks(r"zzfail: ((?:a|a)+)+b", ["zzfail"])
    assert any(a.startswith("zzfail: aaaa") and len(a) > 10000 and not a.endswith("b") for a in attacks)
    pattern = regex.compile(r"zzfail: ((?:a|a)+)+b", REGEX_FLAGS)
    t0 = time.perf_counter()
    try:
        for a in attacks:
            pattern.search(a, timeout=0.2)
        timed_out = False
    except TimeoutError:
        timed_out = True
    assert timed_out or time.perf_counter() - t0 > 0.2


def test_crafted_kb_dir_catastrophic_patterns_are_caught(tmp_path: Path) -> None:
    errors, _ = check_kb(crafted_kb(_kb_dir(tmp_path, EVIL)), timing=True, fixtures=[])
    fields = sorted(e.field for e in errors)
    assert fields == ["signature[0].regex[0]", "signature[1].anywhere[0]", "signature[2].unless_anywhere[0]",
                      "signature[3].near[0]"], [str(e) for e in errors]
    assert all("slow on hostile input" in e.message for e in errors)


# Quadratic, but each measurement is cut off at the time limit: 200 ms (capped) on 20 kB, about 150 on half and
# 37 on a quarter, so neither growth step reads as x2.8 and a quarter is under twice the limit. A pattern that
# reaches the cap on its own hostile input is slow whatever its growth looks like (round 72l's veto before it was
# bounded: `(?:sudo[ \t]+)?(?![^\n]*...)` over a run of spaces).
CAPPED = """
[[signature]]
id = "capped-quadratic"
kb = "crafted-entry"
description = "quadratic veto whose growth the time limit hides"
keywords = ["qqkill"]
regex = '''qqkill'''
unless_anywhere = ['''qqline \\d{1,6}: (?:sudo[ \\t]+)?(?![^\\n]*zzz)[a-z]''']
[signature.examples]
match = ['''qqkill''']
no_match = ['''qqkill
qqline 1: sudo x''']
"""


def test_pattern_that_reaches_the_time_limit_is_caught_whatever_its_growth(tmp_path: Path) -> None:
    errors, _ = check_kb(crafted_kb(_kb_dir(tmp_path, CAPPED)), timing=True, fixtures=[])
    assert [e.field for e in errors] == ["signature[0].unless_anywhere[0]"], [str(e) for e in errors]


@pytest.mark.skipif(time.get_clock_info("thread_time").resolution > 1e-6, reason="coarse thread clock: wall time is used")
def test_time_spent_waiting_for_a_core_is_not_counted_as_the_pattern_s() -> None:
    """A linear pattern descheduled on a loaded machine (here: a search that sleeps, using no CPU) is not slow."""
    from triage.kbtool import SLOW_LIMIT, _time_search

    class Descheduled:
        def search(self, text: str, timeout: float) -> None:
            time.sleep(SLOW_LIMIT * 1.5)

    assert _time_search(Descheduled(), "x", SLOW_LIMIT * 4) < SLOW_LIMIT / 4
