"""Repair-R1: test-then-repair policies trained with GRPO (arXiv 2507.22853).

Modules, one job each:
- `answer`: the answer format (one ```json list of tests, then one ```python fix) and its parser;
- `prompt`: the instruction with its one-shot example;
- `fork_runner`: runs programs plus tests on the warm fork-server pool, each test on its own with a timeout;
- `rewards`: the three rewards (format, discriminative tests, repair) as TRL reward functions;
- `mutants`, `dataset`: HumanEvalFix rows, AST mutants of HumanEval, grouped k-fold splits;
- `train`: GRPO training on TRL, `metrics`: metrics.jsonl and the reward plot;
- `policy_model`: loading a policy (any model spec) and fitting prompts to its context; `evaluate`: Bugfix@k, Test, Tcov;
- `tiny_model`: a tiny random model with a tokenizer trained on the spot (tests, toy benchmark);
(The policy as a repair engine, `patchwarden repair --engine policy`, is repair/engines/policy.py.)
"""
