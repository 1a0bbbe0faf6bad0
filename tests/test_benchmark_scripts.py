"""Every measurement script starts and explains itself, run as a file or with -m, and the README names each."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEASURE = ROOT / "benchmarks" / "measure"
SCRIPTS = re.findall(r"`(\w+)\.py`", (ROOT / "README.md").read_text().split("## Benchmarks", 1)[1].split("\n## ", 1)[0])


def test_the_readme_names_every_measurement_script_and_only_those():
    """A script is a module of measure/ with a main(); its helpers (the bug sets it builds) have none."""
    with_main = {p.stem for p in MEASURE.glob("*.py") if re.search(r"^def main\(", p.read_text(), re.M)}
    assert len(with_main) >= 8
    assert sorted(SCRIPTS) == sorted(with_main)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_help_as_a_file_and_as_a_module(name, tmp_path):
    as_file = subprocess.run([sys.executable, str(MEASURE / f"{name}.py"), "--help"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert as_file.returncode == 0 and "usage:" in as_file.stdout, as_file.stderr[-2000:]
    as_module = subprocess.run([sys.executable, "-m", f"patchwarden.benchmarks.measure.{name}", "--help"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert as_module.returncode == 0 and "usage:" in as_module.stdout, as_module.stderr[-2000:]


def test_hostile_battery_counts_contained_attacks():
    """Two cheap attacks through the local backend: each is counted, with a total per backend."""
    run = subprocess.run([sys.executable, "-m", "patchwarden.benchmarks.measure.hostile_battery", "--backends", "local",
                          "--only", "read /etc/shadow,own environment"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(r"^local: contained [0-2]/2$", run.stdout, re.M), run.stdout
    bad = subprocess.run([sys.executable, "-m", "patchwarden.benchmarks.measure.hostile_battery", "--backends", "nope"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown backend 'nope'" in bad.stderr
