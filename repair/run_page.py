"""One repair run as a single self-contained HTML page (`patchwarden show RUN_DIR --html OUT`):
result, baseline tests, the localization ranking with its evidence, candidates with their
verdicts, the patch, the bouncers' decisions, model calls, and every other artifact as it is."""
from __future__ import annotations

import json

from .htmlpage import e, num, page, table, td


def _json_block(value) -> str:
    return f"<pre>{e(json.dumps(value, indent=2, default=str))}</pre>"


def _kv(pairs: list[tuple[str, object]]) -> str:
    rows = [[td(k), td(v if isinstance(v, str) else json.dumps(v, default=str))] for k, v in pairs if v not in (None, "", [], {})]
    return table(["", ""], rows, sortable=False) if rows else ""


def _details(title: str, body: str) -> str:
    return f"<details><summary>{e(title)}</summary>{body}</details>"


def render_html(run: dict) -> str:
    r, cfg = run["result"], run["config"] or {}
    status = r.get("status", "unknown")
    parts = [f"<h1>Repair run <code>{e(run['run_dir'].rstrip('/').split('/')[-1])}</code>: <span class='{e(status)}'>{e(status)}</span></h1>",
             f"<p>{e(r.get('message', ''))}</p>"]
    parts.append(_kv([
        ("repository", cfg.get("repo")), ("test command", cfg.get("test_cmd")), ("engine", cfg.get("engine")),
        ("model", cfg.get("model")), ("sandbox", run["baseline"].get("backend") or cfg.get("sandbox")),
        ("wall time (s)", r.get("wall_time")), ("validation time (s)", r.get("validate_time")),
        ("candidates", f"{r.get('candidates_generated', 0)} generated, {r.get('candidates_validated', 0)} validated, "
                       f"{len(r.get('plausible_ids') or [])} plausible" if r else None),
        ("model calls", f"{r.get('calls', 0)} calls, {r.get('tokens', 0)} tokens, ${r.get('cost', 0.0):.4f}" if r.get("calls") else None),
        ("trigger tests", ", ".join(r.get("trigger_tests") or [])), ("notes", "; ".join(r.get("notes") or [])),
    ]))
    if run["result_extra"]:  # keys other helpers add (confirmation, stop_reason, ...): shown as they are
        parts.append("<h2>More results</h2>" + "".join(_details(k, _json_block(v)) if isinstance(v, (dict, list)) else _kv([(k, v)])
                                                    for k, v in run["result_extra"].items()))

    tests = run["tests"]
    bad = sum(t["status"] in ("failed", "error") for t in tests)
    parts.append(f"<h2>Baseline: {len(tests)} tests, {bad} failing</h2>")
    parts.append(table(["Test", "Status", "Time (s)", "Message"], [
        [td(t["nodeid"]), td(t["status"], cls=t["status"]), num(t["duration"]), td(t["message"][:300])] for t in tests]))
    for t in tests:
        if t["traceback"]:
            parts.append(_details(f"traceback of {t['nodeid']}", f"<pre>{e(t['traceback'])}</pre>"))

    parts.append("<h2>Localization</h2>")
    parts.append(table(["Rank", "Function", "Score", "Lines", "Evidence"], [
        [num(i + 1, "{}"), td(s.get("function", "?")), num(s.get("score"), "{:.3f}"),
         td("-".join(map(str, s.get("lines") or []))), td("\n".join(s.get("evidence") or []), pre=True)]
        for i, s in enumerate(run["localization"])]))

    cands = run["candidates"]
    parts.append(f"<h2>Candidates ({len(cands)})</h2>")
    rows = []
    for c in cands:
        v = c["verdict"] or {}
        verdict = v.get("status", "not validated")
        why = v.get("message") or ", ".join((v.get("newly_failing") or v.get("failing") or [])[:3])
        rows.append([td(c["id"] + (" (chosen)" if c["best"] else "")), td(c["engine"]), td(c["description"]),
                     td(", ".join(c["functions"])), td(verdict, cls=verdict), td(v.get("stage", "")),
                     num(v.get("duration")), td(why[:300])])
    parts.append(table(["Candidate", "Engine", "Description", "Functions", "Verdict", "Stage", "Time (s)", "Why"], rows, id="candidates"))
    for c in cands:
        if c["best"] and c["new_source"]:
            parts.append(_details(f"new source of the chosen candidate {c['id']}", f"<pre>{e(c['new_source'])}</pre>"))

    parts.append("<h2>Patch</h2>" + (f"<pre>{e(run['patch'])}</pre>" if run["patch"] else "<p>no patch</p>"))

    for side, decision in run["bounce"].items():
        decision = decision or {}
        verdict = "bounced" if decision.get("bounce") else "accepted"
        parts.append(f"<h2>{e(side.title())} bouncer: {verdict}</h2><p>{e(str(decision.get('explanation', '')))}</p>")
        parts.append(_details("decision and evidence", _json_block(decision)))

    calls = run["model_calls"]
    if calls:
        parts.append(f"<h2>Model calls ({len(calls)})</h2>")
        parts.append(table(["#", "Model", "Prompt tokens", "Completion tokens", "Latency (s)", "Cost ($)", "Error"], [
            [num(i + 1, "{}"), td(c.get("model", "?")), num(c.get("prompt_tokens"), "{}"), num(c.get("completion_tokens"), "{}"),
             num(c.get("latency")), num(c.get("cost"), "{:.4f}"), td(c.get("error", ""))] for i, c in enumerate(calls)]))
        for i, c in enumerate(calls):
            messages = "\n\n".join(f"[{m.get('role')}]\n{m.get('content')}" for m in c.get("messages") or [])
            answers = "\n\n---\n\n".join(c.get("responses") or [])
            parts.append(_details(f"call {i + 1}: messages and responses", f"<pre>{e(messages)}</pre><pre>{e(answers)}</pre>"))

    if run["other"]:
        parts.append("<h2>Other artifacts</h2>")
        parts += [_details(name, _json_block(value) if not isinstance(value, str) else f"<pre>{e(value)}</pre>")
                  for name, value in run["other"].items()]
    if run["config"]:
        parts.append("<h2>Configuration</h2>" + _details("config.json", _json_block(run["config"])))
    return page(f"patchwarden run {status}", "".join(parts))
