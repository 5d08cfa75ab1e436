"""Quality benchmark of change-point detection: ours beside library anchors, on synthetic histories.

    python -m yardsticks.bench_detect [--quick] [--seed N] [--histories N]

Prints markdown tables (and the command and seed that produced them). See histories.py for
what "CV" means and scoring.py for what counts as found, false alarm and drift report.
"""

from __future__ import annotations

import argparse
import bisect
import sys
import time
from dataclasses import replace
from typing import Callable

from benchmark.analysis.changepoints import DetectOptions, Figures, detect, prepare
from benchmark.analysis.online import newest
from yardsticks import anchors
from yardsticks.histories import STEP_SIZES, History, HistoryOptions, generate
from yardsticks.scoring import OfflineTally, OnlineTally

Detector = Callable[[History], list[int]]


def _ours_full(h: History) -> list[int]:
    return [c.index for c in detect(h.values, h.reps, h.valid, p99=h.p99)]


def _ours_values(h: History) -> list[int]:
    return [c.index for c in detect(h.values)]


def oracle(h: History, search: int = 10) -> list[int]:
    """Not a detector: the location ceiling. Told every step (and drift) of the history, it reports
    for each step the likeliest split within `search` commits of it, the levels taken between the
    true neighbouring events (at most DetectOptions.window commits each side) on the data ours sees
    (reps, validity, p99). No detector that reports the likeliest split can place steps better on
    average; where this row falls short of a target, the target is beyond the data."""
    o = DetectOptions()
    main = prepare(h.values, h.reps, h.valid, o.outlier_z)
    f = Figures(main, prepare(h.p99, None, h.valid, o.outlier_z))
    pos = main.index
    events = sorted([s.index for s in h.steps] + [e for d in h.drifts for e in (d.start, d.end)])
    out = []
    for st in h.steps:
        k = bisect.bisect_left(pos, st.index)  # the first usable commit at the new level
        lo = max([e for e in events if e < st.index], default=0)
        hi = min([e for e in events if e > st.index], default=len(h.values))
        a = max(bisect.bisect_left(pos, lo), k - o.window)
        b = min(bisect.bisect_left(pos, hi), k + o.window)
        ks = range(max(a + o.min_size, k - search), min(b - o.min_size, k + search) + 1)
        if ks:
            out.append(pos[max(ks, key=lambda j: f.score(a, j, b))])
    return out


def _anchor(a: anchors.Anchor) -> Detector:
    return lambda h: anchors.run(a, h.values)


def offline_conditions(length: int) -> list[tuple[str, HistoryOptions]]:
    base = HistoryOptions(length=length, steps=4)
    out = []
    for cv in (0.005, 0.01, 0.02, 0.05):
        for cv_of in ("rep", "scalar"):
            out.append((f"CV {cv:.1%} ({cv_of})", replace(base, cv=cv, cv_of=cv_of)))
    hard = replace(base, cv=0.01)
    out += [
        ("CV 1% + outliers 2 %", replace(hard, outliers=0.02)),
        ("CV 1% + bimodal 10 % (+3 %)", replace(hard, bimodal=0.10)),
        ("CV 1% + noisy runs 10 % (x3)", replace(hard, noisy_runs=0.10)),
        ("CV 1% + 1 drift of 5 %", replace(hard, steps=3, drifts=1)),
        ("CV 1% + invalid 5 %, failed 3 %", replace(hard, invalid=0.05, failed=0.03)),
        ("CV 2% + all of the above", replace(hard, cv=0.02, steps=3, outliers=0.02, bimodal=0.10,
                                              noisy_runs=0.10, drifts=1, invalid=0.05, failed=0.03)),
    ]
    return out


def _pct(x: float) -> str:
    return "-" if x != x else f"{100 * x:.0f} %"


def run_offline(detectors: list[tuple[str, Detector]], conditions, histories: int, seed: int) -> str:
    lines = ["| condition | detector | scalar CV | " + " | ".join(f"{s:.0%}" for s in STEP_SIZES)
             + " | FA / 100 commits | drift reports / drift |",
             "|---|---|---|" + "---|" * len(STEP_SIZES) + "---|---|"]
    errors: dict[tuple[str, str], OfflineTally] = {}
    for ci, (label, opts) in enumerate(conditions):
        hs = [generate(opts, seed * 100_000 + ci * 1000 + k) for k in range(histories)]
        cv = sum(h.scalar_cv for h in hs) / len(hs)
        for name, det in detectors:
            tally = OfflineTally()
            for h in hs:
                tally.add(h, det(h))
            errors[(label, name)] = tally
            drift = f"{tally.drift_reports / tally.drifts:.2f}" if tally.drifts else "-"
            lines.append(f"| {label} | {name} | {cv:.2%} | "
                         + " | ".join(_pct(tally.recall(s)) for s in STEP_SIZES)
                         + f" | {tally.false_alarms_per_100():.2f} | {drift} |")
    return "\n".join(lines), errors


def location_table(errors: dict, rows: list[tuple[str, str]]) -> str:
    keys = [-2, -1, 0, 1, 2]
    lines = ["| condition | detector | " + " | ".join(f"{k:+d}" if k else "0" for k in keys) + " | other within 5 | none within 5 |",
             "|---|---|" + "---|" * len(keys) + "---|---|"]
    for label, name in rows:
        t = errors.get((label, name))
        if t is None:
            continue
        n = sum(t.errors.values())
        other = sum(v for k, v in t.errors.items() if k is not None and k not in keys)
        lines.append(f"| {label} | {name} | " + " | ".join(_pct(t.errors[k] / n) for k in keys)
                     + f" | {_pct(other / n)} | {_pct(t.errors[None] / n)} |")
    return "\n".join(lines)


def _flag(s) -> bool:
    return s is not None and s.state in ("suspected", "confirmed")


def run_online(conditions, histories: int, null_histories: int, seed: int, use_reps: bool = True) -> str:
    lines = ["| condition | 3 %: within 1 | 3 %: within 3 | all sizes: within 1 | all sizes: within 3 "
             "| right commit | false alarms / commit (no step) | of which confirmed |", "|---|---|---|---|---|---|---|---|"]
    for ci, (label, opts) in enumerate(conditions):
        t = OnlineTally()
        for k in range(histories):
            h = generate(opts, seed * 100_000 + 50_000 + ci * 1000 + k)
            for st in h.steps:
                size = round(abs(st.magnitude), 4)
                t.steps[size] += 1
                first = None
                for e in range(st.index, min(st.index + 4, len(h.values))):
                    r = newest(h.values[:e + 1], h.reps[:e + 1] if use_reps else None, h.valid[:e + 1] if use_reps else None)
                    if _flag(r):
                        first = (e, r)
                        break
                if first is not None:
                    e, r = first
                    t.flagged += 1
                    t.right += r.index == st.index
                    if e <= st.index + 1:
                        t.within1[size] += 1
                    t.within3[size] += 1
        null = replace(opts, steps=0, drifts=0)
        for k in range(null_histories):
            h = generate(null, seed * 100_000 + 70_000 + ci * 1000 + k)
            for e in range(40, len(h.values)):
                r = newest(h.values[:e + 1], h.reps[:e + 1] if use_reps else None, h.valid[:e + 1] if use_reps else None)
                t.calls += 1
                t.false_alarms += _flag(r)
                t.false_confirmed += r is not None and r.state == "confirmed"
        right = t.right / t.flagged if t.flagged else float("nan")
        fa = t.false_alarms / t.calls if t.calls else float("nan")
        lines.append(f"| {label} | {_pct(t.rate(t.within1, 0.03))} | {_pct(t.rate(t.within3, 0.03))} | "
                     f"{_pct(t.rate(t.within1))} | {_pct(t.rate(t.within3))} | {_pct(right)} | {100 * fa:.2f} % | {100 * t.false_confirmed / max(1, t.calls):.2f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yardsticks.bench_detect", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few, short histories (a smoke run)")
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--histories", type=int, default=None, help="histories per condition (default 100, quick 8)")
    args = p.parse_args(argv)
    n = args.histories if args.histories is not None else (8 if args.quick else 100)
    if n < 1:
        print("bench_detect: --histories must be >= 1", file=sys.stderr)
        return 2
    length = 200 if args.quick else 300
    started = time.perf_counter()
    print(f"command: python -m yardsticks.bench_detect {' '.join(argv if argv is not None else sys.argv[1:])}".rstrip())
    print(f"seed: {args.seed}; {n} histories per condition, {length} commits each, 4 steps of "
          f"{', '.join(f'{s:.0%}' for s in STEP_SIZES)} (random size and sign), 5 repetitions per commit\n")
    have, missing = anchors.available()
    for line in missing:
        print(f"- {line}")
    detectors = [("ours: reps + p99 + validity", _ours_full), ("ours: values only", _ours_values)]
    detectors += [(a.name, _anchor(a)) for a in have]
    detectors.append(("oracle: told the steps, likeliest split", oracle))
    conds = offline_conditions(length)
    print("\n## Offline: share of steps found within +-1 commit, by step size\n")
    table, errors = run_offline(detectors, conds, n, args.seed)
    print(table)
    print("\n## Offline: location error of the nearest report (report - true)\n")
    rows = [(c, d) for c in ("CV 1.0% (rep)", "CV 2.0% (rep)", "CV 2.0% (scalar)") for d, _ in detectors]
    print(location_table(errors, rows))
    online_conds = [(label, o) for label, o in conds if label.startswith("CV ") and "+" not in label]
    online_conds += [(label, o) for label, o in conds if "outliers" in label or "bimodal" in label]
    print("\n## Newest-commit mode (ours, with reps and validity)\n")
    print(f"{max(1, n // 2)} histories per condition for the steps, {max(1, n // 5)} step-free ones "
          "(every commit from the 41st on is a call) for the false alarms.\n")
    print(run_online(online_conds, max(1, n // 2), max(1, n // 5), args.seed))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
