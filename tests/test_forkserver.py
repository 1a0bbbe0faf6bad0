"""The fork server: warm pytest runs and code execution inside a sandbox, equal to cold runs."""
from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from patchwarden.sandboxes import open_sandbox
from patchwarden.sandboxes.junit import merge_by_nodeid, parse_junit
from patchwarden.sandboxes.forkserver import ForkServer, ForkServerPool, local_module_names, third_party_imports

from tests.warm_helpers import BACKENDS, QUIET_PLUGINS, backend_params


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


CALC = {
    "calc/__init__.py": """
        def add(a, b):
            return a - b
    """,
    "tests/test_calc.py": """
        import os
        import calc

        def test_add():
            assert calc.add(1, 2) == 3

        def test_zero():
            assert calc.add(0, 0) == 0

        def test_noisy():
            print('{"id": 1, "returncode": 0}')          # protocol-looking line on stdout
            os.write(1, b'{"id": 2, "ok": true}\\n')      # and straight to fd 1
            os.write(2, b"to stderr\\n")
    """,
}
FIXED = "def add(a, b):\n    return a + b\n"


def statuses(run) -> dict[str, str]:
    return {nid: r.status for nid, r in merge_by_nodeid(run.results).items()}


def cold_statuses(sbx, args: list[str]) -> dict[str, str]:
    res = sbx.run([sys.executable if sbx.backend == "local" else "python3", "-m", "pytest", *args,
                   *QUIET_PLUGINS.split(), "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
                   "--junitxml", ".cold.xml", "-q"], timeout=120)
    assert "cold.xml" not in res.stderr, res.stderr
    return {nid: r.status for nid, r in merge_by_nodeid(parse_junit(sbx.read_file(".cold.xml"))).items()}


@pytest.fixture(scope="module", params=backend_params())
def calc_server(request, tmp_path_factory):
    repo = write_repo(tmp_path_factory.mktemp("calc"), CALC)
    backend = request.param
    with open_sandbox(backend, repo, image=BACKENDS[backend]) as sbx:
        python = sys.executable if backend == "local" else "python3"
        with ForkServer(sbx, python=python, preload=third_party_imports(repo)) as server:
            yield repo, sbx, server


def test_run_pytest_matches_cold_run_and_restores_files(calc_server):
    repo, sbx, server = calc_server
    warm = server.run_pytest(["tests"], timeout=30)
    assert warm.error is None, warm.error
    assert statuses(warm) == cold_statuses(sbx, ["tests"])
    assert statuses(warm)["tests/test_calc.py::test_add"] == "failed"
    assert warm.returncode == 1 and not warm.timed_out

    patched = server.run_pytest(["tests/test_calc.py::test_add"], files={"calc/__init__.py": FIXED}, timeout=30)
    assert statuses(patched) == {"tests/test_calc.py::test_add": "passed"}
    # The patch lived for that run only: the sandbox copy and the user's repo are unchanged.
    assert sbx.read_file("calc/__init__.py").decode() == (repo / "calc/__init__.py").read_text()
    assert "a - b" in (repo / "calc/__init__.py").read_text()
    again = server.run_pytest(["tests/test_calc.py::test_add"], timeout=30)
    assert statuses(again) == {"tests/test_calc.py::test_add": "failed"}


def test_user_output_and_os_exit_do_not_break_the_protocol(calc_server):
    repo, sbx, server = calc_server
    run = server.run_pytest(["tests/test_calc.py::test_noisy", "-s"], timeout=30)
    assert statuses(run) == {"tests/test_calc.py::test_noisy": "passed"}
    assert '"ok": true' in run.output_tail  # the child's fd 1 went to its capture, not the protocol
    dying = server.run_pytest(["tests"], files={"tests/test_exit.py": "import os\ndef test_x():\n    os._exit(3)\n"},
                              timeout=30)
    assert dying.returncode == 3 and dying.results == [] and dying.error is None
    assert server.run_python("print('{\"id\": 99}'); import os; os.write(1, b'{}\\n')", timeout=5).ok
    assert statuses(server.run_pytest(["tests/test_calc.py::test_zero"], timeout=30)) == {
        "tests/test_calc.py::test_zero": "passed"}


def test_no_assert_rewrite_warnings_from_preloaded_plugins(calc_server):
    # Preloaded plugins count as rewritten: with -W error a warning would turn into a failure.
    _, _, server = calc_server
    run = server.run_pytest(["-W", "error", "tests/test_calc.py::test_zero"], timeout=30)
    assert statuses(run) == {"tests/test_calc.py::test_zero": "passed"}, run.output_tail
    assert "cannot be rewritten" not in run.output_tail


def test_run_python_outcomes(calc_server):
    _, _, server = calc_server
    ok = server.run_python("x = sum(range(10))\nassert x == 45\nprint('done')", timeout=5)
    assert ok.ok and ok.error is None and ok.stdout.strip() == "done"
    bad = server.run_python("assert 1 == 2, 'nope'", timeout=5)
    assert not bad.ok and bad.error == "AssertionError: nope"
    assert server.run_python("raise ValueError('v')", timeout=5).error == "ValueError: v"
    early = server.run_python("import sys\nsys.exit(0)\nassert False", timeout=5)
    assert not early.ok and "SystemExit" in early.error
    hard = server.run_python("import os\nos._exit(0)", timeout=5)
    assert not hard.ok and "exited before finishing" in hard.error
    big = server.run_python("print('x' * 10_000_000)", timeout=10)
    assert big.ok and len(big.stdout) < 100_000 and "truncated" in big.stdout
    syntax = server.run_python("def f(:\n  pass", timeout=5)
    assert not syntax.ok and syntax.error.startswith("SyntaxError")


def test_hanging_code_is_killed_with_its_process_group(calc_server):
    _, _, server = calc_server
    start = time.monotonic()
    hung = server.run_python("import subprocess, sys\n"
                             "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
                             "while True:\n    pass", timeout=1.0)
    assert hung.timed_out and not hung.ok
    assert time.monotonic() - start < 8
    loop = server.run_pytest(["tests"], files={"tests/test_hang.py": "def test_h():\n    while True:\n        pass\n"},
                             timeout=2.0)
    assert loop.timed_out and loop.results == []
    # Still usable, and the hanging test file was removed again.
    after = server.run_pytest(["tests"], timeout=30)
    assert "tests/test_hang.py::test_h" not in statuses(after)
    assert statuses(after)["tests/test_calc.py::test_zero"] == "passed"


def test_stale_imports_never_leak_between_runs(calc_server):
    # Alternate a fixed and a broken module of the same byte length: any cached import or
    # bytecode of an earlier run would give the wrong answer for the next one.
    _, _, server = calc_server
    broken = FIXED.replace("a + b", "a * b")
    assert len(broken) == len(FIXED)
    assert alternate(server, "calc/__init__.py", FIXED, broken, "tests/test_calc.py::test_add") == [
        "passed", "failed", "passed", "failed"]


def alternate(server, rel: str, good: str, bad: str, nodeid: str) -> list[str]:
    """The test's status with `rel` patched to good, bad, good, bad in turn."""
    seen = []
    for text in (good, bad, good, bad):
        run = server.run_pytest([nodeid], files={rel: text}, timeout=30)
        seen.append(statuses(run)[nodeid])
    return seen


def test_rewritten_test_modules_are_cached_by_content_never_stale(calc_server):
    # Children reuse the assertion-rewritten code of unchanged test files; a test file patched
    # to other contents (same size) must get its own rewrite, and a rewrite that warns must warn
    # in every run, as in a cold one.
    _, _, server = calc_server
    passing = "def test_t():\n    assert 1 + 1 == 2\n"
    failing = passing.replace("1 + 1", "1 * 1")
    assert len(passing) == len(failing)
    assert alternate(server, "tests/test_swap.py", passing, failing, "tests/test_swap.py::test_t") == [
        "passed", "failed", "passed", "failed"]
    warns = "def test_w():\n    assert (1, 'always true')\n"
    for _ in range(2):
        run = server.run_pytest(["-W", "error::pytest.PytestAssertRewriteWarning", "tests/test_warns.py"],
                                files={"tests/test_warns.py": warns}, timeout=30)
        # As cold: the warning, turned into an error, fails the module's collection each time.
        assert set(statuses(run).values()) == {"error"}, run.output_tail
        assert "PytestAssertRewriteWarning: assertion is always true" in run.output_tail


def test_the_repo_own_modules_are_never_preloaded(tmp_path):
    # The repo has its own `yaml.py`: preloading the installed PyYAML would make children
    # import the wrong module (a cold run imports the local one). Its own package `shop` must
    # not be preloaded either, or children would test stale code.
    pytest.importorskip("yaml")
    repo = write_repo(tmp_path, {
        "yaml.py": "def dump(x):\n    return 'local'\n",
        "shop/__init__.py": "PRICE = 1\n",
        "test_y.py": "import yaml, shop\ndef test_local():\n    assert yaml.dump(1) == 'local' and shop.PRICE == 1\n",
    })
    assert third_party_imports(repo) == []
    with open_sandbox("local", repo) as sbx, \
            ForkServer(sbx, python=sys.executable, preload=["yaml", "shop", "json"]) as server:
        assert {"yaml", "shop"} <= set(server.failed_preloads) and "json" in server.preloaded
        run = server.run_pytest(["test_y.py"], timeout=30)
        assert statuses(run) == {"test_y.py::test_local": "passed"}


def test_dead_server_is_restarted_on_the_next_request(tmp_path):
    with open_sandbox("local", tmp_path) as sbx, ForkServer(sbx, python=sys.executable, with_pytest=False) as server:
        assert server.preloaded == [] and server.run_python("import json", timeout=5).ok
        # The process we started (the server, or bwrap holding its pid namespace: the pid the
        # server reports is its pid inside that namespace).
        os.kill(server._proc.pid, signal.SIGKILL)
        time.sleep(0.2)
        first = server.run_python("assert 2 + 2 == 4", timeout=5)
        if not first.ok:  # the request raced the death: the one after restarts the server
            assert "fork server" in first.error
            first = server.run_python("assert 2 + 2 == 4", timeout=5)
        assert first.ok and server.starts == 2


def test_pool_runs_in_parallel_and_keeps_order(tmp_path):
    with open_sandbox("local", tmp_path) as sbx, ForkServerPool(2, sandbox=sbx, python=sys.executable,
                                                                        with_pytest=False) as pool:
        codes = [f"import time\ntime.sleep(0.3)\nassert {i} % 2 == 0" for i in range(6)]
        start = time.monotonic()
        results = pool.map_python(codes, timeout=5)
        took = time.monotonic() - start
        assert [r.ok for r in results] == [True, False, True, False, True, False]
        assert took < 6 * 0.3 + 1.5  # two servers at once (generous for a loaded machine)


def test_third_party_imports_skip_repo_modules(tmp_path):
    repo = write_repo(tmp_path, {
        "src/pkg/__init__.py": "import json\nimport numpy as np\nfrom pkg import util\nfrom . import x\n",
        "src/pkg/util.py": "import requests.adapters\nfrom tests import helpers\n",
        "tests/helpers.py": "import pytest\n",
        ".venv/lib/site.py": "import shouldnotappear\n",
    })
    assert {"pkg", "util", "tests", "helpers", "src"} <= local_module_names(repo)
    assert third_party_imports(repo) == ["json", "numpy", "pytest", "requests"]
