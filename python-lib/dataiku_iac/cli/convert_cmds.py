"""`dataiku-iac convert`: a project file from YAML to Python, or from Python to YAML (dsl/convert.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from dataiku_iac.cli.main import Context, cli, handle_errors
from dataiku_iac.dsl.convert import convert_file
from dataiku_iac.errors import IacError


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the converted file here (default: standard output).")
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
@click.pass_obj
@handle_errors()
def convert(obj: Context, file: Path, output: Optional[Path], force: bool) -> None:
    """Convert a project file: YAML (projects/NAME.yml) to Python, Python (projects/NAME.py) to YAML.

    Both files load to the same data, so they plan the same. YAML comments are not carried
    over; a Python file's loops and functions are expanded (its YAML is its result). Running a
    Python file runs its code. Keep one of the two files: both declare the same project.
    """
    root = obj.root.resolve()
    rel = _inside(root, file)
    text, suffix = convert_file(root, rel)
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise IacError(f"{output} exists; pass --force to overwrite it")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output} from {rel}.", err=True)
    if output.suffix != suffix:
        click.echo(f"Note: a {suffix} file's name ends in {suffix}; the loader reads projects/*.yml, *.yaml and *.py.", err=True)
    click.echo(f"Remove {rel} (or move it out of projects/): both files declare the same project.", err=True)


def _inside(root: Path, file: Path) -> str:
    """FILE as a path relative to the configuration directory (-C), which it must be in."""
    path = file if file.is_absolute() else Path.cwd() / file
    if not path.exists() and not file.is_absolute():
        path = root / file  # `-C DIR convert projects/x.yml`
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise IacError(f"{file} is not inside the configuration directory {root} (-C DIR)") from None
    if not (root / rel).is_file():
        raise IacError(f"{file}: no such file")
    if not rel.endswith((".yml", ".yaml", ".py")):
        raise IacError(f"{file}: a project file is .yml, .yaml or .py")
    return rel
