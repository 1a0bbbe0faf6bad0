"""The user's environment in the sandbox: a project tested from its own virtualenv
is repaired with the default `--sandbox auto`, through Docker (the venv mounted read-only) or
through local when Docker cannot serve it; environment failures are errors (exit 4), never
repair results; the image has `python`, `patch`, `git`, pytest and coverage."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from env_helpers import DEP, make_dep_project, make_venv, make_wheel
from sandbox_helpers import require_docker

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, env_extra: dict | None = None, timeout: float = 300):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(**(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "patchwarden.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("env")
    return make_venv(root / "venv", make_wheel(root / "wheels"))


@pytest.fixture()
def project(tmp_path) -> Path:
    return make_dep_project(tmp_path / "shapes")


def repair(project: Path, out: Path, test_cmd: str, *extra, env_extra=None):
    proc = cli("repair", str(project), "--test-cmd", test_cmd, "--out", str(out), "--json", *extra, env_extra=env_extra)
    result = json.loads(proc.stdout) if proc.stdout.strip() else None
    return proc, result


def backend_of(run_dir: Path) -> str:
    return json.loads((run_dir / "baseline.json").read_text())["backend"]


# -- where the interpreter's environment comes from (no Docker needed) ------------------------
def test_mount_plan_covers_the_venv_and_its_base_interpreter(venv_python, tmp_path):
    from patchwarden.sandboxes.envmount import plan_mounts

    plan = plan_mounts(f"{venv_python} -m pytest -q", tmp_path)
    venv = venv_python.parent.parent
    assert plan.binds.get(str(venv)) == str(venv) and plan.problem is None
    real = os.path.realpath(venv_python)  # the base interpreter the venv's symlinks lead to
    assert any(real == target or real.startswith(target.rstrip("/") + "/") for target in plan.binds), plan.binds
    assert all(os.path.exists(source) for source in plan.binds.values())
    # A prefix that is not a Python installation of its own (no stdlib there, like ~/.local) is
    # never mounted whole: only the interpreter file.
    (tmp_path / "pfx" / "bin").mkdir(parents=True)
    (tmp_path / "pfx" / "bin" / "python3.11").write_text("")
    (tmp_path / "pfx" / "secrets.txt").write_text("token")
    loose = plan_mounts(f"{tmp_path}/pfx/bin/python3.11 -m pytest", tmp_path / "repo")
    assert loose.binds == {f"{tmp_path}/pfx/bin/python3.11": f"{tmp_path}/pfx/bin/python3.11"}


def test_mount_plan_for_the_repositorys_own_venv_and_a_missing_one(venv_python, tmp_path):
    from patchwarden.sandboxes.envmount import plan_mounts

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".venv").symlink_to(venv_python.parent.parent)
    plan = plan_mounts(".venv/bin/python -m pytest", repo)
    assert plan.binds["/work/.venv"] == str(repo / ".venv")  # not copied into the sandbox: mounted
    missing = plan_mounts("/no/such/venv/bin/python -m pytest", repo)
    assert "/no/such/venv/bin/python does not exist on this machine" in missing.problem
    assert not plan_mounts("python3 -m pytest", repo, environ={"PATH": os.environ["PATH"]})  # the image's own
    venv = venv_python.parent.parent  # ... unless an activated env provides it: mounted, its bin/ first on PATH
    active = plan_mounts("python -m pytest", repo, environ={"VIRTUAL_ENV": str(venv), "PATH": f"{venv}/bin:/usr/bin"})
    assert active.binds[str(venv)] == str(venv) and active.path_prepend == [f"{venv}/bin"]


def _run(results):
    from patchwarden.repair.testrun import TestRun

    return TestRun(results, 2, 1.0, "", True, None)


def test_missing_dependency_is_an_environment_problem_but_a_repo_import_bug_is_not(tmp_path):
    from patchwarden.sandboxes.testresults import TestResult
    from patchwarden.repair.envcheck import environment_problem

    repo = make_dep_project(tmp_path / "shapes")
    collect = TestResult("tests/test_geometry.py::tests.test_geometry", "error", "collection failure",
                         f"E   ModuleNotFoundError: No module named '{DEP}'")
    problem = environment_problem(_run({collect.nodeid: collect}), repo, "docker")
    assert DEP in problem and "Docker sandbox" in problem and "environment error" in problem
    own = TestResult("tests/test_geometry.py::test_area", "failed", "",
                     "ModuleNotFoundError: No module named 'shapes.missing_helper'")
    assert environment_problem(_run({own.nodeid: own}), repo, "docker") is None  # the repo's own module: a bug
    plain = TestResult("tests/test_geometry.py::test_square", "failed", "assert 6 == 9", "AssertionError")
    dep_in_one = TestResult("tests/test_geometry.py::test_area", "failed", "", f"ModuleNotFoundError: No module named '{DEP}'")
    assert environment_problem(_run({plain.nodeid: plain, dep_in_one.nodeid: dep_in_one}), repo, "local") is None


# -- auto: Docker when the command runs there, local with a reason otherwise ------------------
def test_auto_runs_local_and_says_why_when_docker_does_not_answer(project, venv_python, tmp_path):
    out = tmp_path / "run"
    proc, result = repair(project, out, f"{venv_python} -m pytest -q",
                          env_extra={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert proc.returncode == 0, proc.stderr
    assert result["status"] == "plausible" and backend_of(out) == "local"
    assert any(n.startswith("sandbox: local, because") and "does not answer" in n for n in result["notes"]), result["notes"]


@pytest.mark.docker
def test_auto_repairs_a_venv_project_in_docker_with_the_venv_mounted(project, venv_python, tmp_path):
    require_docker()
    out = tmp_path / "run"
    proc, result = repair(project, out, f"{venv_python} -m pytest -q")
    assert proc.returncode == 0, proc.stderr
    assert result["status"] == "plausible" and "+    return x * factor" in result["patch"]
    assert backend_of(out) == "docker"
    assert any("mounted read-only" in n and str(venv_python.parent.parent) in n for n in result["notes"]), result["notes"]


@pytest.mark.slow  # ~35 s on a busy machine; the absolute-venv test above proves the issue
@pytest.mark.docker
def test_auto_repairs_with_the_repositorys_own_venv_in_docker(venv_python, tmp_path):
    require_docker()
    repo = make_dep_project(tmp_path / "shapes")
    make_venv(repo / ".venv", make_wheel(tmp_path / "wheels"), use_pip=False)
    out = tmp_path / "run"
    proc, result = repair(repo, out, ".venv/bin/python -m pytest -q")
    assert proc.returncode == 0, proc.stderr
    assert result["status"] == "plausible" and backend_of(out) == "docker"


@pytest.mark.docker
def test_auto_runs_local_when_the_image_lacks_the_projects_dependency(project, venv_python, tmp_path):
    require_docker()
    out = tmp_path / "run"
    # `python3` is the venv's on PATH (not activated): local has tinydep, the image does not.
    path = {"PATH": f"{venv_python.parent}:{os.environ['PATH']}"}
    proc, result = repair(project, out, "python3 -m pytest -q", env_extra=path)
    assert proc.returncode == 0, proc.stderr
    assert result["status"] == "plausible" and backend_of(out) == "local"
    note = next(n for n in result["notes"] if n.startswith("sandbox: local"))
    assert f"cannot import {DEP}" in note
    # Asked for docker explicitly (nothing is probed on the host): an environment error naming the module and the fix.
    proc, _ = repair(project, tmp_path / "run2", "python3 -m pytest -q", "--sandbox", "docker", env_extra=path)
    assert proc.returncode == 4 and DEP in proc.stderr and "--sandbox local" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.docker
def test_a_baseline_missing_a_dependency_is_an_environment_error(project, tmp_path):
    require_docker()
    proc, result = repair(project, tmp_path / "run", "python3 -m pytest -q", "--sandbox", "docker")
    assert proc.returncode == 4, (proc.returncode, proc.stdout[-500:], proc.stderr)
    assert result["schema"] == "patchwarden.error/1" and result["exit_code"] == 4  # under --json the error is on stdout
    assert "environment error" in proc.stderr and DEP in proc.stderr
    assert "no function of the repository" not in proc.stdout + proc.stderr


@pytest.mark.docker
def test_a_missing_interpreter_is_named_up_front(project, tmp_path):
    require_docker()
    proc, _ = repair(project, tmp_path / "run", "/no/such/venv/bin/python -m pytest -q")
    assert proc.returncode == 2 and "/no/such/venv/bin/python does not exist on this machine" in proc.stderr


# -- the image has what test commands expect ----------------------------------------------------
@pytest.mark.docker
def test_python_m_pytest_patch_and_git_run_in_the_image(tmp_path):
    from patchwarden.sandboxes import open_sandbox

    image = require_docker()
    (tmp_path / "p" / "tests").mkdir(parents=True)
    (tmp_path / "p" / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    with open_sandbox("docker", tmp_path / "p", image=image) as sbx:
        r = sbx.run("python -m pytest -q && python -c 'import coverage' && patch --version && git --version", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout and "GNU patch" in r.stdout


@pytest.fixture()
def lacking_image():
    """An image like the sandbox image but without `python` and `patch`, and with an old inputs label."""
    import uuid

    import docker

    base = require_docker()
    client = docker.from_env()
    tag = f"patchwarden/test-lacking:{uuid.uuid4().hex[:8]}"
    container = client.containers.create(base, ["rm", "-f", "/usr/bin/python", "/usr/bin/patch"], network_mode="none", user="0")
    try:
        container.start()
        container.wait(timeout=60)
        container.commit(*tag.split(":"), changes=["LABEL patchwarden.inputs=0ld"])
    finally:
        container.remove(force=True)
    yield tag
    client.images.remove(tag, force=True)
    client.close()


@pytest.mark.docker
def test_doctor_names_missing_commands_and_build_image_check_finds_a_stale_image(lacking_image):
    proc = subprocess.run([sys.executable, "-m", "patchwarden.cli", "sandbox", "doctor", "--json", "--image", lacking_image],
                          cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    docker_check = next(c for c in json.loads(proc.stdout)["checks"] if c["backend"] == "docker")
    assert not docker_check["ok"] and "command python" in docker_check["detail"] and "command patch" in docker_check["detail"]
    check = subprocess.run([sys.executable, "-m", "patchwarden.cli", "sandbox", "build-image", "--check", "--tag", lacking_image],
                           cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "stale" in check.stdout
    current = subprocess.run([sys.executable, "-m", "patchwarden.cli", "sandbox", "build-image", "--check"],
                             cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert current.returncode == 0, current.stdout  # the shared image is built from the current inputs


def test_project_requirements_come_from_the_file_or_pyproject(tmp_path):
    from patchwarden.sandboxes import SandboxError
    from patchwarden.sandboxes.envimage import project_requirements

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["tinydep>=1"]\n[project.optional-dependencies]\ntest = ["pytest"]\n')
    assert project_requirements(tmp_path) == ["tinydep>=1", "pytest"]
    (tmp_path / "requirements.txt").write_text("# pinned\ntinydep==1.0  # ours\n--index-url http://x\n")
    assert project_requirements(tmp_path) == ["tinydep==1.0"]
    with pytest.raises(SandboxError, match="does not exist"):
        project_requirements(tmp_path, tmp_path / "nope.txt")


@pytest.mark.docker
def test_build_env_makes_a_cached_project_image_that_repair_uses(project, tmp_path):
    import docker

    require_docker()
    wheels = make_wheel(tmp_path / "wheels")
    (project / "requirements.txt").write_text(f"{DEP}\n")
    env = dict(os.environ)
    build = [sys.executable, "-m", "patchwarden.cli", "sandbox", "build-env", str(project), "--wheelhouse", str(wheels.parent)]
    first = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    tag = first.stdout.split("ready:")[1].split()[0]
    try:
        again = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0 and f"{tag} (cached)" in again.stdout
        out = tmp_path / "run"
        proc, result = repair(project, out, "python -m pytest -q", "--image", tag)
        assert proc.returncode == 0, proc.stderr
        assert result["status"] == "plausible" and backend_of(out) == "docker"
    finally:
        client = docker.from_env()
        client.images.remove(tag, force=True)
        client.close()


@pytest.mark.docker
def test_sandbox_run_mounts_a_venv_interpreter(venv_python, tmp_path):
    require_docker()
    proc = cli("sandbox", "run", "--backend", "docker", "--workdir", str(tmp_path), "--",
               str(venv_python), "-c", f"import {DEP}; print({DEP}.double(21))")
    assert proc.returncode == 0 and proc.stdout.strip() == "42", proc.stdout + proc.stderr


def test_no_tracer_is_an_environment_error_never_a_repair_result(tmp_path):
    from helpers import SHAPES, make_repo

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "coverage").mkdir()  # shadows the system's coverage.py: this interpreter has no tracer
    (site / "coverage" / "__init__.py").write_text("raise ImportError('coverage is not installed here')\n")
    repo = make_repo(tmp_path / "shapes", SHAPES)  # failing asserts sit in the tests: no traceback evidence
    proc, _ = repair(repo, tmp_path / "run", f"{venv}/bin/python -m pytest -q", "--sandbox", "local")
    assert "no function of the repository is implicated" not in proc.stdout + proc.stderr
    if proc.returncode == 4:
        assert "environment error" in proc.stderr and "tracer" in proc.stderr and "coverage" in proc.stderr
    else:  # the stdlib tracer fallback recorded the coverage: then the bug is repaired
        assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr
