"""benchmark/trackers/environment.py: which installed package is the code under test, found
from a real pip install of a real git checkout (#19 item 13)."""

from __future__ import annotations

import subprocess
import sys

from benchmark.trackers.environment import code_under_test

PYPROJECT = """[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
[project]
name = "Tiny_Lib"
version = "{version}"
[tool.setuptools]
py-modules = ["tiny_lib"]
"""


def _checkout(path, version):
    path.mkdir()
    (path / "pyproject.toml").write_text(PYPROJECT.format(version=version))
    (path / "tiny_lib.py").write_text("X = 1\n")
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_the_package_installed_from_the_checkout_is_the_code_under_test(tmp_path, monkeypatch):
    checkout = _checkout(tmp_path / "tiny-lib", "1.2.0")
    elsewhere = _checkout(tmp_path / "other", "0.1.0")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(checkout)], check=True)
    monkeypatch.syspath_prepend(str(site))
    assert code_under_test(checkout) == ["tiny-lib"]  # PEP 503's spelling of Tiny_Lib
    assert code_under_test(checkout / "sub" / "..") == ["tiny-lib"]
    assert code_under_test(elsewhere) == []  # nothing installed from it
    assert code_under_test(tmp_path) == ["tiny-lib"]  # a package in a subfolder of a repository (a monorepo)
    assert code_under_test(site) == []  # installed into it is not built from it; wheels from an index point nowhere
