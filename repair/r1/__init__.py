"""Repair-R1: test-then-repair policies trained with GRPO (arXiv 2507.22853).

Modules, one job each:
- `answer`: the answer format (one ```json list of tests, then one ```python fix) and its parser;
- `prompt`: the instruction with its one-shot example;
- `executor`: runs programs plus tests in sandboxes, each test on its own with a timeout;
- `rewards`: the three rewards (format, discriminative tests, repair) as TRL reward functions;
- `mutants`, `dataset`: HumanEvalFix rows, AST mutants of HumanEval, grouped k-fold splits;
- `train`: GRPO training on TRL; `generate`: sampling from a policy; `evaluate`: Bugfix@k, Test, Tcov;
- `policy_engine`: a trained policy as a repair engine for `patchwarden repair --engine policy`.
"""
