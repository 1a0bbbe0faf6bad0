"""Repair options are declared once (repair/options.py): every RepairConfig setting is an option,
and `patchwarden repair` offers exactly the table's flags with the table's defaults and help."""
from dataclasses import fields

import click
from typer.main import get_command

from patchwarden.cli.main import app
from patchwarden.repair.config import RepairConfig
from patchwarden.repair.options import OPTIONS, config_from, option


def _command(*path):
    cmd = get_command(app)
    for name in path:
        cmd = cmd.get_command(click.Context(cmd), name)
    return cmd


def test_every_repair_setting_is_declared_as_an_option():
    not_flags = {"repo", "progress"}  # the REPO argument; --json turns progress off
    assert {f.name for f in fields(RepairConfig)} - not_flags == {o.name for o in OPTIONS}


def test_the_repair_command_offers_the_table_flags_with_their_defaults_and_help():
    params = {p.opts[0]: p for p in _command("repair").params if p.opts[0].startswith("-")}
    for opt in OPTIONS:
        p = params[opt.flag]
        assert tuple(p.opts) == opt.flags and p.help == opt.help and p.default == opt.default, opt.name
    assert params["--memory"].default == 2048 and params["--no-bounce"].default is False


def test_command_line_values_become_config_values():
    from patchwarden.cli.option_table import with_options

    seen = {}

    @with_options([option("functions"), option("bounce"), option("memory_mb")], into="opts")
    def cmd(opts: dict = None):
        seen.update(opts)

    cmd(opt__functions="a.py:f, b.py:C.g", opt__bounce=True, opt__memory_mb=512)
    cfg = config_from(seen, repo=".", test_cmd="pytest")
    assert cfg.functions == ["a.py:f", "b.py:C.g"] and cfg.bounce is False and cfg.memory_mb == 512
