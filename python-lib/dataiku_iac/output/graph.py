"""The dependency graph of a configuration as text (Graphviz DOT, Mermaid) and as a picture (a
small layered layout, drawn as SVG by `to_svg` or by the console's page from `Layout.to_json`).

Edges follow `terraform graph`: `A -> B` says A depends on B (B is created first). Drawn right to
left (DOT's `rankdir = "RL"`, Mermaid's `flowchart RL`, the SVG's columns), so what is created
first stands on the left and a Flow reads from its inputs to its outputs. Everything is ordered
(graphs.DependencyGraph), so the same configuration always gives the same bytes.

The layout needs no browser library (the console must work offline inside DSS): each node's
column is the length of the longest chain of dependencies under it; within a column, nodes are
ordered by project, then by the mean position of their dependencies (one barycentre pass each
way, which removes most crossings of a Flow), then by address.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from dataiku_iac.graphs import DependencyGraph, GraphNode
from dataiku_iac.resources.registry import find_spec

FORMATS = ("dot", "mermaid", "svg")
NODE_WIDTH, NODE_HEIGHT = 190, 42
COLUMN_GAP, ROW_GAP, MARGIN = 70, 14, 16
LABEL_CHARS = 26  # a longer name is cut, with "…" (the full address is the node's tooltip)
OTHER_COLOR = "#707070"  # a type whose spec names no colour (each spec holds its own: `color`)


def render(graph: DependencyGraph, fmt: str, *, title: str = "") -> str:
    if fmt == "dot":
        return to_dot(graph, title=title)
    if fmt == "mermaid":
        return to_mermaid(graph)
    if fmt == "svg":
        return to_svg(layout(graph), title=title)
    raise ValueError(f"unknown graph format {fmt!r} (one of {', '.join(FORMATS)})")


# -- text ------------------------------------------------------------------------------------------
def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: DependencyGraph, *, title: str = "") -> str:
    """Graphviz DOT: one cluster per project, `A -> B` when A depends on B."""
    lines = ["digraph \"dataiku-iac\" {"]
    if title:
        lines.append(f"  label = {_dot_string(title)};")
    lines += [
        "  rankdir = \"RL\";",
        "  compound = \"true\";",
        "  node [shape = \"box\", style = \"rounded\", fontname = \"Helvetica\"];",
    ]
    for index, project in enumerate(graph.projects()):
        lines.append(f"  subgraph \"cluster_{index}\" {{")
        lines.append(f"    label = {_dot_string('project ' + project)};")
        for node in graph.nodes:
            if node.project == project:
                lines.append(f"    {_dot_string(node.address)} [label = {_dot_string(_label(node))}];")
        lines.append("  }")
    for dependent, dependency in graph.edges:
        lines.append(f"  {_dot_string(dependent)} -> {_dot_string(dependency)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """A label inside Mermaid's double quotes: its own quotes and markup characters as entities."""
    return "".join({'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;"}.get(c, c) for c in text)


def to_mermaid(graph: DependencyGraph) -> str:
    """A Mermaid flowchart: one subgraph per project, `A --> B` when A depends on B. Node ids are
    `n0`, `n1`… in node order (addresses hold dots, which Mermaid ids cannot)."""
    ids = {node.address: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = ["flowchart RL"]
    for index, project in enumerate(graph.projects()):
        lines.append(f"  subgraph p{index}[\"project {_mermaid_text(project)}\"]")
        for node in graph.nodes:
            if node.project == project:
                label = _mermaid_text(node.type) + "<br/>" + _mermaid_text(node.name)
                lines.append(f"    {ids[node.address]}[\"{label}\"]")
        lines.append("  end")
    for dependent, dependency in graph.edges:
        lines.append(f"  {ids[dependent]} --> {ids[dependency]}")
    return "\n".join(lines) + "\n"


def _label(node: GraphNode) -> str:
    return f"{node.type}\n{node.name}"


# -- layout ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlacedNode:
    node: GraphNode
    column: int
    row: int
    x: int
    y: int


@dataclass(frozen=True)
class Layout:
    """Where each node goes (columns left to right, rows top to bottom) and the edges between
    them; `hidden_project_edges`: the edges to a project node left out of the picture (every
    object depends on its project; the node colours and tooltips say which)."""

    nodes: tuple[PlacedNode, ...]
    edges: tuple[tuple[str, str], ...]
    width: int
    height: int
    hidden_project_edges: int

    def to_json(self) -> dict[str, Any]:
        """What the console's page draws (as text and attributes, never markup)."""
        return {
            "width": self.width,
            "height": self.height,
            "node_width": NODE_WIDTH,
            "node_height": NODE_HEIGHT,
            "nodes": [
                {"address": p.node.address, "type": p.node.type, "project": p.node.project, "name": p.node.name,
                 "label": _short(p.node.name), "x": p.x, "y": p.y, "color": color_of(p.node.type)}
                for p in self.nodes
            ],
            "edges": [{"from": a, "to": b} for a, b in self.edges],
            "hidden_project_edges": self.hidden_project_edges,
        }


def color_of(type_: str) -> str:
    spec = find_spec(type_)
    return spec.color if spec is not None and spec.color else OTHER_COLOR


def layout(graph: DependencyGraph, *, project_edges: bool = False) -> Layout:
    """Columns by longest chain of dependencies; rows by project, barycentre, address."""
    types = {n.address: n.type for n in graph.nodes}
    drawn = tuple(e for e in graph.edges if project_edges or types.get(e[1]) != "project")
    dependencies: dict[str, list[str]] = {n.address: [] for n in graph.nodes}
    dependents: dict[str, list[str]] = {n.address: [] for n in graph.nodes}
    for dependent, dependency in graph.edges:  # the columns follow every dependency, drawn or not
        dependencies[dependent].append(dependency)
        dependents[dependency].append(dependent)
    column = _columns(graph, dependencies, dependents)
    order = {n.address: (n.project, i) for i, n in enumerate(graph.nodes)}
    columns: dict[int, list[str]] = {}
    for node in graph.nodes:
        columns.setdefault(column[node.address], []).append(node.address)
    rows = _rows(columns, order, dependencies, dependents)
    by_address = {n.address: n for n in graph.nodes}
    placed = tuple(
        PlacedNode(by_address[a], column[a], rows[a], MARGIN + column[a] * (NODE_WIDTH + COLUMN_GAP),
                   MARGIN + rows[a] * (NODE_HEIGHT + ROW_GAP))
        for a in sorted(by_address, key=lambda a: (column[a], rows[a]))
    )
    width = 2 * MARGIN + max(len(columns), 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    tallest = max((len(c) for c in columns.values()), default=1)
    height = 2 * MARGIN + tallest * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    return Layout(placed, drawn, width, height, len(graph.edges) - len(drawn))


def _columns(graph: DependencyGraph, dependencies: dict[str, list[str]], dependents: dict[str, list[str]]) -> dict[str, int]:
    """Each node's column: 0 without dependencies, else one more than its highest dependency
    (Kahn's order; a node left on a cycle, which the builder refuses, goes after the rest)."""
    waiting = {a: len(deps) for a, deps in dependencies.items()}
    column = {a: 0 for a in dependencies}
    ready = [n.address for n in graph.nodes if waiting[n.address] == 0]
    done: set[str] = set()
    while ready:
        address = ready.pop()
        done.add(address)
        for dependent in dependents[address]:
            column[dependent] = max(column[dependent], column[address] + 1)
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    last = max(column.values(), default=0) + 1
    for address in dependencies:
        if address not in done:
            column[address] = last
    return column


def _rows(
    columns: dict[int, list[str]], order: dict[str, tuple[str, int]],
    dependencies: dict[str, list[str]], dependents: dict[str, list[str]],
) -> dict[str, int]:
    row: dict[str, int] = {}
    for index in sorted(columns):  # first placement: project, then graph order
        for position, address in enumerate(sorted(columns[index], key=order.__getitem__)):
            row[address] = position
    for neighbours, indexes in ((dependencies, sorted(columns)), (dependents, sorted(columns, reverse=True))):
        for index in indexes:
            members = columns[index]
            members.sort(key=lambda a: (order[a][0], _barycentre(a, neighbours, row), order[a][1]))
            for position, address in enumerate(members):
                row[address] = position
    return row


def _barycentre(address: str, neighbours: dict[str, list[str]], row: dict[str, int]) -> float:
    placed = [row[n] for n in neighbours[address] if n in row]
    return sum(placed) / len(placed) if placed else float(row[address])


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


# -- SVG -------------------------------------------------------------------------------------------
def to_svg(placed: Layout, *, title: str = "") -> str:
    """The layout as a standalone SVG document (no script, no external reference)."""
    where = {p.node.address: p for p in placed.nodes}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{placed.width}" height="{placed.height}" '
        f'viewBox="0 0 {placed.width} {placed.height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{html.escape(title or 'dataiku-iac dependency graph')}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>',
    ]
    for dependent, dependency in placed.edges:
        parts.append(f'<path d="{edge_path(where[dependent], where[dependency])}" fill="none" stroke="#888" '
                     f'stroke-width="1.2" marker-end="url(#arrow)"><title>{html.escape(dependent)} depends on '
                     f'{html.escape(dependency)}</title></path>')
    for p in placed.nodes:
        color = color_of(p.node.type)
        parts.append(
            f'<g><title>{html.escape(p.node.address)}</title>'
            f'<rect x="{p.x}" y="{p.y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="6" fill="#fff" '
            f'stroke="{color}" stroke-width="1.5"/>'
            f'<rect x="{p.x}" y="{p.y}" width="5" height="{NODE_HEIGHT}" fill="{color}"/>'
            f'<text x="{p.x + 12}" y="{p.y + 16}" fill="{color}" font-size="10">'
            f'{html.escape(p.node.type)} · {html.escape(p.node.project)}</text>'
            f'<text x="{p.x + 12}" y="{p.y + 32}" fill="#222">{html.escape(_short(p.node.name))}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def edge_path(dependent: PlacedNode, dependency: PlacedNode) -> str:
    """From the dependent's left side to the dependency's right side, a gentle S curve."""
    x1, y1 = dependent.x, dependent.y + NODE_HEIGHT // 2
    x2, y2 = dependency.x + NODE_WIDTH, dependency.y + NODE_HEIGHT // 2
    bend = max(20, (x1 - x2) // 2)
    return f"M {x1} {y1} C {x1 - bend} {y1}, {x2 + bend} {y2}, {x2} {y2}"
