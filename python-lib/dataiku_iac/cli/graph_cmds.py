"""`dataiku-iac graph`: the dependency graph of the configuration, offline."""

from __future__ import annotations

import click

from dataiku_iac.cli.main import Context, cli, env_option, handle_errors
from dataiku_iac.engine.session import Session
from dataiku_iac.errors import IacError
from dataiku_iac.graphs import DependencyGraph, dependency_graph
from dataiku_iac.output.graph import FORMATS, render
from dataiku_iac.resources.registry import types


def graph_of(session: Session, targets: tuple = ()) -> DependencyGraph:
    """The configuration's graph (with `targets`: them and what they depend on), from the
    configuration alone: no DSS request, no state read, no secret value."""
    desired = session.offline_desired()
    for target in targets:
        if target not in desired.resources:
            raise IacError(f"--target {target}: no such resource in the configuration")
    return dependency_graph(desired.resources.values(), type_order=types(), targets=targets)


@cli.command()
@env_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="dot", show_default=True,
              help="Graphviz DOT, a Mermaid flowchart, or an SVG picture.")
@click.option("--target", "targets", multiple=True, metavar="ADDR", help="Only this resource and what it depends on (repeatable).")
@click.pass_obj
@handle_errors()
def graph(obj: Context, environment: str, fmt: str, targets: tuple) -> None:
    """Print the dependency graph of the configuration (offline: reads neither DSS nor the state)."""
    session = obj.session(environment)
    found = graph_of(session, targets)
    title = f"dataiku-iac {environment}: {len(found.nodes)} resources, {len(found.edges)} dependencies"
    click.echo(render(found, fmt, title=title), nl=False)
