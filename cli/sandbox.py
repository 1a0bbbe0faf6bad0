"""`patchwarden sandbox` (issue #2)."""
import typer

from cli.common import not_built

app = typer.Typer(no_args_is_help=False, invoke_without_command=True)


@app.callback()
def _placeholder(ctx: typer.Context):
    not_built("sandbox", "issue #2")
