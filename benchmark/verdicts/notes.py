"""Lines compare's report adds about its evidence rather than its figures: the invalid runs
it left out (and why), and what differs between base and head besides the code (config,
torch, transformers, CUDA, driver, commitbench), so a step an upgrade caused is read as such."""

from __future__ import annotations

from ..analysis.provenance import between_sides, facts
from .compare_runs import Report


def notes(report: Report) -> list[str]:
    sides = (("base", report.base), ("head", report.head))
    out = [f"left out {side} run {x.label} ({(x.commit_id or '')[:8]}): invalid: "
           f"{'; '.join(x.reasons) or 'no reason stored'}" for side, ref in sides for x in ref.left_out]
    changed = between_sides([facts(h, e) for h, e in report.base.provenance],
                            [facts(h, e) for h, e in report.head.provenance])
    if changed:
        out.append("base and head differ besides the code: " + "; ".join(c.text() for c in changed)
                   + " (a change may come from that)")
    return out
