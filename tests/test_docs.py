"""The README and the docs site: the generated reference pages are what the code writes, every
figure is explained, the exit codes are explained once, the README stays one screen and points
only inside the repository, and (slow tier) `mkdocs build --strict` succeeds, so a broken link,
anchor or page fails."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.contracts import exitcodes
from benchmark.contracts.config import DEFAULTS, KINDS, PARAMS
from benchmark.contracts.figures import FIGURES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def load_generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load_generator()


def pages() -> dict[str, str]:
    """Every hand-written and generated page of the site, by its path under docs/."""
    return {str(p.relative_to(DOCS)): p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md"))}


# -- the generated reference pages ---------------------------------------------------------

def test_committed_reference_pages_are_what_the_code_generates():
    assert generate.differences() == [], "run `python docs/generate.py` and commit docs/reference/"
    assert set(generate.pages()) == {"figures.md", "exit-codes.md", "parameters.md"}


def test_check_mode_names_a_page_that_differs_or_is_missing(tmp_path):
    generate.write(tmp_path)
    assert generate.differences(tmp_path) == []
    (tmp_path / "figures.md").write_text("# Figures\n")
    (tmp_path / "parameters.md").unlink()
    assert generate.differences(tmp_path) == ["figures.md: differs", "parameters.md: missing"]


def test_check_mode_exits_1_when_out_of_date(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(generate, "REFERENCE", tmp_path)
    assert generate.main(["--check"]) == 1 and "(run `python docs/generate.py`)" in capsys.readouterr().out
    assert generate.main([]) == 0 and generate.main(["--check"]) == 0


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_figure_table_explains_every_figure(name):
    """Each registered figure has a row in the generated table, with its unit and description."""
    f = FIGURES[name]
    row = next(line for line in (DOCS / "reference" / "figures.md").read_text().splitlines()
               if line.startswith(f"| `{name}` |"))
    assert f"| {f.unit} |" in row and row.rstrip(" |").endswith(f.description.replace("|", "\\|"))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_figures_page_says_how_every_figure_is_measured(name):
    """The hand-written page explains each figure, not only the generated table."""
    assert f"`{name}`" in (DOCS / "figures.md").read_text()


def test_the_exit_codes_page_has_every_code_with_its_comment():
    page = (DOCS / "reference" / "exit-codes.md").read_text()
    source = inspect.getsource(exitcodes)
    codes = {n: v for n, v in vars(exitcodes).items() if n.isupper() and isinstance(v, int)}
    for name, value in codes.items():
        if name.startswith("GRAFANA_"):  # aliases of the service codes
            continue
        comment = re.search(rf"^{name} = {value}  # (.+)$", source, re.M).group(1)
        assert f"| `{name}` | {comment} |" in page
    assert "| 130 / 143 | `CANCELLED_BASE` |" in page


def test_the_parameters_page_has_every_kind_and_parameter_with_its_default():
    page = (DOCS / "reference" / "parameters.md").read_text()
    for kind in KINDS:
        assert f"| `{kind}` |" in page
    for name in PARAMS:
        default = DEFAULTS[name]
        shown = str(default).lower() if isinstance(default, bool) else \
            f"{default:g}" if isinstance(default, float) else str(default)
        assert f"| `{name}` | `{shown}` |" in page


def test_generated_allowed_values_are_the_validators_words():
    page = (DOCS / "reference" / "parameters.md").read_text()
    assert "| `compile_mode` | `reduce-overhead` | one of default, reduce-overhead, max-autotune, " \
           "max-autotune-no-cudagraphs |" in page
    assert "| `new_tokens` | `20` | an integer from 3 to 1000000 |" in page
    assert "| `seed` | `0` | an integer from 0 to 4294967295 |" in page


# -- written once, inside the repository ---------------------------------------------------

def test_exit_code_meanings_are_written_once():
    """Only the generated page has a table of exit codes; the others link to it."""
    for name, text in pages().items():
        if name == "reference/exit-codes.md":
            continue
        assert "| code | meaning |" not in text and "Exit codes:" not in text, name
    assert "| code | meaning |" not in README.read_text()


def test_each_command_says_what_its_exit_codes_mean_in_one_place():
    """A command's EXIT_CODES is the one text: --help shows it, the reference page collects
    it, and no docstring repeats it."""
    from benchmark.cli import COMMANDS, command_module, parser

    page = (DOCS / "reference" / "exit-codes.md").read_text()
    known = {v for n, v in vars(exitcodes).items() if n.isupper() and isinstance(v, int)}
    for name in COMMANDS:
        module = command_module(name)
        assert module.EXIT_CODES and set(module.EXIT_CODES) <= known, name
        assert exitcodes.OK in module.EXIT_CODES and exitcodes.BAD_INPUT in module.EXIT_CODES, name
        assert "Exit code" not in (module.__doc__ or ""), name
        helptext = parser(name)._subparsers._group_actions[0].choices[name].format_help()
        section = page.split(f"### `commitbench {name}`", 1)[1].split("###", 1)[0]
        for code, text in module.EXIT_CODES.items():
            assert f"| {exitcodes.shown(code).replace('/', ' / ')} | {text} |" in section, (name, code)
            assert f"  {exitcodes.shown(code)}  " in helptext and text.split()[0] in helptext, (name, code)


def test_no_page_points_outside_the_repository_or_at_its_history():
    for name, text in {**pages(), "README.md": README.read_text()}.items():
        assert "shared/" not in text, name
        assert not re.search(r"\bthe seed\b|\bseed's\b", text, re.I), name
        assert not re.search(r"\(\d[\d,]* tests\)|\b\d{3,} tests\b", text), name


def test_readme_is_one_screen_with_the_two_commands_and_every_command():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= 200
    assert "bash benchmark/install.sh && .venv/bin/commitbench run" in lines
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith(("#", "set "))]
    assert ci == ["bash tests/run.sh"] and "bash tests/run.sh" in lines  # CI runs exactly the README's command
    assert 'python -m pytest tests -m "not slow"' in text
    from benchmark.cli import COMMANDS
    table = [re.match(r"\| `([a-z-]+)` \|", line) for line in lines]
    assert sorted(m.group(1) for m in table if m) == sorted(COMMANDS)
    assert "docs/img/report.png" in text and "validate" in text and "INVALID" in text


def test_readme_and_pages_link_only_to_files_that_exist():
    for source, text in [(README, README.read_text())] + [(DOCS / n, t) for n, t in pages().items()]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (source.parent / target).exists(), f"{source.relative_to(ROOT)} links to {target}"


def test_the_screenshot_is_a_small_png():
    png = DOCS / "img" / "report.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000


# -- the site builds -----------------------------------------------------------------------

def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, timeout=300, env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})


@pytest.mark.slow
def test_mkdocs_build_strict_succeeds(tmp_path):
    r = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert r.returncode == 0, r.stderr
    built = {str(p.relative_to(tmp_path / "site")) for p in (tmp_path / "site").rglob("index.html")}
    want = {"index.html"} | {f"{n.removesuffix('.md')}/index.html" for n in pages() if n != "index.md"}
    assert want <= built
    assert (tmp_path / "site" / "img" / "report.png").exists()


@pytest.mark.slow
def test_mkdocs_build_strict_fails_on_a_broken_link(tmp_path):
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    page = tmp_path / "docs" / "install.md"
    page.write_text(page.read_text() + "\nSee [the running page](running.md#no-such-section).\n")
    r = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert r.returncode != 0 and "no-such-section" in r.stderr
