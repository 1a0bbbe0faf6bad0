"""SWE-bench-format instances, repaired from local clones.

--path: a local `.json` (a list) or `.jsonl` file of instances, or, loaded with
`datasets.load_dataset`, a Hugging Face dataset id (`princeton-nlp/SWE-bench_Lite`), a downloaded
snapshot folder or a `.parquet` file; add `:SPLIT` for a split other than `test`. Each instance has `instance_id`, `repo` (owner/name), `base_commit`,
`problem_statement`, `FAIL_TO_PASS`, `PASS_TO_PASS` (lists, or JSON strings of lists as on
the hub) and `test_patch`; `version` is used only to fill an image name.

--repos DIR holds the clones: DIR/<owner>__<name> (SWE-bench's own naming), DIR/<owner>/<name>
or DIR/<name>. A clone is never modified: each instance gets a private work copy checked out
at `base_commit`, with `test_patch` applied and committed (so the patch the repair writes holds
only the fix, with paths relative to the repository root).

Tests: the repository's test command (from `benchmarks/data/swebench_repos.json`, extended by
--repo-config FILE) runs exactly the FAIL_TO_PASS and PASS_TO_PASS tests. The tests that fail
at baseline (FAIL_TO_PASS) are the repair's trigger tests, the ones that pass (PASS_TO_PASS)
its regression set; tests listed in neither are not run, as the SWE-bench harness ignores them.
The problem statement is the issue text the input bouncer and the model engines see.
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Iterator

from patchwarden.sandboxes.files import json_lines

from .base import Bug, DatasetError, clone_at, git

NAME = "swebench"
HELP = "SWE-bench-format instances (a .json/.jsonl file or a HF id) repaired from local clones under --repos DIR"
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "data" / "swebench_repos.json"
REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement", "FAIL_TO_PASS", "PASS_TO_PASS", "test_patch")
TEST_PATCH_FILE = "swebench_test.patch"  # written next to the work copy, never into it


def _instances(path: str) -> list[dict]:
    name, _, split = path.partition(":")
    local = Path(name).expanduser()
    if local.is_dir() or local.suffix == ".parquet":  # a downloaded hub snapshot: `datasets` reads it
        return _hub_rows(str(local), split)
    local = Path(path).expanduser()
    if local.is_file():
        text = local.read_text()
        if local.suffix == ".json":
            try:
                rows = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{local} is not valid JSON ({exc.msg} at line {exc.lineno}): pass a JSON list of instances or a .jsonl file") from exc
            if not isinstance(rows, list):
                raise DatasetError(f"{local} holds a JSON {type(rows).__name__}, not a list of instances")
            return rows
        return [row for _, row in json_lines(local, text, error=DatasetError)]
    if local.suffix in (".json", ".jsonl") or path.startswith((".", "/", "~")):
        raise DatasetError(f"--path {path} does not exist: pass a SWE-bench .json/.jsonl file or a HF dataset id")
    return _hub_rows(name, split)


def _hub_rows(name: str, split: str) -> list[dict]:
    """Rows through `datasets.load_dataset`: a hub id, a local snapshot folder or a parquet file."""
    try:
        from datasets import load_dataset
    except ImportError as exc:
        raise DatasetError(f"loading {name} needs `datasets`: pip install 'patchwarden[ml]'") from exc
    try:
        if name.endswith(".parquet"):
            return [dict(row) for row in load_dataset("parquet", data_files=name, split="train")]
        return [dict(row) for row in load_dataset(name, split=split or "test")]
    except Exception as exc:  # offline, unknown id, unknown split: one clean line
        raise DatasetError(f"cannot load SWE-bench instances from {name}" + (f" (split {split})" if split else "")
                           + f": {str(exc).splitlines()[0][:200]}; pass a local .json/.jsonl with --path") from exc


def test_list(value, instance_id: str, key: str) -> list[str]:
    """FAIL_TO_PASS / PASS_TO_PASS: a list, or a JSON string of one (the hub's encoding)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise DatasetError(f"instance {instance_id}: {key} is neither a list nor a JSON list ({exc.msg})") from exc
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise DatasetError(f"instance {instance_id}: {key} must be a list of test ids")
    return value


def load_repo_config(extra: str | None) -> dict[str, dict]:
    """The default mapping, updated entry by entry with the user's --repo-config file."""
    config = {k: v for k, v in json.loads(DEFAULT_CONFIG.read_text()).items() if not k.startswith("_")}
    if extra:
        file = Path(extra).expanduser()
        if not file.is_file():
            raise DatasetError(f"--repo-config {extra} is not a file: pass a JSON file mapping owner/name to {{test_cmd, image?}}")
        try:
            user = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise DatasetError(f"--repo-config {file} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(user, dict):
            raise DatasetError(f"--repo-config {file} must be a JSON object mapping owner/name to {{test_cmd, image?}}")
        for repo, entry in user.items():
            if repo.startswith("_"):
                continue
            if not isinstance(entry, dict):
                raise DatasetError(f"--repo-config {file}: the entry for {repo} must be an object such as {{\"test_cmd\": \"python -m pytest -rA {{tests}}\"}}")
            config[repo] = {**config.get(repo, {}), **entry}
    for repo, entry in config.items():
        cmd = entry.get("test_cmd")
        if not isinstance(cmd, str) or "{tests}" not in cmd:
            raise DatasetError(f"repo config for {repo}: test_cmd must be a string containing {{tests}} (where the test ids go)")
    return config


def find_clone(repos: Path, repo: str) -> Path | None:
    owner, _, name = repo.partition("/")
    for candidate in (repos / f"{owner}__{name}", repos / owner / name, repos / name):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def load(path: str | None, repos: str | None = None, repo_config: str | None = None, image_template: str | None = None) -> Iterator[Bug]:
    if path is None:
        raise DatasetError("the swebench dataset needs --path: a SWE-bench .json/.jsonl file or a HF id such as princeton-nlp/SWE-bench_Lite")
    if repos is None:
        raise DatasetError("the swebench dataset needs --repos DIR holding clones named <owner>__<name> (or <owner>/<name>)")
    repos_dir = Path(repos).expanduser()
    if not repos_dir.is_dir():
        raise DatasetError(f"--repos {repos} is not a directory: pass the folder holding the repositories' clones")
    config = load_repo_config(repo_config)
    for row in _instances(path):
        if not isinstance(row, dict):
            raise DatasetError(f"{path}: every instance must be a JSON object with {', '.join(REQUIRED)}")
        iid = str(row.get("instance_id", "?"))
        missing = [k for k in REQUIRED if k not in row or row[k] is None]
        if missing:
            raise DatasetError(f"instance {iid} lacks {', '.join(missing)}: a SWE-bench instance needs {', '.join(REQUIRED)}")
        clone = find_clone(repos_dir, row["repo"])
        if clone is None:
            owner, _, name = row["repo"].partition("/")
            raise DatasetError(f"instance {iid}: no clone of {row['repo']} under {repos_dir}; "
                               f"git clone https://github.com/{row['repo']} {repos_dir / f'{owner}__{name}'}")
        fail_to_pass = test_list(row["FAIL_TO_PASS"], iid, "FAIL_TO_PASS")
        pass_to_pass = test_list(row["PASS_TO_PASS"], iid, "PASS_TO_PASS")
        if not fail_to_pass:
            raise DatasetError(f"instance {iid}: FAIL_TO_PASS is empty; a repair needs at least one failing test")
        entry = config.get(row["repo"]) or config["*"]
        tests = " ".join(shlex.quote(t) for t in dict.fromkeys(fail_to_pass + pass_to_pass))
        fill = {"instance_id": iid, "repo": row["repo"], "version": str(row.get("version") or "")}
        image = image_template or entry.get("image")
        yield Bug(
            id=iid,
            dataset=NAME,
            test_cmd=entry["test_cmd"].replace("{tests}", tests),
            issue=row["problem_statement"],
            bug_type=row["repo"],
            spec={
                "clone": str(clone),
                "base_commit": row["base_commit"],
                "test_patch": row["test_patch"],
                "image": image.format(**fill) if image else None,
                "fail_to_pass": fail_to_pass,
                "pass_to_pass": pass_to_pass,
            },
        )


def materialise(bug: Bug, dest: Path) -> tuple[Path, str]:
    spec = bug.spec
    clone = Path(spec["clone"])
    try:
        git("cat-file", "-e", f"{spec['base_commit']}^{{commit}}", cwd=clone)
    except DatasetError as exc:
        raise DatasetError(f"base_commit {spec['base_commit']} is not in {clone}: git -C {clone} fetch origin") from exc
    repo = clone_at(clone, spec["base_commit"], dest / "repo")
    if spec["test_patch"].strip():
        patch = dest / TEST_PATCH_FILE
        patch.write_text(spec["test_patch"])
        git("apply", "--whitespace=nowarn", str(patch), cwd=repo)
        git("add", "-A", cwd=repo)
        git("commit", "--quiet", "--no-verify", "-m", f"swebench: test_patch of {bug.id}", cwd=repo)
    return repo, bug.test_cmd
