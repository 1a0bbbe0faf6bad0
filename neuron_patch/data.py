"""Loading models and the JSONL inputs of `patchwarden neuron`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from patchwarden.sandboxes.files import json_lines


class DataProblem(ValueError):
    """Bad user input (file missing, row malformed): shown as one clean line."""


@dataclass(frozen=True)
class Case:
    prompt: str
    target: str
    group: str = "default"
    error: str | None = None   # the known wrong continuation, when the row came from error data

    @property
    def key(self) -> str:
        return f"{self.group}\x1f{self.prompt}"


def model_ref(spec: str) -> str:
    """`hf:PATH` (a hub id or a local folder) -> PATH. A bare path or id is accepted too."""
    spec = spec.strip()
    if spec.startswith("hf:"):
        spec = spec[3:]
    if not spec:
        raise DataProblem("--model/--base is empty; pass hf:ORG/NAME or hf:/path/to/model")
    return spec


def load_model(spec: str, dtype=None):
    """Load a causal LM and its tokenizer, in eval mode, on CPU or the first GPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_ref(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32)
    except OSError as exc:
        raise DataProblem(f"cannot load model `{path}`: {str(exc).splitlines()[0]}; "
                          "pass hf:ORG/NAME or the path of a saved model folder") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if torch.cuda.is_available():
        model = model.to("cuda")
    model.eval()
    return model, tokenizer


def _read_jsonl(path: str | Path, what: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise DataProblem(f"{what} file `{p}` not found; pass a JSONL file")
    rows = [row for _, row in json_lines(p, objects=True, error=DataProblem)]
    if not rows:
        raise DataProblem(f"{what} file `{p}` is empty")
    return rows


def _texts(value) -> list[str]:
    """EasyEdit fields hold a string or a list of strings."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, str) and v.strip()]


def easyedit_cases(row: dict, n: int, path, evaluation: bool = False) -> list[Case]:
    """One EasyEdit edit record -> cases. The edit itself is `prompt` -> `target_new` (its known wrong
    answer `ground_truth` kept as the error); for evaluation its `rephrase_prompt`s join the edit's
    group (generalization) and `locality_prompt`s with `locality_ground_truth` form their own
    group (specificity: the model must keep answering them as before)."""
    prompt, target = row.get("prompt"), row.get("target_new")
    if isinstance(target, list):
        target = target[0] if target else None
    if not isinstance(prompt, str) or not isinstance(target, str) or not target.strip():
        raise DataProblem(f"{path}: EasyEdit row {n} needs string fields `prompt` and `target_new`")
    truth = row.get("ground_truth")
    truth = truth[0] if isinstance(truth, list) and truth else truth
    group = str(row.get("group") or row.get("subject") or f"edit-{n}")
    cases = [Case(prompt, target, group, truth if isinstance(truth, str) and truth != "<|endoftext|>" else None)]
    if evaluation:
        cases += [Case(p, target, group) for p in _texts(row.get("rephrase_prompt"))]
        local_truths = _texts(row.get("locality_ground_truth"))
        cases += [Case(p, t, f"{group}-locality") for p, t in zip(_texts(row.get("locality_prompt")), local_truths)]
    return cases


def read_cases(path: str | Path, evaluation: bool = False) -> list[Case]:
    """Cases `{"prompt","target","group"}`; error rows `{"prompt","error","desired"}` and EasyEdit
    records `{"prompt","target_new","ground_truth","rephrase_prompt","locality_prompt"}` are accepted too."""
    cases = []
    for n, row in enumerate(_read_jsonl(path, "cases"), 1):
        if "target_new" in row:
            cases += easyedit_cases(row, n, path, evaluation)
            continue
        target = row.get("target", row.get("desired"))
        if not isinstance(row.get("prompt"), str) or not isinstance(target, str) or not target.strip():
            raise DataProblem(f"{path}: row {n} needs string fields `prompt` and `target` (or `desired`)")
        cases.append(Case(row["prompt"], target, str(row.get("group", "default")), row.get("error")))
    return cases


def read_error_data(path: str | Path) -> list[Case]:
    cases = []
    for n, row in enumerate(_read_jsonl(path, "error data"), 1):
        if "target_new" in row:  # EasyEdit: the wrong answer is ground_truth, the desired one target_new
            case = easyedit_cases(row, n, path)[0]
            if not case.error:
                raise DataProblem(f"{path}: EasyEdit row {n} needs `ground_truth` (the wrong answer) for IRepair")
            cases.append(Case(case.prompt, case.target, str(row.get("group", "error")), case.error))
            continue
        if not all(isinstance(row.get(k), str) and row.get(k) for k in ("prompt", "error", "desired")):
            raise DataProblem(f"{path}: row {n} needs string fields `prompt`, `error` and `desired`")
        cases.append(Case(row["prompt"], row["desired"], str(row.get("group", "error")), row["error"]))
    return cases


def read_texts(path: str | Path) -> list[str]:
    """Plain text (one passage per non-empty line) or JSONL with a `text` field."""
    p = Path(path)
    if not p.is_file():
        raise DataProblem(f"text file `{p}` not found; pass plain text or JSONL with a `text` field")
    if p.suffix in {".jsonl", ".json"}:
        texts = []
        for n, row in enumerate(_read_jsonl(p, "text"), 1):
            text = row.get("text") or (row.get("prompt", "") + joiner(row.get("prompt", ""), row.get("target", "")) + row.get("target", "") if "target" in row else None)
            if not isinstance(text, str) or not text.strip():
                raise DataProblem(f"{p}: row {n} needs a `text` field")
            texts.append(text)
    else:
        texts = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not texts:
        raise DataProblem(f"text file `{p}` is empty")
    return texts


def joiner(prompt: str, continuation: str) -> str:
    """A space between prompt and continuation unless one side already has whitespace."""
    if not prompt or not continuation or prompt[-1].isspace() or continuation[0].isspace():
        return ""
    return " "


def encode_pair(tokenizer, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of the prompt and of the continuation as they appear after it."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + joiner(prompt, continuation) + continuation)["input_ids"]
    if full_ids[: len(prompt_ids)] == prompt_ids and len(full_ids) > len(prompt_ids):
        cont = full_ids[len(prompt_ids):]
    else:  # the tokenizer merged across the boundary: fall back to separate encoding
        cont = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is not None and cont and cont[-1] == tokenizer.eos_token_id:
        cont = cont[:-1]  # some tokenizers append EOS; the repair target is the text only
    if not cont:
        raise DataProblem(f"continuation {continuation!r} encodes to no tokens")
    return list(prompt_ids), list(cont)
