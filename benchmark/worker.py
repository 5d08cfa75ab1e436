"""Entry point of a scenario subprocess: `python -m benchmark.worker SPEC.json OUT.json`.

One job per process, so a segfault, a hang or an out-of-memory kills only this job.
Exceptions are not caught: the traceback goes to stderr and the non-zero exit code tells
the runner the scenario failed, with the last stderr lines as its reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .config import ScenarioParams
from .events import Reporter


def _scenario(kind: str):
    from .scenarios import compiled_decode, compiled_generate, eager, load, selftest

    return {
        "load": load.run,
        "eager": eager.run,
        "compiled_decode": compiled_decode.run,
        "compiled_generate": compiled_generate.run,
        "selftest_crash": selftest.crash,
        "selftest_hang": selftest.hang,
        "selftest_error": selftest.error,
    }[kind]


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1])
    events = Reporter.from_env()
    if spec["job"] == "prepare":
        from .models import build_synthetic, download

        events.phase("prepare")
        if "hub_id" in spec:
            path = download(spec["hub_id"])
        else:
            path = build_synthetic(spec["preset"], spec["dtype"], spec["seed"], spec["device"], Path(spec["path"]))
        out.write_text(json.dumps({"path": str(path)}))
        return 0

    import torch

    from .context import Context

    torch.manual_seed(spec["seed"])
    params = ScenarioParams(**spec["params"])
    device = torch.device(spec["device"])
    if device.type == "cuda":
        torch.cuda.set_device(device)
    ctx = Context(params=params, model_path=spec["model_path"], device=device, dtype=spec["dtype"],
                  seed=spec["seed"], events=events)
    _scenario(params.kind)(ctx)
    ctx.record_memory()
    ctx.info["torch_threads"] = torch.get_num_threads()
    ctx.info["torch_cuda"] = torch.version.cuda
    result = {"metrics": [m.__dict__ | {"stats": m.stats.__dict__} for m in ctx.metrics],
              "info": ctx.info, "flags": ctx.flags}
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
