"""The Flow as the configuration declares it, for the test runner: which recipes a build runs,
in which order, and which datasets a test touches (so that tests sharing none run in parallel)."""

from __future__ import annotations

from typing import Optional

from .loader import ProjectView
from .model import PYTHON, TestCase


def recipes_to_run(view: ProjectView, targets: tuple[str, ...], recursive: bool, stop_at: set[str]) -> list[str]:
    """The recipes a build of `targets` runs, upstream first. Recursive: every recipe above the
    targets, stopping at `stop_at` (the datasets a test gives rows to: rebuilding them would
    overwrite the fixtures) and at datasets no recipe produces."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(dataset: str, top: bool) -> None:
        if dataset in stop_at and not top:
            return
        recipe = view.producer(dataset)
        if recipe is None or recipe in seen:
            return
        seen.add(recipe)
        inputs, _outputs = view.recipes[recipe]
        if recursive:
            for name in inputs:
                visit(name, False)
        order.append(recipe)

    for target in targets:
        visit(target, True)
    return order


def sources_of(view: ProjectView, recipes: list[str]) -> set[str]:
    """The inputs of `recipes` that none of them produces: what the build reads as given."""
    produced = {o for r in recipes for o in view.recipes[r][1]}
    return {i for r in recipes for i in view.recipes[r][0] if i not in produced}


def touched(view: Optional[ProjectView], test: TestCase) -> set[str]:
    """Every dataset the test reads or writes, the datasets its build rewrites included. A Python
    test's are known only once it runs: it holds all of its project's datasets (under --parallel
    it waits for the other tests of its project, and they for it), unless it declares them with
    `@uses(...)`: then those and what a recursive build of them reads and writes."""
    if test.kind == PYTHON:
        if view is None:
            return set()
        return closure(view, test.uses) if test.uses is not None else set(view.datasets)
    names = test.datasets()
    if view is not None and test.build is not None:
        recipes = recipes_to_run(view, test.build.datasets, test.build.recursive, set(test.given))
        names |= {o for r in recipes for o in view.recipes[r][1]} | sources_of(view, recipes)
    return names


def closure(view: ProjectView, datasets: tuple[str, ...]) -> set[str]:
    """`datasets` and every dataset a recursive build of them reads or writes (what a Python
    test declaring `@uses(*datasets)` may touch)."""
    produced = tuple(d for d in datasets if view.producer(d) is not None)
    recipes = recipes_to_run(view, produced, True, set())
    return set(datasets) | {o for r in recipes for o in view.recipes[r][1]} | sources_of(view, recipes)
