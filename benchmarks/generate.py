"""Generate benchmark configurations of N resources.

A realistic mix, per project of about 250 resources (N = 100 gives 2 projects of 50):
- about 4% managed folders and 4% scenarios;
- of the rest, 40% recipes and 60% datasets: a layer of source datasets (filesystem and
  managed), then recipes (python, sync, shell) chaining them in layers, each writing one
  new dataset (every tenth recipe writes a managed folder instead);
- scenarios rebuild the last layer on a schedule and when a source changes.

`changed=True` gives the same configuration with 5% of the resources modified (spread
evenly over every project and type: a folder's description, a dataset's tags, a recipe's
code, a scenario's trigger): the "apply changing 5% of resources" step of the benchmark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_SIZE = 250  # resources per project once N is large enough
CHANGED_FRACTION = 0.05  # the "apply changing 5% of resources" step


@dataclass
class ProjectSpec:
    key: str
    folders: list[dict] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    recipes: list[dict] = field(default_factory=list)
    scenarios: list[dict] = field(default_factory=list)

    @property
    def size(self) -> int:
        return 1 + len(self.folders) + len(self.datasets) + len(self.recipes) + len(self.scenarios)


def project_count(n: int) -> int:
    return max(2, math.ceil(n / PROJECT_SIZE))


def split_sizes(n: int, parts: int) -> list[int]:
    base, extra = divmod(n, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def make_project(key: str, size: int, changes: int = 0) -> ProjectSpec:
    """One project of exactly `size` resources (the project itself included), `changes` of
    them modified."""
    spec = ProjectSpec(key)
    n_folders = max(1, round(size * 0.04))
    n_scenarios = max(1, round(size * 0.04))
    rest = size - 1 - n_folders - n_scenarios
    n_recipes = int(rest * 0.4)
    n_folder_writers = min(n_folders, n_recipes // 10)
    n_datasets = rest - n_recipes
    n_sources = n_datasets - (n_recipes - n_folder_writers)
    assert n_sources >= 1, (size, n_sources)
    for i in range(n_folders):
        spec.folders.append({"name": f"folder_{i}", "description": f"Reports {i}"})

    layer: list[str] = []
    for i in range(n_sources):
        name = f"src_{i}"
        if i % 3 == 0:
            ds: dict[str, Any] = {
                "name": name,
                "type": "filesystem",
                "connection": "filesystem_managed",
                "path": f"/landing/{key.lower()}/{name}",
                "format": "csv",
                "format_params": {"separator": ",", "parseHeaderRow": True},
            }
        else:
            ds = {"name": name, "type": "managed", "format": "parquet"}
        ds["description"] = f"Source {i}"
        ds["tags"] = ["source", f"team{i % 4}"]
        ds["schema"] = {"columns": _columns(i)}
        spec.datasets.append(ds)
        layer.append(name)

    outputs_done = 0
    next_layer: list[str] = []
    position = 0
    for i in range(n_recipes):
        if position >= len(layer):  # start the next layer of the Flow
            layer, next_layer, position = next_layer or layer, [], 0
        source = layer[position]
        position += 1
        kind = ("python", "sync", "python", "shell", "python")[i % 5]
        recipe: dict[str, Any] = {"name": f"compute_{i}", "type": kind, "inputs": [source]}
        if i % 10 == 9 and outputs_done < n_folder_writers:
            recipe["outputs"] = [f"folder_{outputs_done}"]
            outputs_done += 1
        else:
            out = f"ds_{i}"
            spec.datasets.append(
                {
                    "name": out,
                    "type": "managed",
                    "format": "parquet" if i % 2 else "csv",
                    "description": f"Computed by compute_{i}",
                    "schema": {"columns": _columns(i + 1)},
                }
            )
            recipe["outputs"] = [out]
            next_layer.append(out)
        if kind == "python":
            recipe["code"] = f"import dataiku\n# step {i}: read {source}, write {recipe['outputs'][0]}\nrows = dataiku.Dataset({source!r}).get_dataframe()\n"
            recipe["code_env"] = "inherit"
        elif kind == "shell":
            recipe["code"] = f"echo 'step {i}'\n"
        recipe["description"] = f"Layer step {i}"
        spec.recipes.append(recipe)

    derived = [d["name"] for d in spec.datasets if d["name"].startswith("ds_")] or [layer[0]]
    for i in range(n_scenarios):
        scenario: dict[str, Any] = {
            "id": f"BUILD_{i}",
            "name": f"Build {i}",
            "active": i % 2 == 0,
            "triggers": [
                {"type": "temporal", "frequency": "Daily", "hour": (2 + i) % 24, "minute": 30, "starting_from": "2024-01-01"},
                {"type": "dataset_change", "datasets": [f"src_{i % n_sources}"], "grace_delay_seconds": 60},
            ],
            "steps": [
                {"type": "build", "name": "Build outputs", "datasets": derived[-(i % 5 + 1) :][:3], "job_type": "RECURSIVE_BUILD"},
                {"type": "set_variables", "variables": {"last_build": f"scenario {i}"}},
            ],
            "description": f"Rebuild {i}",
        }
        spec.scenarios.append(scenario)
    assert spec.size == size, (spec.size, size)
    _modify(spec, changes)
    return spec


def _modify(spec: ProjectSpec, changes: int) -> None:
    """Modify `changes` objects spread evenly over the project (every type gets its share)."""
    items = [("folder", f) for f in spec.folders] + [("dataset", d) for d in spec.datasets]
    items += [("recipe", r) for r in spec.recipes] + [("scenario", s) for s in spec.scenarios]
    for k in range(changes):
        kind, item = items[int((k + 0.5) * len(items) / changes)]
        if kind == "folder":
            item["description"] += " (revised)"
        elif kind == "dataset":
            item["tags"] = [*item.get("tags", []), "reviewed"]
        elif kind == "recipe" and "code" in item:
            item["code"] += "# revised\n"
        elif kind == "recipe":
            item["description"] += " (revised)"
        else:
            trigger = item["triggers"][0]
            trigger["hour"] = (trigger["hour"] + 1) % 24


def _columns(seed: int) -> list[dict]:
    types = ("bigint", "string", "double", "date", "boolean")
    return [{"name": f"col_{j}", "type": types[(seed + j) % len(types)]} for j in range(3 + seed % 4)]


def project_document(spec: ProjectSpec, index: int) -> dict:
    doc: dict[str, Any] = {
        "project": {
            "key": spec.key,
            "name": f"Benchmark project {index}",
            "description": "Generated by benchmarks/generate.py",
            "tags": ["benchmark"],
            "variables": {"standard": {"region": "eu", "index": index}},
        }
    }
    for key, items in (("managed_folders", spec.folders), ("datasets", spec.datasets), ("recipes", spec.recipes), ("scenarios", spec.scenarios)):
        if items:
            doc[key] = items
    return doc


def generate(root: Path, n: int, *, changed: bool = False, env: str = "bench") -> list[ProjectSpec]:
    """Write a configuration of exactly `n` resources into `root` (replacing its projects)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "projects").mkdir(exist_ok=True)
    (root / "environments").mkdir(exist_ok=True)
    for old in (root / "projects").glob("*.yml"):
        old.unlink()
    (root / "iac.yml").write_text(
        "version: 1\n"
        "defaults:\n  dataset:\n    connection: filesystem_managed\n  managed_folder:\n    connection: filesystem_folders\n"
        "state:\n  backend: local\n",
        encoding="utf-8",
    )
    (root / "environments" / f"{env}.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n", encoding="utf-8")
    specs = []
    parts = project_count(n)
    changes = split_sizes(round(n * CHANGED_FRACTION) if changed else 0, parts)
    for index, size in enumerate(split_sizes(n, parts)):
        spec = make_project(f"BENCH_{index:03d}", size, changes[index])
        specs.append(spec)
        text = yaml.safe_dump(project_document(spec, index), sort_keys=False, width=200)
        (root / "projects" / f"bench_{index:03d}.yml").write_text(text, encoding="utf-8")
    return specs


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("root", type=Path)
    parser.add_argument("--changed", action="store_true")
    args = parser.parse_args()
    specs = generate(args.root, args.n, changed=args.changed)
    print(f"{sum(s.size for s in specs)} resources in {len(specs)} projects under {args.root}")
