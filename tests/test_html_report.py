"""`commitbench report`: the self-contained HTML report, built from real databases (SQLite
and PostgreSQL) filled through the real store, written by the CLI (in process; a real run in
the slow tier), and opened in a real headless Chromium (the slow tier): no console errors, and
every plot draws something."""

from __future__ import annotations

import ast
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from benchmark.contracts.result import CANCELLED, FAILED, Metric
from helpers import IDENT, REPO, cli_in_process, run_cli
from results import T0, make_result
from test_report_stats import every_end_state  # noqa: F401 (a fixture: a stored history with reports in every end state)

HOUR = 3600.0
DECODE = "compiled_decode[compile_mode=default]"
CRASHED = "compiled_generate[compile_mode=reduce-overhead]"
HOSTILE = "<script>alert('x')</script> & \x1b[31m"
COMMITS = (("c1c1c1c1d1", 1, 0.010), ("c2c2c2c2d2", 2, 0.020), ("c3c3c3c3d3", 3, 0.040))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def fill(store) -> dict[str, object]:
    """Three commits of main, oldest first; time to next token doubles each time. The
    middle run failed outright in the compiled_decode scenario (no figures); every run has
    the crashed compiled_generate scenario, with hostile text in its reason and stderr."""
    results = {}
    for i, (commit, hours, ttnt) in enumerate(COMMITS):
        r = make_result(f"{i + 1}{i + 1}{i + 1}{i + 1}aaaa-run")
        r.branch, r.commit_id, r.commit_time = "main", commit, T0 + hours * HOUR
        r.commit_message = f"commit {i + 1}: {HOSTILE}\nbody"
        r.started_at, r.finished_at = T0 + hours * HOUR + 60, T0 + hours * HOUR + 72
        for s in r.scenarios:
            for d in s.samples:
                d.time += hours * HOUR + 60
            for p in s.phases:
                p.start += hours * HOUR + 60
                p.end = p.end + hours * HOUR + 60 if p.end is not None else None
            s.started_at = s.started_at + hours * HOUR + 60 if s.started_at else None
            s.finished_at = s.finished_at + hours * HOUR + 60 if s.finished_at else None
        decode, crashed = r.scenarios[1], r.scenarios[2]
        decode.metrics[1] = Metric.of("time_to_next_token_mean_secs", [ttnt, ttnt * 1.1, ttnt * 0.9])
        crashed.error = f"worker died of SIGSEGV {HOSTILE}"
        crashed.stderr_tail = f"Fatal Python error: Segmentation fault\n{HOSTILE}"
        if i == 1:
            decode.status, decode.error, decode.metrics, decode.exit_code = FAILED, "timed out after 3 s", [], None
            r.status = FAILED
        store.ingest(r)
        results[commit] = r
    other = make_result("99999999-run")  # another branch: not in main's report
    other.branch, other.commit_id, other.commit_time = "pr-7", "ffffffff", T0 + 0.5 * HOUR
    store.ingest(other)
    return results


@pytest.fixture
def filled(store):
    return fill(store)


@pytest.fixture
def sqlite_store(sqlite_url):
    from db.store import Store

    store = Store(sqlite_url)
    store.open(auto_upgrade=True)
    fill(store)
    yield store
    store.close()


def build(store, **kw) -> str:
    from dashboards.html_report import build as build_report

    with store.reading() as session:
        return build_report(session, now=T0 + 10 * HOUR, **kw)


def test_report_shows_the_stored_figures(store, filled):
    page = build(store)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for commit, _, _ in COMMITS:
        assert f">{commit[:8]}<" in page  # short shas on the x axes and in the tables
    assert "ffffffff" not in page  # the report is of the latest run's branch
    # the latest run (c3) against the previous one (c2): time to next token 20 -> 40 ms is
    # missing from c2 (it failed); the eager figures are equal
    assert "commitbench <span class=\"branch\">main</span>" in page
    assert "40.000 ms" in page and "10.000 ms" in page  # hover text of the history plots
    assert "median 102.5 tok/s" in page  # eager_generate_tokens_per_sec, as the terminal shows it
    # compare: the latest commit (c3) against the previous one (c2), as `commitbench compare`
    # judges them: verdict classes, never a bare change of the median coloured at 2 %
    compare = page[page.index('id="compare"'):page.index('id="history"')]
    assert "head c3c3c3c3 vs base c2c2c2c2" in compare
    assert "commitbench compare --base c2c2c2c2d2 --head c3c3c3c3d3" in compare
    row = re.search(r"<code>eager_generate_tokens_per_sec</code>.*?</tr>", compare).group(0)
    assert row.count("102.5 tok/s") == 2 and "+0.0 %" in row and '"verdict chg same"' in row and ">noisy<" in row
    assert f"{DECODE}: failed on base: nothing to compare" in compare  # c2's decode failed
    assert "worse" not in compare and "2 %" not in compare.replace("2 % (", "")
    # a failed scenario is a red band with its reason, never a silent gap
    history = page[page.index('id="history"'):page.index('id="timeline"')]
    assert f"{DECODE} failed in run 2222aaaa: timed out after 3 s" in history
    assert history.count('fill="#fecaca"') == 2  # c2's band, on both plots of the decode scenario
    # failures: reasons, signal, stderr tail, all escaped
    failures = page[page.index('id="failures"'):]
    assert failures.count(f"<b>{CRASHED}</b>") == 1  # one entry for the same failure at three commits
    assert " in 3 runs · signal SIGSEGV, exit code -11" in failures
    assert "timed out after 3 s" in failures
    assert "Fatal Python error: Segmentation fault" in failures
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; \\x1b[31m" in failures
    assert "<script" not in page and "\x1b" not in page
    # the device timeline of the latest run: its scenarios and phases, labelled
    timeline = page[page.index('id="timeline"'):page.index('id="failures"')]
    assert "eager · generate: 2.00–3.00 s (1.00 s)" in timeline and "mean CPU 52 %" in timeline
    assert ">CPU<" in timeline and ">RSS<" in timeline and "GPU" not in timeline  # NULL on CPU


def test_report_of_another_branch_and_limit(store, filled):
    page = build(store, branch="pr-7")
    assert "ffffffff" in page and "c3c3c3c3" not in page
    assert "no earlier commit of pr-7 with a finished valid run to compare with yet." in page
    page = build(store, branch="main", limit=1)
    assert "c3c3c3c3" in page and ">c1c1c1c1<" not in page
    assert "head c3c3c3c3 vs base c2c2c2c2" in page  # the previous commit is compared even when not plotted


def test_a_cancelled_run_is_marked_at_its_commit(sqlite_store):
    """Cancelled mid-run: the scenario in flight is marked cancelled, and a scenario the run
    planned but never reached shows as such, with the run's reason, not as a gap; one it did
    not plan (its resolved config says which) is not marked."""
    r = make_result("4444aaaa-run", status=CANCELLED)
    r.branch, r.commit_id, r.commit_time, r.error = "main", "c4c4c4c4d4", T0 + 4 * HOUR, "cancelled by SIGTERM"
    r.config = {"device": "cpu", "scenarios": [{"kind": "eager", "new_tokens": 20},
                                               {"kind": "compiled_decode", "compile_mode": "default"}]}
    r.scenarios[0].status, r.scenarios[0].error, r.scenarios[0].metrics = CANCELLED, "cancelled by SIGTERM", []
    del r.scenarios[1:]
    sqlite_store.ingest(r)
    page = build(sqlite_store)
    assert '<span class="badge bad">cancelled</span>' in page[:page.index('id="compare"')]
    history = page[page.index('id="history"'):page.index('id="timeline"')]
    assert "eager cancelled in run 4444aaaa: cancelled by SIGTERM" in history
    assert f"run 4444aaaa cancelled before {DECODE} ran: cancelled by SIGTERM" in history
    assert f"before {CRASHED} ran" not in history  # not in that run's matrix
    assert ">c4c4c4c4<" in history
    compare = page[page.index('id="compare"'):page.index('id="history"')]
    assert "head c4c4c4c4 vs base c3c3c3c3" in compare and "worse" not in compare
    assert "<li><code>eager</code>: absent in head" in compare  # c3 had it, c4 cancelled it: missing


PHASES = [(s, p) for s in ("eager", DECODE, "load") for p in ("forward", "generate", "decode", "prefill")][:11]


def busy(phases=PHASES) -> list[dict]:
    """What a shared machine stores: cpu_load broken in every measured phase (here 11)."""
    return [{"rule": "cpu_load", "detail": f"other processes used {1.5 + i / 100:.2f} of 2 cores (median of 40 "
             "samples), above 0.5 of the machine <x>", "scenario": s, "phase": p} for i, (s, p) in enumerate(phases)]


def test_an_invalid_latest_run_says_why_in_the_header(sqlite_store):
    """Once per run, not once per phase: the rule, its worst value and where, how many phases,
    and what to do, in one line (it was eleven lines, one per phase)."""
    r = make_result("5555aaaa-run")
    r.branch, r.commit_id, r.commit_time = "main", "c5c5c5c5d5", T0 + 5 * HOUR
    r.valid, r.invalid_reasons = False, busy()
    sqlite_store.ingest(r)
    header = build(sqlite_store).split('id="compare"')[0]
    alerts = re.findall(r'<p class="alert invalid">(.*?)</p>', header)
    assert len(alerts) == 1 and alerts[0].count("cpu_load") == 1 and alerts[0].count("other processes") == 1
    assert alerts[0].startswith("INVALID (left out of compare and detect): cpu_load in 11 phases (eager/forward, "
                                "eager/generate, eager/decode and 8 more), worst: other processes used 1.60 of 2 "
                                "cores (median of 40 samples), above 0.5 of the machine &lt;x&gt; (load/decode);")
    assert "quieter runner" in alerts[0] and "commitbench validate --rules FILE" in alerts[0]
    assert len(alerts[0]) < 450


def test_units_and_escaping():
    from dashboards.html_svg import esc, nice_ticks, scale_for
    from dashboards.html_text import fmt  # the report's formatting, wherever it is defined

    assert [fmt(0.0123, "s"), fmt(2.5, "s"), fmt(3 * 2**20, "bytes"), fmt(12.34, "tokens/s")] == \
        ["12.300 ms", "2.500 s", "3.0 MiB", "12.3 tok/s"]
    assert [fmt(0.125, "ratio"), fmt(0.0042, "J"), fmt(3.0, "count")] == ["12.5%", "4.200 mJ", "3"]
    assert scale_for("s", 0.0004).suffix == " µs" and scale_for("bytes", 3 * 2**30).suffix == " GiB"
    assert nice_ticks(37) == [0, 10, 20, 30, 40] and nice_ticks(0) == [0, 1]
    assert esc("<b>\"x\" & 'y'</b>\x1b\u202e") == "&lt;b&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/b&gt;\\x1b\\u202e"


def test_the_page_loads_nothing_from_anywhere(store, filled):
    page = build(store)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page)
    assert not re.search(r"\b(src|srcset)\s*=", page) and "url(" not in page and "@import" not in page
    # no address in any attribute but the SVG namespace (the repository's URL is shown as text)
    assert set(re.findall(r'([\w:-]+)\s*=\s*["\']?[a-z]+://', page)) == {"xmlns"}
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', page))


def test_cli_writes_the_report(cb, store, filled, db_url, tmp_path):
    out = tmp_path / "report.html"
    r = cli_in_process(["report", "--db", db_url, "-o", out], cb.env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote report: {out}\n" and r.stderr == ""
    page = out.read_text(encoding="utf-8")
    assert "c3c3c3c3" in page and "worker died of SIGSEGV" in page and "40.000 ms" in page
    r = cli_in_process(["report", "--db", db_url, "-o", "-", "--branch", "pr-7"], cb.env)
    assert r.returncode == 0 and r.stdout.startswith("<!DOCTYPE html>") and "ffffffff" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--limit", "0"], "--limit must be 1 or more, got 0"),
    (["--limit", "-3"], "--limit must be 1 or more, got -3"),
    (["--limit", "99999999999999999999"], "--limit must be at most 10000, got 99999999999999999999"),
    (["-o", "{tmp}/missing/report.html"], "--output {tmp}/missing/report.html: directory {tmp}/missing does not exist"),
    (["-o", "{tmp}"], "--output {tmp}: is a directory"),
    (["--branch", "nope"], "no runs stored for branch 'nope': nothing to report"),
    (["--branch", ""], "no runs stored for branch '': nothing to report"),
    (["--db", "sqlite://"], "in-memory SQLite database"),
])
def test_bad_input_writes_nothing(cb, sqlite_store, sqlite_url, tmp_path, args, message):
    out = tmp_path / "out"
    out.mkdir()
    args = [a.replace("{tmp}", str(out)) for a in args]
    r = cli_in_process(["report", "--db", sqlite_url, *(["-o", out / "r.html"] if "-o" not in args else []), *args], cb.env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("commitbench: error: ") and message.replace("{tmp}", str(out)) in r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stdout == ""
    assert list(out.iterdir()) == []


def test_nothing_stored(cb, tmp_path):
    r = cli_in_process(["report", "-o", tmp_path / "r.html"], cb.env)
    assert r.returncode == 2 and "no results stored yet" in r.stderr and r.stdout == ""
    assert not cb.home.exists() and not (tmp_path / "r.html").exists()  # reading never creates one
    from helpers import upgrade_db

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    upgrade_db(url)
    r = cli_in_process(["report", "--db", url, "-o", tmp_path / "r.html"], cb.env)
    assert r.returncode == 2 and r.stderr == "commitbench: error: no runs stored: nothing to report\n"
    assert not (tmp_path / "r.html").exists()


def test_after_run_never_fails_the_run(sqlite_store, sqlite_url, tmp_path, capsys):
    """What `commitbench run` calls: beside the SQLite file, named after it; a report that
    cannot be written (here it is a directory) is a warning line, not an exception."""
    from benchmark.cli.run import after_run

    report = tmp_path / "bench-report.html"  # sqlite_url is bench.sqlite
    after_run(sqlite_url, "main")
    assert capsys.readouterr().out == f"  report: {report} (open it in a browser)\n"
    assert "c3c3c3c3" in report.read_text()
    report.unlink()
    report.mkdir()
    after_run(sqlite_url, "main")
    out = capsys.readouterr().out
    assert out.startswith(f"  warning: could not write the report {report}: ") and len(out.splitlines()) == 1
    after_run("postgresql+psycopg2://nobody@127.0.0.1:1/x", "main")  # a server: no report, no connection
    assert capsys.readouterr().out == ""


def test_two_databases_in_one_folder_keep_their_own_report(tmp_path, capsys):
    """Each report is named after its database file: a.sqlite's never overwrites b.sqlite's."""
    from benchmark.cli.run import after_run
    from db.store import Store

    for name, branch in (("a", "main"), ("b", "pr-7")):
        store = Store(f"sqlite:///{tmp_path / name}.sqlite")
        store.open(auto_upgrade=True)
        fill(store)
        store.close()
        after_run(f"sqlite:///{tmp_path / name}.sqlite", branch)
    assert sorted(p.name for p in tmp_path.glob("*.html")) == ["a-report.html", "b-report.html"]
    assert "ffffffff" not in (tmp_path / "a-report.html").read_text()
    assert "ffffffff" in (tmp_path / "b-report.html").read_text()
    assert capsys.readouterr().out.count("  report: ") == 2


def test_report_without_o_writes_beside_the_database_never_the_cwd(cb, sqlite_store, sqlite_url, tmp_path):
    """No -o: beside the SQLite file named by --db (or the default database), and it says where;
    the working directory (usually a checkout) gets nothing."""
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    r = cli_in_process(["report", "--db", sqlite_url], cb.env, cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote report: {tmp_path / 'bench-report.html'}\n"
    assert "c3c3c3c3" in (tmp_path / "bench-report.html").read_text() and list(cwd.iterdir()) == []
    from db.store import Store

    cb.home.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{cb.home / 'commitbench.sqlite'}")  # the default database ($COMMITBENCH_HOME)
    store.open(auto_upgrade=True)
    fill(store)
    store.close()
    r = cli_in_process(["report"], cb.env, cwd=cwd)
    assert r.returncode == 0 and r.stdout == f"wrote report: {cb.home.resolve() / 'commitbench-report.html'}\n"
    assert list(cwd.iterdir()) == []


@pytest.mark.slow
def test_run_prints_where_the_report_is(cb):
    """The README's first command: `commitbench run` on the embedded SQLite default."""
    r = run_cli(["run", *IDENT, "--model", "micro-llama", "--scenarios", "load", "--repetitions", "1"], cb.env)
    assert r.returncode == 0, r.stderr
    report = cb.home / "commitbench-report.html"
    assert r.stdout.endswith(f"  report: {report} (open it in a browser)\n")
    page = report.read_text(encoding="utf-8")
    assert "model_load_time" in page and "abcd1234" in page and "test message" in page


def test_dashboards_import_no_runner_worker_or_torch():
    banned = ("benchmark.run", "benchmark.worker", "benchmark.trackers", "benchmark.cli", "benchmark.models",
              "torch", "transformers")
    for path in sorted((REPO / "dashboards").glob("html_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                assert not any(name == b or name.startswith(b + ".") for b in banned), f"{path.name} imports {name}"


# -- in a real browser ---------------------------------------------------------------------


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        pytest.fail("chromium is not installed: the HTML report is checked in a real headless browser "
                    "(tests/run.sh installs Debian's chromium package)", pytrace=False)
    return found


def browse(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
                          capture_output=True, text=True, errors="replace", timeout=120)


def png_pixels(path: Path) -> tuple[int, int, list[tuple[int, ...]]]:
    """A PNG (8-bit RGB or RGBA, not interlaced, as Chromium writes them) as RGB pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride if kind else 0):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    pixels = [tuple(row[x * channels:x * channels + 3]) for row in rows for x in range(width)]
    return width, height, pixels


def near(pixel: tuple[int, ...], colour: str, tolerance: int = 40) -> bool:
    target = bytes.fromhex(colour[1:])
    return all(abs(p - t) <= tolerance for p, t in zip(pixel, target))


def opened(tmp_path: Path, page: str) -> str:
    """The page opened in Chromium, which logged no console message at all (no script, nothing
    blocked by the CSP): the DOM it built."""
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    r = browse(tmp_path, path, "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert [line for line in r.stderr.splitlines() if ":CONSOLE" in line] == []
    return r.stdout


def shot_alone(tmp_path: Path, svg: str, name: str, taller: int = 0) -> tuple[int, int, int, int, list]:
    """One SVG alone on a white page, screenshot at its size (`taller`: that much more window):
    its width and height, then the PNG's width, height and pixels."""
    w, h = (int(v) for v in re.match(r'<svg [^>]*width="(\d+)" height="(\d+)"', svg).groups())
    alone = tmp_path / f"{name}.html"
    alone.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
                     f'<body style="margin:0;background:#fff">{svg}</body></html>', encoding="utf-8")
    shot = tmp_path / f"{name}.png"
    r = browse(tmp_path, alone, f"--screenshot={shot}", f"--window-size={w},{h + taller}")
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    return (w, h, *png_pixels(shot))


@pytest.mark.slow
def test_the_report_opens_in_chromium_and_every_plot_draws(sqlite_store, tmp_path):
    page = build(sqlite_store)

    # the whole page: no console message, and the DOM Chromium built has every plot
    dom = opened(tmp_path, page)
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) == 8  # eager 4 figures, decode 2, the crashed scenario's status strip, the timeline
    assert dom.count("<svg") == len(svgs) and 'id="failures"' in dom

    # each plot alone: rendered, it is not blank, and what it plots is drawn in its colour
    for i, svg in enumerate(svgs):
        w, h, width, height, pixels = shot_alone(tmp_path, svg, f"plot{i}")
        assert (width, height) == (w, h)
        inked = sum(1 for p in pixels if p != (255, 255, 255))
        label = re.search(r'aria-label="([^"]*)"', svg).group(1)
        assert len(set(pixels)) > 8 and inked > 0.01 * len(pixels), f"plot {label!r} looks blank"
        if "per commit" in label:  # a history plot: its line and dots
            dots = svg.count("<circle")  # one per run; the line joins consecutive commits
            assert dots and sum(1 for p in pixels if near(p, "#2563eb")) >= 8 * dots + 30 * svg.count("<polyline"), \
                f"no line drawn in {label!r}"
        elif label.startswith("runs of"):  # a scenario with no figures: its failures in red
            assert sum(1 for p in pixels if near(p, "#dc2626")) > 100, f"no failure drawn in {label!r}"
        else:  # the timeline: CPU and RSS lines over shaded phases
            assert label.startswith("device timeline")
            for colour in ("#2563eb", "#7c3aed"):  # CPU, RSS
                assert sum(1 for p in pixels if near(p, colour)) > 30, f"no {colour} line in the timeline"
            assert sum(1 for p in pixels if near(p, "#dbeafe", 4)) > 500  # the first phase's shade


# -- one story with `commitbench compare` (#19 items 14, 20) --------------------------------


def compare_json(cb, url: str, base: str, head: str) -> dict:
    import json

    r = cli_in_process(["compare", "--db", url, "--base", base, "--head", head, "--format", "json"], cb.env)
    assert r.returncode in (0, 8, 9), r.stderr
    return json.loads(r.stdout)


def shown_counts(compare: str) -> dict[str, int]:
    return {v.replace(" ", "_"): int(n) for n, v in re.findall(r'class="chg \w+ count">(\d+) ([a-z ]+)</span>', compare)}


def test_the_report_compares_commits_as_compare_does(cb, sqlite_store, sqlite_url):
    """A second run of the latest commit is a replicate, not "the previous one": the report
    judges the latest commit against the previous commit, with compare's verdicts and counts
    (it compared run against run and coloured noise "worse" at 2 %)."""
    again = make_result("3b3b3b3b-run")  # c3 again: the same code, other numbers (noise)
    again.branch, again.commit_id, again.commit_time = "main", "c3c3c3c3d3", T0 + 3 * HOUR
    again.started_at = T0 + 3 * HOUR + 500
    for m in again.scenarios[0].metrics:
        m.samples = [v * 1.1 for v in m.samples]
    sqlite_store.ingest(again)
    page = build(sqlite_store)
    compare = page[page.index('id="compare"'):page.index('id="history"')]
    assert "head c3c3c3c3 vs base c2c2c2c2" in compare  # not c3 against c3
    doc = compare_json(cb, sqlite_url, "c2c2c2c2d2", "c3c3c3c3d3")
    assert doc["head"]["runs"] == 2 and shown_counts(compare) == doc["counts"]
    for s in doc["series"]:
        for f in s["figures"]:
            row = re.search(rf'<td class="scenario" title="{re.escape(s["scenario"])}">[^<]*</td><td><code>'
                            rf'{f["figure"]}</code>.*?</tr>', compare).group(0)
            assert f'>{f["verdict"].replace("_", " ")}<' in row or (f["verdict"] == "regression" and ">REGRESSION" in row)
    assert "worse" not in compare and "by 2 % or more" not in page


def test_scenarios_the_newer_run_lacks_are_missing_not_worse(cb, sqlite_store, sqlite_url):
    """A head run of fewer scenarios: what it did not run is "missing", as compare counts it."""
    r = make_result("4444aaaa-run")
    r.branch, r.commit_id, r.commit_time = "main", "c4c4c4c4d4", T0 + 4 * HOUR
    del r.scenarios[1:]  # only eager
    sqlite_store.ingest(r)
    compare = build(sqlite_store)
    compare = compare[compare.index('id="compare"'):compare.index('id="history"')]
    counts = shown_counts(compare)
    assert counts == compare_json(cb, sqlite_url, "c3c3c3c3d3", "c4c4c4c4d4")["counts"]
    assert counts["missing"] == 2 and counts["regression"] == 0
    assert f"<li><code>{DECODE}</code>: absent in head" in compare and "worse" not in compare


def test_an_invalid_run_is_a_hollow_point_where_its_numbers_are(sqlite_store):
    """Shown, but not like a valid run: each of its points is hollow, and its hover says why."""
    r = make_result("5555aaaa-run")
    r.branch, r.commit_id, r.commit_time = "main", "c5c5c5c5d5", T0 + 5 * HOUR
    r.valid, r.invalid_reasons = False, busy()
    sqlite_store.ingest(r)
    history = build(sqlite_store)
    history = history[history.index('id="history"'):history.index('id="timeline"')]
    hollow = history.count('fill="#fff" stroke="#2563eb" stroke-width="1.5"/>')
    solid = history.count('fill="#2563eb" stroke="#fff" stroke-width="1"/>')
    assert hollow == 6 and solid == 4 * 3 + 2 * 2  # c5's 6 figures; eager 4 at 3 commits, decode 2 at 2
    assert "run 5555aaaa (succeeded, INVALID): median" in history
    assert "INVALID: cpu_load in 11 phases" in history and "hollow point is an invalid run" in history
    assert history.count('<span class="now">') == history.count('(invalid run)</span>') == 6  # c5's values


LONG = "eager[attn_implementation=sdpa,batch_size=8,cache_implementation=static,dtype=bfloat16,new_tokens=128]"


@pytest.mark.slow
def test_a_long_scenario_name_stays_in_its_column_in_chromium(sqlite_store, tmp_path):
    """The compare table's scenario cell wraps a long name inside its column (it ran over the
    figure beside it) and keeps the whole name as its tooltip. Measured by Chromium's layout: a
    copy of the page, its CSP relaxed for one measuring script, dumped after it ran."""
    again = make_result("3b3b3b3b-run")
    again.branch, again.commit_id, again.commit_time = "main", "c3c3c3c3d3", T0 + 3 * HOUR
    sqlite_store.ingest(again)
    page = build(sqlite_store).replace(">eager<", f">{LONG}<").replace('title="eager"', f'title="{LONG}"')
    probe = """<script>
      const bad = [];
      const cells = document.querySelectorAll('#compare .scenario');
      for (const c of cells) {
        const next = c.nextElementSibling.getBoundingClientRect(), box = c.getBoundingClientRect();
        if (c.scrollWidth > c.clientWidth + 1 || box.right > next.left + 1) bad.push(c.textContent);
      }
      document.body.setAttribute('data-cells', cells.length);
      document.body.setAttribute('data-overflowing', bad.length);
    </script>"""
    path = tmp_path / "measured.html"
    path.write_text(page.replace("default-src 'none'", "default-src 'none'; script-src 'unsafe-inline'")
                    .replace("</body>", probe + "</body>"), encoding="utf-8")
    r = browse(tmp_path, path, "--dump-dom", "--window-size=1280,900")
    assert r.returncode == 0, r.stderr[-2000:]
    cells = int(re.search(r'data-cells="(\d+)"', r.stdout).group(1))
    assert cells >= 4 and 'data-overflowing="0"' in r.stdout, re.search(r"<body[^>]*>", r.stdout).group(0)
    assert f'<td class="scenario" title="{LONG}">{LONG}</td>' in page  # the whole name on hover
    shot = tmp_path / "page.png"
    r = browse(tmp_path, tmp_path / "measured.html", f"--screenshot={shot}", "--window-size=1280,1400")
    assert r.returncode == 0 and shot.exists()


def test_compare_of_an_all_invalid_commit_is_one_short_line_and_json_says_why(cb, sqlite_store, sqlite_url,
                                                                             tmp_path):
    """Three invalid runs of c5, each broken in 11 phases: the terminal gets one short line (the
    count and the first run's reasons, once per rule); --format json -o writes every run and why."""
    import json

    for i in range(3):
        r = make_result(f"5{i}5{i}aaaa-run")
        r.branch, r.commit_id, r.commit_time = "main", "c5c5c5c5d5", T0 + 5 * HOUR
        r.valid, r.invalid_reasons = False, busy()
        sqlite_store.ingest(r)
    out = tmp_path / "compare.json"
    r = cli_in_process(["compare", "--db", sqlite_url, "--base", "c3c3c3c3d3", "--head", "c5c5c5c5d5",
                        "--format", "json", "-o", out], cb.env)
    assert r.returncode == 9 and r.stdout == ""
    written, error = r.stderr.splitlines()
    line = error.removeprefix("commitbench: error: ")
    assert written == f"written: {out}" and len(line) < 400, len(line)
    assert line.startswith("could not compare: c5c5c5c5: all 3 run(s) invalid, left out (run 5050aaaa: cpu_load in "
                           "11 phases") and line.endswith("; and 2 more)")
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "insufficient" and doc["error"] == line
    assert [x["run"] for x in doc["left_out"]] == ["5050aaaa", "5151aaaa", "5252aaaa"]
    assert all(len(x["reasons"]) == 1 and x["reasons"][0].startswith("cpu_load in 11 phases")
               for x in doc["left_out"])
    r = cli_in_process(["compare", "--db", sqlite_url, "--base", "c3c3c3c3d3", "--head", "c5c5c5c5d5"], cb.env)
    assert r.returncode == 9 and r.stdout == "" and len(r.stderr.splitlines()) == 1  # text: the line alone



# -- what got slower, drawn, and the detector's record (#20 items 2 and 4) -------------------------------------

SLOWER_OPS = [("aten::mm", 30, 600.0), ("aten::item", 1, 2.0), ("aten::_local_scalar_dense", 1, 6.0)]


@pytest.fixture
def profiled(sqlite_url):
    """main: two earlier commits, then base and head, every eager run profiled. Head's eager
    decode step is 20 % slower (20 -> 24 ms a token: 4000 us): its matrix multiply doubled
    (+300 us), a host sync appeared (.item(): +2 and +6 us), an elementwise mul vanished (-35 us)."""
    from benchmark.contracts.profile import OperatorCost, ProfileSummary
    from verdict_data import OPS, profile, profiled_run, store_all

    kept = [op for op in OPS if op[0] not in ("aten::mm", "aten::mul")]
    head = ProfileSummary(tokens=31, batch_size=1, device="cpu", wall_us_per_token=1800.0,
                          operators=[OperatorCost(n, c, t, t) for n, c, t in kept + SLOWER_OPS]).to_info()
    store_all(sqlite_url, [profiled_run(c * 40, h, 0.010, "main", profile()) for c, h in (("1", 0.5), ("2", 0.7))]
              + [profiled_run("ba5e" + "0" * 36, 1, 0.010, "main", profile()),
                 profiled_run("feed" + "0" * 36, 2, 0.012, "main", head)])
    return sqlite_url


def report_of(url: str, now: float = T0 + 10 * HOUR, **kw) -> str:
    from dashboards.html_report import build as build_report
    from db.store import Store

    store = Store(url)
    store.open(auto_upgrade=False)
    try:
        with store.reading() as session:
            return build_report(session, now=now, **kw)
    finally:
        store.close()


def movers_of(page: str) -> tuple[str, list[tuple]]:
    """The compare section's movers chart and, per bar, (operator, change, delta us, the bar's
    x and width, the group's text)."""
    (svg,) = re.findall(r'<svg\b[^>]*aria-label="top operator movers of eager[^"]*".*?</svg>', page, flags=re.S)
    bars = []
    for name, change, delta, inner in re.findall(r'<g class="mover" data-operator="([^"]*)" data-change="(\w+)" '
                                                 r'data-delta-us="([-\d.]+)">(.*?)</g>', svg, flags=re.S):
        (rect,) = re.findall(r'<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', inner)
        text = " ".join(re.findall(r">([^<>]+)<", inner.split("</title>")[1]))
        bars.append((name, change, float(delta), float(rect[0]), float(rect[1]), text))
    return svg, bars


def test_the_compare_section_draws_what_got_slower_as_a_bar_chart(profiled):
    """One bar per operator explain names, in explain's order: right of zero where its self time
    per token grew, left where it shrank, as long as its change; labelled with its change, its
    share of the figure's change and NEW / GONE; the same numbers in a table beside it."""
    page = report_of(profiled)
    compare = page[page.index('id="compare"'):page.index('id="history"')]
    assert "head feed0000 vs base ba5e0000" in compare and "REGRESSION" in compare
    assert "What got slower in <code>eager</code>" in compare
    assert "<code>eager_time_to_next_token_secs</code> 20.000 ms → 24.000 ms per token (+4000.0 µs, +20.0 %)" in compare
    svg, bars = movers_of(compare)
    assert [(n, c, d) for n, c, d, *_ in bars] == [
        ("aten::mm", "slower", 300.0), ("aten::_local_scalar_dense", "new", 6.0), ("aten::item", "new", 2.0),
        ("aten::mul", "gone", -35.0)]
    zero = bars[0][3]
    for name, change, delta, x, width, text in bars:
        if delta > 0:  # grew: from the zero line to the right, in red
            assert x == zero, name
        else:  # shrank: to the left, ending at the zero line
            assert abs(x + width - zero) < 0.15, name
        assert text.startswith(name)
    per_us = bars[0][4] / 300.0  # one scale for every bar: widths in proportion to the changes (to 0.1 px)
    assert [w / per_us for *_, w, _ in bars] == pytest.approx([300.0, 6.0, 2.0, 35.0], abs=0.3)
    texts = {name: text for name, *_, text in bars}
    assert texts["aten::mm"] == "aten::mm +300 µs · 8 %"  # 300 of the figure's 4000 us
    assert texts["aten::_local_scalar_dense"] == "aten::_local_scalar_dense NEW +6 µs · 0 %  · host sync"
    assert texts["aten::mul"] == "aten::mul GONE −35 µs · -1 %"
    assert "figure +4000 µs → (beyond this scale)" in svg  # the operators named explain 7 % of it
    assert "<title>top operator movers of eager: 4 operators" in svg and 'role="img"' in svg
    table = compare[compare.index("<summary>the numbers</summary>"):]
    assert table.count("<tr><td><code>aten::") == 4 and "<td>host sync (.item(), int(), bool() of a tensor)</td>" in table
    assert 'class="reports"' not in page  # no regression report stored: no detector's record in the header


def test_no_chart_without_a_regression_or_without_profiles(profiled, tmp_path):
    """The report's base and head are the newest two commits: an unchanged head is no regression
    (nothing to explain); a regression with an unprofiled side has nothing to draw and still compares."""
    from verdict_data import profile, profiled_run, store_all

    store_all(profiled, [profiled_run("5a5e" + "0" * 36, 3, 0.012, "main", profile())])
    page = report_of(profiled)
    assert "head 5a5e0000 vs base feed0000" in page and "What got slower" not in page and 'class="mover"' not in page
    unprofiled = f"sqlite:///{tmp_path / 'unprofiled.sqlite'}"
    store_all(unprofiled, [profiled_run(c * 40, h, 0.010, "main", profile()) for c, h in (("1", 0.5), ("2", 0.7),
                                                                                        ("3", 1))]
              + [profiled_run("feed" + "0" * 36, 2, 0.012, "main", None)])
    page = report_of(unprofiled)
    assert "head feed0000 vs base 33333333" in page and "REGRESSION" in page and "What got slower" not in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_header_shows_the_detectors_record(every_end_state):
    """`status`'s line on the reports (`reports stats`' headline) for the report's branch, within
    90 days of the page's time; nothing where the branch has no report in them."""
    from datetime import timedelta, timezone

    from test_report_stats import REPORTED

    day_after = (REPORTED + timedelta(days=1)).replace(tzinfo=timezone.utc).timestamp()
    header = report_of(every_end_state, now=day_after, branch="main").split('id="compare"')[0]
    (line,) = re.findall(r'<p class="reports">(.*?)</p>', header)
    assert line == ("<span class=\"muted\">the detector's record (<code>commitbench reports stats</code>):</span> "
                    "reports (90d): 4, 1 withdrawn (25%); step to report: median 19 commits, 2.0 days; report to "
                    "fix: median -, - (0 fixed)")
    header = report_of(every_end_state, now=day_after, branch="release").split('id="compare"')[0]
    assert "reports (90d): 4, 0 withdrawn (0%);" in header and "(4 fixed)</p>" in header
    later = day_after + 100 * 86400.0
    assert 'class="reports"' not in report_of(every_end_state, now=later, branch="main")


@pytest.mark.slow
def test_the_movers_chart_draws_in_chromium(profiled, tmp_path):
    """The page with the chart opens without a console message, and the chart alone, rendered,
    shows its grown bars in red as large as the SVG says and its vanished operator in green."""
    page = report_of(profiled)
    assert opened(tmp_path, page).count('class="mover"') == 4
    svg, bars = movers_of(page)
    # taller than the chart: a fresh profile's headless window shows ~90 px less than its size
    w, h, width, height, pixels = shot_alone(tmp_path, svg, "movers", taller=120)
    inked = [i // width for i, p in enumerate(pixels) if p != (255, 255, 255)]
    assert (width, height) == (w, h + 120) and h - 12 <= max(inked) < h  # the whole chart, its axis labels last
    solid = sum(bar_w * 14 for _, change, _, _, bar_w, _ in bars if change == "slower")  # mm's bar, 14 px high
    assert sum(1 for p in pixels if near(p, "#dc2626", 24)) >= 0.8 * solid
    assert sum(1 for p in pixels if near(p, "#16a34a", 40)) > 20  # GONE and the vanished mul's outline
    assert sum(1 for p in pixels if near(p, "#a2dab4", 24)) > 0.5 * bars[3][4] * 10  # its light fill
