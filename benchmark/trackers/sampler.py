"""Device sampler: a thread in the runner (not in the benchmarked process) that reads the
scenario's CPU % and RSS (psutil) and the GPU (NVML) at a fixed interval.

CPU % and RSS are summed over the worker's process tree, so inductor's compile workers
count during the compile phase (RSS counts pages shared between them once per process).
A process new to the tree is primed and counts from the next sample on: read in the same
sample, its rate was one clock tick of CPU time (10 ms) over the fraction of a millisecond
since priming, tens of cores (#19: 1,863 % on 2 cores during a compile). The sum is capped at
every core busy, since each process's CPU time is whole ticks and a tree of many processes can
read up to a tick per process above its true rate.
Beside them, what else loads the machine, for the validity rules: other processes' CPU
(system-wide busy time minus the tree's, in the same percent-of-one-core unit) and the
other compute processes on the GPU.
Finding the tree scans every process on the machine (~3 ms), so it is refreshed every
TREE_REFRESH_S rather than at every sample; reading the known processes costs ~0.1 ms each.

Samples are scheduled on absolute deadlines (start + k * interval), so the achieved rate
does not drift with the cost of a read; a slot missed entirely is skipped, not queued.
They are kept in memory and written in one batch after the scenario, never during it.

A context manager: `with Sampler(interval) as s:` around the worker's run, `s.start(pid, name)`
once the worker has announced its pid; leaving the block (a raise included) stops the thread.
"""

from __future__ import annotations

import os
import threading
import time

import psutil

from ..contracts.result import DeviceSample
from ..contracts.stats import Stats
from .nvml import NvmlReader

LATE = 0.10  # an interval more than 10 % over the target counts as late
FIFO_PRIORITY = 10
BOOST_NICE = -10
TREE_REFRESH_S = 0.5


class Sampler:
    def __init__(self, interval_s: float, gpu: NvmlReader | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval must be positive")
        self.interval_s = interval_s
        self.gpu = gpu
        self.samples: list[DeviceSample] = []
        self.missed = 0
        self._cores = psutil.cpu_count() or 1  # system-wide CPU % is of all cores; ours of one
        self.priority = "normal"  # what _boost achieved: "fifo", "nice -10" or "normal"
        self._phase: str | None = "startup"  # interpreter start and imports, before the first phase
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def set_phase(self, phase: str | None) -> None:
        self._phase = phase  # a plain attribute write: atomic under the GIL

    def start(self, pid: int, scenario: str) -> None:
        self._scenario = scenario
        try:
            self._root = psutil.Process(pid)
            self._root.cpu_percent(None)  # primes the counter: the first reading is relative to this
            psutil.cpu_percent(None)  # the system-wide one too (only the sampler calls it in the runner)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return  # the worker is already gone: nothing to sample
        self._tree: dict[int, psutil.Process] = {pid: self._root}
        self._tree_at = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="commitbench-sampler", daemon=True)
        self._thread.start()

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """The thread ends (if it started) before the block is left: `samples` is final."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _boost(self) -> None:
        """Raise this thread's priority where allowed, so a benchmark that keeps every core
        busy does not delay its wake-ups: under CFS they came up to ~4 ms late on 2 busy
        cores, under SCHED_FIFO they do not. The thread sleeps between reads, so a real-time
        priority costs the benchmark only the reads themselves (~0.2 ms each). On Linux both
        calls apply to the calling thread, not the whole runner."""
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(FIFO_PRIORITY))
            self.priority = "fifo"
            return
        except (PermissionError, AttributeError):
            pass
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BOOST_NICE)
            self.priority = f"nice {BOOST_NICE}"
        except PermissionError:
            self.priority = "normal"

    def _loop(self) -> None:
        self._boost()
        start = time.monotonic()
        k = 1
        while True:
            deadline = start + k * self.interval_s
            if self._stop.wait(max(0.0, deadline - time.monotonic())):
                return
            if not self._read():
                return  # the worker has exited
            k += 1
            behind = int((time.monotonic() - start) / self.interval_s) + 1
            if behind > k:  # a read took longer than a whole interval: skip the lost slots
                self.missed += behind - k
                k = behind

    def _refresh_tree(self) -> set[int]:
        """Add the worker's new descendants, primed, and drop the ones that are gone; returns
        the new pids, whose CPU counts from the next sample. A Process equals another only with
        the same pid and start time, so a reused pid is a new process."""
        try:
            current = {p.pid: p for p in self._root.children(recursive=True)}
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return set()
        current[self._root.pid] = self._root
        new = set()
        for pid, proc in current.items():
            if self._tree.get(pid) != proc:
                try:
                    proc.cpu_percent(None)
                except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    continue
                self._tree[pid] = proc
                new.add(pid)
        for pid in set(self._tree) - set(current):
            del self._tree[pid]
        self._tree_at = time.monotonic()
        return new

    def _read(self) -> bool:
        now = time.time()
        try:
            if self._root.status() == psutil.STATUS_ZOMBIE:
                return False  # exited, not yet reaped: Linux reports its RSS as 0
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return False
        new = self._refresh_tree() if time.monotonic() - self._tree_at >= TREE_REFRESH_S else set()
        cpu = rss = 0.0
        for pid, proc in list(self._tree.items()):
            try:
                with proc.oneshot():
                    if pid not in new:  # just primed: no interval to make a rate of yet
                        cpu += proc.cpu_percent(None)
                    mem = proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue  # a compile worker that has just exited
            if mem == 0 and proc is self._root:
                return False  # exited since the status check above: a zombie's RSS reads 0
            rss += mem / 2**20
        cpu = min(cpu, 100.0 * self._cores)  # whole ticks per process: see the module's docstring
        system = psutil.cpu_percent(None) * self._cores  # in percent of one core, as `cpu`
        gpu = self.gpu.read(set(self._tree)) if self.gpu is not None else {}
        self.samples.append(DeviceSample(time=now, scenario=self._scenario, phase=self._phase,
                                         cpu_util=cpu, mem_megabytes=rss, cpu_other_util=max(0.0, system - cpu),
                                         **gpu))
        return True

    def stats(self) -> dict[str, float | int | None]:
        """How well the interval was honoured: the evidence that the rate is real."""
        times = [s.time for s in self.samples]
        gaps = [b - a for a, b in zip(times, times[1:])]
        out: dict[str, float | int | None] = {
            "interval_s": self.interval_s, "n": len(times), "missed_slots": self.missed, "priority": self.priority}
        if gaps:
            st = Stats.of(gaps)
            out.update(achieved_hz=1.0 / st.mean, interval_p50_s=st.median, interval_p99_s=st.p99,
                       late_fraction=sum(g > self.interval_s * (1 + LATE) for g in gaps) / len(gaps))
        return out
