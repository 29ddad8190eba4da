"""`dataiku-iac graph` (issue 15 §7): the configuration's dependency graph as DOT, Mermaid and SVG,
byte for byte the same for the same configuration, whatever order its resources come in."""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.graphs import DependencyGraph, GraphNode, dependency_graph
from dataiku_iac.output.graph import (
    FORMATS,
    NODE_WIDTH,
    OTHER_COLOR,
    color_of,
    layout,
    render,
    to_dot,
    to_mermaid,
    to_svg,
)
from dataiku_iac.resources.registry import find_spec, registered, specs, types

from tests.support import throwaway_type

CASE = Path(__file__).resolve().parents[1] / "golden" / "full_project_create" / "config"
P = "DEMO_PROJECT"

DOT = f'''\
digraph "dataiku-iac" {{
  label = "demo";
  rankdir = "RL";
  compound = "true";
  node [shape = "box", style = "rounded", fontname = "Helvetica"];
  subgraph "cluster_0" {{
    label = "project {P}";
    "project.{P}" [label = "project\\n{P}_DEV"];
    "managed_folder.{P}.models" [label = "managed_folder\\nmodels"];
    "dataset.{P}.orders_clean" [label = "dataset\\norders_clean"];
    "dataset.{P}.orders_raw" [label = "dataset\\norders_raw"];
    "recipe.{P}.clean_orders" [label = "recipe\\nclean_orders"];
    "recipe.{P}.train" [label = "recipe\\ntrain"];
    "scenario.{P}.NIGHTLY" [label = "scenario\\nNIGHTLY"];
  }}
  "dataset.{P}.orders_clean" -> "project.{P}";
  "dataset.{P}.orders_raw" -> "project.{P}";
  "managed_folder.{P}.models" -> "project.{P}";
  "recipe.{P}.clean_orders" -> "dataset.{P}.orders_clean";
  "recipe.{P}.clean_orders" -> "dataset.{P}.orders_raw";
  "recipe.{P}.clean_orders" -> "project.{P}";
  "recipe.{P}.train" -> "dataset.{P}.orders_clean";
  "recipe.{P}.train" -> "managed_folder.{P}.models";
  "recipe.{P}.train" -> "project.{P}";
  "scenario.{P}.NIGHTLY" -> "dataset.{P}.orders_clean";
  "scenario.{P}.NIGHTLY" -> "project.{P}";
}}
'''

MERMAID = f'''\
flowchart RL
  subgraph p0["project {P}"]
    n0["project<br/>{P}_DEV"]
    n1["managed_folder<br/>models"]
    n2["dataset<br/>orders_clean"]
    n3["dataset<br/>orders_raw"]
    n4["recipe<br/>clean_orders"]
    n5["recipe<br/>train"]
    n6["scenario<br/>NIGHTLY"]
  end
  n2 --> n0
  n3 --> n0
  n1 --> n0
  n4 --> n2
  n4 --> n3
  n4 --> n0
  n5 --> n2
  n5 --> n1
  n5 --> n0
  n6 --> n2
  n6 --> n0
'''


def _resources() -> list:
    return list(build_desired(load_config(CASE, "dev"), {}).resources.values())


def _graph(resources: list, targets: tuple = ()) -> DependencyGraph:
    return dependency_graph(resources, type_order=types(), targets=targets)


def test_dot_is_the_configurations_graph() -> None:
    assert to_dot(_graph(_resources()), title="demo") == DOT


def test_mermaid_is_the_configurations_graph() -> None:
    assert to_mermaid(_graph(_resources())) == MERMAID


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_output_does_not_depend_on_the_order_resources_come_in(fmt: str) -> None:
    resources = _resources()
    expected = render(_graph(resources), fmt, title="t")
    for seed in range(5):
        shuffled = resources[:]
        random.Random(seed).shuffle(shuffled)
        assert render(_graph(shuffled), fmt, title="t") == expected


def test_target_keeps_the_target_and_what_it_depends_on() -> None:
    found = _graph(_resources(), targets=(f"recipe.{P}.train",))
    assert [n.address for n in found.nodes] == [
        f"project.{P}", f"managed_folder.{P}.models", f"dataset.{P}.orders_clean", f"recipe.{P}.train",
    ]
    assert (f"recipe.{P}.clean_orders", f"dataset.{P}.orders_clean") not in found.edges


def test_layout_puts_dependencies_left_of_their_dependents() -> None:
    placed = layout(_graph(_resources()))
    column = {p.node.address: p.column for p in placed.nodes}
    assert column[f"project.{P}"] == 0
    assert column[f"dataset.{P}.orders_raw"] == column[f"managed_folder.{P}.models"] == 1
    assert column[f"recipe.{P}.clean_orders"] == column[f"scenario.{P}.NIGHTLY"] == 2
    # every object depends on its project: those edges are counted, not drawn
    assert placed.hidden_project_edges == 6  # the six objects of the project
    assert all(not b.startswith("project.") for _a, b in placed.edges)
    assert all(column[a] > column[b] for a, b in placed.edges)
    positions = {(p.x, p.y) for p in placed.nodes}
    assert len(positions) == len(placed.nodes), "two nodes drawn at one place"
    assert placed.width >= 3 * NODE_WIDTH


def test_layout_json_is_what_the_console_draws() -> None:
    body = layout(_graph(_resources())).to_json()
    node = next(n for n in body["nodes"] if n["address"] == f"recipe.{P}.train")
    assert node["type"] == "recipe" and node["project"] == P and node["label"] == "train"
    assert {"from": f"recipe.{P}.train", "to": f"dataset.{P}.orders_clean"} in body["edges"]


def test_svg_is_a_standalone_document_without_script() -> None:
    text = to_svg(layout(_graph(_resources())), title="demo <graph>")
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert "href" not in text.replace('url(#arrow)', "")
    assert "<title>demo &lt;graph&gt;</title>" in text
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert f"recipe.{P}.train depends on dataset.{P}.orders_clean" in titles


def _odd() -> DependencyGraph:
    node = GraphNode('dataset.K.a"b', "dataset", "K", 'a"b<c>#1')
    project = GraphNode("project.K", "project", "K", "K")
    return DependencyGraph((project, node), ((node.address, project.address),))


def test_names_are_escaped_in_every_format() -> None:
    odd = _odd()
    assert '"dataset.K.a\\"b" [label = "dataset\\na\\"b<c>#1"];' in to_dot(odd)
    assert 'n1["dataset<br/>a#quot;b#lt;c#gt;#35;1"]' in to_mermaid(odd)
    svg = to_svg(layout(odd))
    ET.fromstring(svg)  # well-formed despite the name
    assert "a&quot;b&lt;c&gt;#1" in svg


def test_a_long_name_is_cut_in_pictures_only() -> None:
    long = GraphNode("dataset.K." + "x" * 60, "dataset", "K", "x" * 60)
    graph = DependencyGraph((long,), ())
    assert "x" * 60 in to_dot(graph)
    assert layout(graph).to_json()["nodes"][0]["label"] == "x" * 25 + "…"


def test_dependencies_outside_the_graph_are_not_edges() -> None:
    lone = SimpleNamespace(address="dataset.K.a", type="dataset", config_project="K", name="a", depends_on=("project.K",))
    assert dependency_graph([lone]).edges == ()


def test_each_type_is_drawn_in_its_spec_s_colour_and_a_type_without_one_in_grey() -> None:
    """The colours live in the resource specs (one spec per type, no type table in output/)."""
    drawn = {n["type"]: n["color"] for n in layout(_graph(_resources())).to_json()["nodes"]}
    assert len(drawn) == 5 and len(set(drawn.values())) == 5  # the example's types, told apart
    assert all(color == find_spec(type_).color for type_, color in drawn.items())  # type: ignore[union-attr]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", spec.color) for spec in specs())
    with registered(throwaway_type.SPEC) as spec:
        assert spec.color == "" and color_of(spec.type) == OTHER_COLOR
