"""Accuracy of the comparator on synthetic pairs, beside two baselines, as markdown tables.

    python -m yardsticks.bench_compare [--quick] [--seed N]

Baselines, on the same cases:
- welch: Bencher-like, every per-token sample of every run and repetition pooled per side; an
  alarm when Welch's t-test is significant at 95 % and the mean changed by more than the 2 %
  threshold.
- asv: asv's default factor, on the medians of the pooled samples: an alarm when head / base
  is beyond 1.1 (or below 1 / 1.1).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Sequence

from benchmark.analysis.compare import CompareOptions, Run, compare, t_quantile
from yardsticks.pairs import CHANGES, CONDITIONS, LAYOUTS, Case, Scores, cases

THRESHOLD = 0.02
METHODS = ("ours", "welch", "asv")


def _pooled(runs: Sequence[Run]) -> list[float]:
    return [v for run in runs for rep in run.reps for v in rep]


def _alarm(change: float) -> str:
    return "regression" if change > 0 else "improvement"


def welch_verdict(case: Case) -> str:
    b, h = _pooled(case.base), _pooled(case.head)
    mb, mh = statistics.fmean(b), statistics.fmean(h)
    vb, vh = statistics.variance(b) / len(b), statistics.variance(h) / len(h)
    df = (vb + vh) ** 2 / (vb ** 2 / (len(b) - 1) + vh ** 2 / (len(h) - 1))
    change = mh / mb - 1
    significant = abs(mh - mb) > t_quantile(0.975, df) * math.sqrt(vb + vh)
    return _alarm(change) if significant and abs(change) > THRESHOLD else "no_change"


def asv_verdict(case: Case, factor: float = 1.1) -> str:
    ratio = statistics.median(_pooled(case.head)) / statistics.median(_pooled(case.base))
    return _alarm(ratio - 1) if ratio > factor or ratio < 1 / factor else "no_change"


def score(seed: int, pairs: int) -> Scores:
    scores, options = Scores(), CompareOptions(threshold=THRESHOLD)
    for case in cases(seed, pairs):
        c = compare(case.base, case.head, "lower", options, case.history)
        scores.add(case, "ours", c.verdict, c.ci)
        scores.add(case, "welch", welch_verdict(case))
        scores.add(case, "asv", asv_verdict(case))
    return scores


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


SMALL = 0.01  # the sub-threshold change: "suspicious" should fire, an alarm should not
CLASSES = ("regression", "suspicious", "noisy", "insufficient", "improvement", "no_change")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table_head(title: str, head: list[str]) -> list[str]:
    """A markdown section title and a table's header lines."""
    return [f"### {title}", "", _row(head), "|" + "---|" * len(head)]


def tables(scores: Scores) -> str:
    moved = [c for c in CHANGES if c and c != SMALL]
    head = ["condition", "method", "false alarms at 0"] + [f"caught {c * 100:+.0f} %" for c in moved] + [
        "CI covers", "no_change at 0", "noisy at 0", "suspicious at 0", f"suspicious at {SMALL * 100:+.0f} %",
        f"alarm at {SMALL * 100:+.0f} %"]
    out = []
    for layout in LAYOUTS:
        out += _table_head(f"{layout.name}: {layout.description}", head)
        for cond in CONDITIONS:
            for method in METHODS:
                by_change = {c: scores.get(layout.name, cond.name, method, c) for c in CHANGES}
                zero, small = by_change[0.0], by_change[SMALL]
                covered = sum(t.covered for t in by_change.values())
                with_ci = sum(t.with_ci for t in by_change.values())
                row = [cond.name, method, _rate(zero.alarms, zero.pairs)]
                row += [_rate(by_change[c].caught, by_change[c].pairs) for c in moved]
                row += [_rate(covered, with_ci) if method == "ours" else "",
                        _rate(zero.no_change, zero.pairs), _rate(zero.noisy, zero.pairs)]
                row += [_rate(zero.verdicts["suspicious"], zero.pairs),
                        _rate(small.verdicts["suspicious"], small.pairs)]
                row += [_rate(small.alarms, small.pairs)]
                out.append(_row(row))
        out.append("")
    return "\n".join(out)


def class_tables(scores: Scores) -> str:
    """How often each verdict class fires, ours only, per layout, condition and true change."""
    head = ["condition", "true change"] + list(CLASSES)
    out = []
    for layout in LAYOUTS:
        out += _table_head(f"{layout.name}: verdict classes (ours, % of pairs)", head)
        for cond in CONDITIONS:
            for change in CHANGES:
                t = scores.get(layout.name, cond.name, "ours", change)
                shares = [_rate(t.verdicts[v], t.pairs) for v in CLASSES]
                out.append(_row([cond.name, f"{change * 100:+.0f} %", *shares]))
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yardsticks.bench_compare", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="100 pairs per cell instead of 1000")
    p.add_argument("--seed", type=int, default=2, help="generator seed (default 2; the method was tuned on 1)")
    args = p.parse_args(argv)
    pairs = 100 if args.quick else 1000
    print(f"Seed {args.seed}, {pairs} pairs per layout x condition x change, threshold {THRESHOLD:.0%}, "
          f"confidence {CompareOptions().confidence:.0%}. Rates in %.\n")
    for cond in CONDITIONS:
        print(f"- {cond.name}: {cond.description}")
    print()
    scores = score(args.seed, pairs)
    print(tables(scores))
    print(class_tables(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
