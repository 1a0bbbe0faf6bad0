"""Java, Maven and Node in both sandboxes (issue 14, item 6): the host toolchains in the local
sandbox, the image's own in Docker, the user's Maven repository lent read-only."""
from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from patchwarden.sandboxes import DEFAULT_IMAGE, open_sandbox
from patchwarden.sandboxes.toolchains import (
    CONTAINER_MAVEN_REPO, MAVEN_REPO_ENV, lent_maven_repository, maven_groups, maven_repository,
)
from sandbox_helpers import require_docker

POM = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>t</groupId><artifactId>tiny</artifactId><version>1</version>
  <properties><maven.compiler.release>17</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies><dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId>
    <version>5.10.2</version><scope>test</scope></dependency></dependencies>
  <build><plugins>
    <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>
    <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>
    <plugin><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin>
  </plugins></build>
</project>
"""
MAVEN_FILES = {
    "pom.xml": POM,
    "src/main/java/t/Sign.java": "package t;\npublic class Sign {\n  public static int of(int x) { return x > 0 ? 1 : -1; }\n}\n",
    "src/test/java/t/SignTest.java": textwrap.dedent("""\
        package t;
        import static org.junit.jupiter.api.Assertions.assertEquals;
        import org.junit.jupiter.api.Test;
        class SignTest {
          @Test void positive() { assertEquals(1, Sign.of(5)); }
          @Test void zero() { assertEquals(0, Sign.of(0)); }
        }
        """),
}
NODE_FILES = {
    "sign.js": "exports.sign = (x) => (x > 0 ? 1 : -1);\n",
    "sign.test.js": ("const test = require('node:test');\nconst assert = require('node:assert');\n"
                     "const { sign } = require('./sign.js');\n"
                     "test('positive', () => assert.strictEqual(sign(5), 1));\n"
                     "test('zero', () => assert.strictEqual(sign(0), 0));\n"),
}
HAVE_MAVEN_CACHE = maven_repository() is not None and (
    Path(maven_repository() or "/nonexistent") / "org/junit/jupiter/junit-jupiter/5.10.2").is_dir()


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_maven_repository_lent_only_to_maven_projects(tmp_path, monkeypatch):
    repo = tmp_path / "m2"
    repo.mkdir()
    monkeypatch.setenv(MAVEN_REPO_ENV, str(repo))
    project = write(tmp_path / "p", {"pom.xml": POM})
    assert lent_maven_repository(project) == str(repo.resolve())
    assert lent_maven_repository(write(tmp_path / "py", {"setup.py": ""})) is None
    assert lent_maven_repository(project, None) is None and lent_maven_repository(project, "") is None
    monkeypatch.setenv(MAVEN_REPO_ENV, "")
    assert maven_repository() is None  # an empty value lends none


def test_a_group_only_repository_is_read_through_its_group_only(tmp_path):
    repo = tmp_path / "m2"
    repo.mkdir()
    os.chmod(repo, 0o750)
    assert maven_groups([str(repo)]) == [repo.stat().st_gid]
    os.chmod(repo, 0o755)
    assert maven_groups([str(repo)]) == []  # world-readable: no group needed


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_local_sandbox_runs_node_test_with_the_junit_reporter(tmp_path):
    project = write(tmp_path / "node", NODE_FILES)
    with open_sandbox("local", project) as sbx:
        res = sbx.run("node --test --test-reporter=junit --test-reporter-destination=report.xml", timeout=120)
        report = sbx.read_file("report.xml").decode()
    assert res.returncode == 1
    assert '<testcase name="positive"' in report and '<testcase name="zero"' in report and "<failure" in report


@pytest.mark.skipif(shutil.which("mvn") is None or not HAVE_MAVEN_CACHE, reason="no mvn or no offline Maven repository")
def test_local_sandbox_runs_offline_maven_with_the_users_repository(tmp_path):
    project = write(tmp_path / "mvn", MAVEN_FILES)
    with open_sandbox("local", project) as sbx:
        res = sbx.run("mvn -o -q test", timeout=600)
        report = sbx.read_file("target/surefire-reports/TEST-t.SignTest.xml").decode()
        wrote = sbx.run(f"touch {maven_repository()}/pw-probe", timeout=30)
    assert res.returncode == 1, res.stdout[-2000:]
    assert 'name="positive"' in report and 'name="zero"' in report and "<failure" in report
    assert wrote.returncode != 0  # read-only


@pytest.mark.skipif(not HAVE_MAVEN_CACHE, reason="no offline Maven repository")
def test_local_sandbox_lends_the_repository_to_maven_projects_only(tmp_path):
    from patchwarden.sandboxes.confine import confinement

    if not confinement()[0]:
        pytest.skip("the local sandbox is not confined here: it sees the whole host anyway")
    project = write(tmp_path / "py", {"calc.py": "x = 1\n"})
    with open_sandbox("local", project) as sbx:
        res = sbx.run(f"ls {maven_repository()}/org && echo LISTED; id -G", timeout=60)
    assert "LISTED" not in res.stdout
    if os.geteuid() == 0:
        assert res.stdout.split() == [res.stdout.split()[0]]  # no supplementary group


def java_image() -> str:
    """The image for the toolchain tests: PATCHWARDEN_TEST_IMAGE or the default, which must have them."""
    image = require_docker(os.environ.get("PATCHWARDEN_TEST_IMAGE") or DEFAULT_IMAGE)
    with open_sandbox("docker", None, image=image) as sbx:
        missing = sbx.run("for c in java javac mvn node; do command -v $c >/dev/null || echo $c; done", timeout=60).stdout.split()
    if missing:
        message = f"image {image} lacks {', '.join(missing)}: rebuild it (patchwarden sandbox build-image --offline)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return image


@pytest.mark.docker
@pytest.mark.skipif(not HAVE_MAVEN_CACHE, reason="no offline Maven repository with junit-jupiter 5.10.2 on this machine")
def test_docker_image_runs_offline_maven_with_the_repository_mounted_read_only(tmp_path):
    image = java_image()
    project = write(tmp_path / "mvn", MAVEN_FILES)
    with open_sandbox("docker", project, image=image) as sbx:
        res = sbx.run("mvn -o -q test", timeout=600)
        report = sbx.read_file("target/surefire-reports/TEST-t.SignTest.xml").decode()
        wrote = sbx.run(f"touch {CONTAINER_MAVEN_REPO}/pw-probe", timeout=30)
        net = sbx.run("cat /sys/class/net/*/operstate 2>/dev/null | sort -u; ls /sys/class/net", timeout=30)
    assert res.returncode == 1, (res.stdout + res.stderr)[-2000:]
    assert 'name="positive"' in report and 'name="zero"' in report and "<failure" in report
    assert wrote.returncode != 0
    assert net.stdout.split()[-1:] == ["lo"]  # no network but the loopback


@pytest.mark.docker
def test_docker_image_runs_node_test(tmp_path):
    image = java_image()
    project = write(tmp_path / "node", NODE_FILES)
    with open_sandbox("docker", project, image=image) as sbx:
        res = sbx.run("node --test", timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-2000:]
    assert "positive" in out and "zero" in out and "fail 1" in out


@pytest.mark.docker
@pytest.mark.skipif(not HAVE_MAVEN_CACHE, reason="no offline Maven repository with junit-jupiter 5.10.2 on this machine")
def test_docker_sandbox_runs_the_java_warm_path(tmp_path):
    from patchwarden.sandboxes.jvm_warm import MavenWarmSession, surefire_id

    image = java_image()
    project = write(tmp_path / "mvn", MAVEN_FILES)
    fixed = MAVEN_FILES["src/main/java/t/Sign.java"].replace("x > 0 ? 1 : -1", "Integer.signum(x)")
    with open_sandbox("docker", project, image=image) as sbx, MavenWarmSession(sbx, project) as session:
        before = session.run({}, timeout=60)
        after = session.run({"src/main/java/t/Sign.java": fixed}, timeout=60)
    assert sorted((surefire_id(t), t["status"]) for t in before.tests) == [("t.SignTest#positive", "passed"), ("t.SignTest#zero", "failed")]
    assert sorted((surefire_id(t), t["status"]) for t in after.tests) == [("t.SignTest#positive", "passed"), ("t.SignTest#zero", "passed")]
