"""Java and Node in the Docker sandbox: the image runs `mvn -o -q test` and `node --test`, and both
examples are repaired there. Needs the image with a JDK, Maven and Node (sandboxes/images/Dockerfile,
`patchwarden sandbox build-image`) and the user's Maven cache mounted read-only."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from patchwarden.repair.config import RepairConfig
from patchwarden.repair.pipeline import run_repair
from patchwarden.repair.sandbox_choice import choose_sandbox
from patchwarden.sandboxes import Limits, open_spec
from patchwarden.sandboxes.test_reports import run_with_reports

from sandbox_helpers import require_docker

pytestmark = pytest.mark.docker
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def image_with_toolchains() -> str:
    image = require_docker()
    probe = subprocess.run(["docker", "run", "--rm", "--network", "none", image, "sh", "-c",
                            "command -v java && command -v mvn && command -v node"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        message = f"{image} has no JDK/Maven/Node yet (rebuild it: patchwarden sandbox build-image)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return image


@pytest.mark.parametrize("example,cmd,count", [("java-range", "mvn -o -q test", 5), ("js-tally", "node --test", 4)])
def test_the_image_runs_maven_and_node_tests_with_reports(tmp_path, example, cmd, count):
    image = image_with_toolchains()
    repo = tmp_path / example
    shutil.copytree(EXAMPLES / example, repo)
    spec = choose_sandbox("docker", image, cmd, repo, Limits()).spec
    with open_spec(spec, repo) as sbx:
        rr = run_with_reports(sbx, cmd, timeout=600)
    assert rr.result.returncode == 1 and rr.cases is not None, (rr.note, rr.result.stderr[-2000:])
    assert len(rr.cases) == count and sum(c.bad for c in rr.cases) >= 1


@pytest.mark.parametrize("example,cmd,fixed", [
    ("java-range", "mvn -o -q test", "+        return x >= lo && x <= hi;"),
    ("js-tally", "node --test", "+  return values.filter((v) => v === 0).length;"),
])
def test_examples_repaired_in_docker(tmp_path, example, cmd, fixed):
    image = image_with_toolchains()
    repo = tmp_path / example
    shutil.copytree(EXAMPLES / example, repo)
    out = run_repair(RepairConfig(repo=repo, test_cmd=cmd, sandbox="docker", image=image, out=tmp_path / "run", progress=False))
    assert out.status == "plausible", out.message
    assert fixed in out.patch and out.confirmation["confirmed"]
