"""The ONNX Runtime backend (kind `onnxruntime`): export once, then prefill and step.

Optimum's ORT causal-LM class would do this, but the newest optimum-onnx (0.1.0) does not
import with transformers 5 (`get_parameter_dtype` is gone from transformers.modeling_utils),
so the model is exported here with torch's own exporter (`torch.onnx.export(dynamo=True)`,
which needs onnxscript) the way Optimum exports it: ids, positions and the past keys/values
in, logits and the present keys/values out. It runs in ONNX Runtime's CPU execution provider
on a CPU and its CUDA provider (onnxruntime-gpu) on a GPU. There is no static cache (the past
grows by concatenation), no torch.compile and no CUDA-graph marks: the measured loop is the
shared one (decode.timed_generate) with this module's prefill and step.

Tensors stay torch tensors on the device. On a GPU they are bound to the session by pointer
(IOBinding), so nothing crosses to the host between steps, and ONNX Runtime runs on torch's
current stream, so the one timer's CUDA events bracket its kernels. On a CPU plain `run` is
used: binding measured ~5% slower there (tiny-llama), which is why Optimum binds on CUDA only.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import torch

from ..contracts.profile import OUTSIDE, ProfileSummary
from .profile import StepCosts, gzip_trace
from .unsupported import Unsupported

EXPORT_VERSION = 1  # bump when the exported graph's inputs or outputs change: old exports are not reused
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class _Exportable(torch.nn.Module):
    """The model as a pure function of tensors: (ids, positions, past...) -> (logits, present...)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, position_ids, *past):
        from transformers import DynamicCache

        cache = DynamicCache()
        for layer in range(len(past) // 2):
            cache.update(past[2 * layer], past[2 * layer + 1], layer)
        out = self.model(input_ids=input_ids, position_ids=position_ids, past_key_values=cache, use_cache=True)
        present = [t for layer in out.past_key_values.layers for t in (layer.keys, layer.values)]
        return (out.logits, *present)


def _kv_shape(config) -> tuple[int, int]:
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return config.num_key_value_heads, head_dim


def export_path(model_path: str, dtype: str, attn_implementation: str) -> Path:
    """Where the export of this checkpoint lives: keyed by the checkpoint's files, the dtype,
    the attention implementation and the exporting libraries' versions."""
    from ..models import cache_root

    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in Path(model_path).iterdir() if f.is_file())
    key = json.dumps([str(Path(model_path).resolve()), files, dtype, attn_implementation, EXPORT_VERSION,
                      torch.__version__, version("onnxscript"), version("onnx")])
    return cache_root() / "onnx" / hashlib.sha256(key.encode()).hexdigest()[:16] / "model.onnx"


def export(model, path: Path) -> Path:
    """Export `model` to `path`, writing into a temporary directory that is renamed, so a crash
    never leaves a half-written export that later runs would trust."""
    from torch.export import Dim

    layers = model.config.num_hidden_layers
    heads, head_dim = _kv_shape(model.config)
    ids = torch.zeros((1, 2), dtype=torch.long, device=model.device)
    positions = torch.arange(2, device=model.device).unsqueeze(0)
    # a non-empty past to trace with: a length-0 or length-1 one would be specialized away
    past = tuple(torch.zeros((1, heads, 3, head_dim), dtype=model.dtype, device=model.device)
                 for _ in range(2 * layers))
    batch, seq, cached = Dim("batch"), Dim("seq"), Dim("cached")
    names = [f"past.{i // 2}.{'key' if i % 2 == 0 else 'value'}" for i in range(2 * layers)]
    tmp = path.parent.with_name(path.parent.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    with torch.inference_mode(False), torch.no_grad():
        program = torch.onnx.export(
            _Exportable(model), (ids, positions, *past), dynamo=True, verbose=False,
            input_names=["input_ids", "position_ids", *names],
            output_names=["logits", *[n.replace("past", "present") for n in names]],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "position_ids": {1: seq},
                            "past": tuple({0: batch, 2: cached} for _ in names)})
    program.save(str(tmp / path.name), external_data=True)
    try:
        tmp.replace(path.parent)
    except OSError:  # another run exported the same model meanwhile: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not path.is_file():
            raise
    return path


def provider(device: torch.device) -> str:
    """The execution provider for `device`, if this onnxruntime build has it (onnxruntime-gpu
    has the CUDA one; the plain onnxruntime wheel does not): checked before anything is loaded."""
    import onnxruntime

    name = PROVIDERS[device.type]
    if name not in onnxruntime.get_available_providers():
        raise Unsupported(f"kind onnxruntime on {device} needs ONNX Runtime's {name} (pip install onnxruntime-gpu); "
                          f"onnxruntime {onnxruntime.__version__} here has {', '.join(onnxruntime.get_available_providers())}")
    return name


@dataclass
class Past:
    """The KV cache ONNX Runtime sees: the past keys and values, grown by each call.
    `reset` empties it (decode.reset_cache calls it between repetitions)."""

    empty: list[torch.Tensor]
    tensors: list[torch.Tensor]

    def reset(self) -> None:
        self.tensors = list(self.empty)


class Session:
    """An ONNX Runtime inference session of an exported model, on `device`'s provider."""

    def __init__(self, path: Path, config, threads: int, device: torch.device, bind: bool | None = None,
                 profile_prefix: Path | None = None) -> None:
        import onnxruntime
        from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as NoKernel

        self.provider, self.device, self.config = provider(device), device, config
        self.bind = device.type != "cpu" if bind is None else bind
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # what torch uses here, so the two compare on the same cores
        if profile_prefix is not None:  # ONNX Runtime's profiler: from the session's creation to end_profiling
            options.enable_profiling = True
            options.profile_file_prefix = str(profile_prefix)
        settings = {}
        if device.type == "cuda":
            settings = {"device_id": device.index or 0,
                        "user_compute_stream": str(torch.cuda.current_stream(device).cuda_stream)}
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=[(self.provider, settings)])
        except NoKernel as e:  # e.g. bfloat16 on the CPU provider: a Mul with no bfloat16 kernel
            raise Unsupported(f"ONNX Runtime's {self.provider} cannot run this export: "
                              f"{str(e).splitlines()[0]}") from None
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]
        # the exported past's element type: the dtype the model was exported in
        self.dtype = _TORCH[self.session.get_inputs()[2].type]
        self.logits_dtype = _TORCH[self.session.get_outputs()[0].type]
        self.binding = self.session.io_binding() if self.bind else None

    def new_past(self, batch_size: int) -> Past:
        heads, head_dim = _kv_shape(self.config)
        empty = [torch.empty((batch_size, heads, 0, head_dim), dtype=self.dtype, device=self.device)
                 for _ in self.inputs[2:]]
        return Past(empty=empty, tensors=list(empty))

    def logits(self, input_ids: torch.Tensor, position_ids: torch.Tensor, past: Past) -> torch.Tensor:
        inputs = [input_ids, position_ids, *past.tensors]
        if not self.bind:
            outputs = self.session.run(None, {n: t.numpy() for n, t in zip(self.inputs, inputs)})
            past.tensors = [torch.from_numpy(o) for o in outputs[1:]]
            return torch.from_numpy(outputs[0])
        batch, seq = input_ids.shape
        length = past.tensors[0].shape[2] + seq
        logits = torch.empty((batch, seq, self.config.vocab_size), dtype=self.logits_dtype, device=self.device)
        present = [torch.empty((*t.shape[:2], length, t.shape[3]), dtype=t.dtype, device=self.device)
                   for t in past.tensors]
        for name, tensor in zip(self.inputs, inputs):
            self.binding.bind_input(name, *self._where(tensor))
        for name, tensor in zip(self.outputs, [logits, *present]):
            self.binding.bind_output(name, *self._where(tensor))
        self.session.run_with_iobinding(self.binding)
        past.tensors = present
        return logits

    def _where(self, t: torch.Tensor) -> tuple:
        """IOBinding's description of a tensor: device, element type, shape, pointer."""
        assert t.is_contiguous(), "IOBinding reads a tensor's memory as one dense block"
        return self.device.type, self.device.index or 0, _ONNX[t.dtype], list(t.shape), t.data_ptr()


class ProfiledSession:
    """The recorder (worker/profile.record) of the onnxruntime scenario: a second session of the
    same export, made with ONNX Runtime's own profiler on (the measured one never profiles; the
    profiler can only be switched on when a session is made), and the timer of the decode
    repetition run on it: `run_once(self)` decodes once on `self.session`. torch.profiler would
    see each session call as one opaque op; ONNX Runtime's profiler times every node. As with
    the torch profiles, the prefill (the fresh session's first run) is left out."""

    def __init__(self, path: Path, config, threads: int, device: torch.device, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.session = Session(path, config, threads, device, profile_prefix=directory / "onnxruntime")
        self.cuda = device.type == "cuda"
        self.marks: list[float] = []  # perf_counter seconds: the start, the prefill's end, each step's end
        self.file: Path | None = None

    def start(self) -> None:
        self.marks = []
        self.mark()

    def mark(self) -> None:
        if self.cuda:  # a step's wall time needs its kernels done (never a measured step)
            torch.cuda.synchronize()
        self.marks.append(time.perf_counter())

    def stop(self) -> list[float]:
        return []

    def profile(self, run_once) -> None:
        run_once(self)
        self.file = Path(self.session.session.end_profiling())

    def summary(self, params, device: str) -> ProfileSummary:
        return ort_summary(json.loads(self.file.read_text()), self.marks, params.batch_size, device)

    def write_trace(self, directory: Path) -> Path:
        return gzip_trace(self.file, directory)  # ONNX Runtime writes a Chrome trace itself


ORT_NOTE = ("ONNX Runtime's own profiler (SessionOptions.enable_profiling): one row per ONNX op type over its "
            "nodes (ort::MatMul: every MatMul node), from the nodes' kernel times; each node in the trace. "
            "[outside operators] is the decode step's wall time outside every node (Python, torch, ONNX Runtime's "
            "executor)")
CUDA_NOTE = "; on CUDA a node's time is its host-side time (kernel launches), and no GPU kernel is listed"


def ort_summary(events: list[dict], marks: list[float], batch_size: int, device: str) -> ProfileSummary:
    """ONNX Runtime's profile (its Chrome-trace events) of one decode repetition whose timer
    marks were `marks` -> a ProfileSummary. Each session call is a "model_run" event, with its
    nodes' "Node" events inside it: the repetition's calls are the last len(marks) - 1 runs
    (the prefill, then one per decode step), and the prefill's is left out."""
    walls = [(b - a) * 1e6 for a, b in zip(marks[1:], marks[2:])]  # each decode step, us
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])[-len(walls):]
    if len(runs) != len(walls) or not walls:
        raise RuntimeError(f"ONNX Runtime's profile holds {len(runs)} session runs for {len(walls)} decode steps")
    starts = [r["ts"] for r in runs]
    costs = StepCosts(len(runs))
    inside = [0.0] * len(runs)
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue  # "_fence_before"/"_fence_after" are the profiler's own
        i = bisect.bisect_right(starts, e["ts"]) - 1
        if i < 0 or e["ts"] > runs[i]["ts"] + runs[i]["dur"]:
            continue  # the prefill's
        name = f"ort::{e.get('args', {}).get('op_name', e['name'])}"
        costs.add(name, i, float(e["dur"]), float(e["dur"]))
        inside[i] += e["dur"]
    for i, wall in enumerate(walls):
        costs.add(OUTSIDE, i, max(0.0, wall - inside[i]), max(0.0, wall - inside[i]), calls=0)
    return ProfileSummary(tokens=len(walls), batch_size=batch_size, device=device,
                          wall_us_per_token=statistics.median(walls), operators=costs.operators(),
                          note=ORT_NOTE + (CUDA_NOTE if device == "cuda" else ""))


_TORCH = {"tensor(float)": torch.float32, "tensor(float16)": torch.float16, "tensor(bfloat16)": torch.bfloat16,
          "tensor(double)": torch.float64}
_ONNX = {torch.float32: 1, torch.int64: 7, torch.float16: 10, torch.float64: 11, torch.bfloat16: 16}  # TensorProto


def _next_token(logits: torch.Tensor) -> torch.Tensor:
    return logits[:, -1].argmax(dim=-1)[:, None]


def prefill(session: Session, input_ids: torch.Tensor, past: Past) -> torch.Tensor:
    positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
    return _next_token(session.logits(input_ids, positions, past))


def step(session: Session, token: torch.Tensor, position: torch.Tensor, past: Past) -> torch.Tensor:
    return _next_token(session.logits(token, position, past))


def teacher_forced_logits(session: Session, sequence: torch.Tensor) -> torch.Tensor:
    """Logits of every position of `sequence`, from an empty past (top-1 agreement)."""
    positions = torch.arange(sequence.shape[1], device=sequence.device).unsqueeze(0)
    return session.logits(sequence, positions, session.new_past(sequence.shape[0]))
