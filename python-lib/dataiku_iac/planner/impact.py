"""Impact analysis: each planned change classified, and what sits downstream of a breaking one.

Pure, as the rest of the planner: a function of the plan's changes, the desired model, the state
and the observation. The categories (docs/impact-analysis.md), mildest first:

- non-breaking: nothing that reads the object is affected (a create, a description, a column added);
- breaking: what reads the object, or runs on it, may fail or read other data: a dataset's column
  removed or retyped, its partitioning, connection or location changed, an object deleted or
  replaced (DSS deletes and re-creates it), a recipe's output removed;
- destructive: stored data is deleted (a delete or replace with --drop-data) or left where the
  object no longer reads it (a managed dataset's connection, path or kind changed: the re-created
  dataset starts empty; a managed folder moved to another connection or path).

What makes a field's change breaking is the type's field policy (`Field.impact`, in
resources/<type>.py); whether deleting an object of a type breaks anything, its spec
(`removal_breaks`), and whether it holds data (`holds_data`). The downstream walk follows the
Flow's links each spec declares (`flow_links`: a recipe reads and writes datasets and folders, a
scenario builds, checks or is triggered by them) over every object that exists once the plan is
applied: the configuration's (or, for objects the configuration does not declare, the state's
record) and the objects dataiku-iac does not manage, as DSS showed them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Optional

from dataiku_iac.address import address_of
from dataiku_iac.graphs import breadth_first
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.observed import Observation
from dataiku_iac.planner.plan import Action, ChangeImpact, Downstream, PlanOptions, ResourceChange
from dataiku_iac.resources.policy import Effect, Impact
from dataiku_iac.resources.registry import find_spec
from dataiku_iac.resources.spec import WRITES, FlowLink, split_ref

WRITTEN_BY = "is written by"  # a recipe's output, seen from below
NO_LONGER_WRITTEN_BY = "is no longer written by"  # an output the recipe stops writing


def analyse(
    changes: list[ResourceChange], desired: DesiredState, state: Any, observed: Observation, options: PlanOptions
) -> list[ResourceChange]:
    """`changes` with their impact: every change but the no-ops classified; the breaking and
    destructive ones with what sits downstream of them."""
    graph: Optional[FlowGraph] = None
    analysed = []
    for change in changes:
        effects = effects_of(change, options)
        if effects is None:
            analysed.append(change)
            continue
        category = max((e.impact for e in effects), key=lambda i: i.rank, default=Impact.NON_BREAKING)
        downstream: tuple[Downstream, ...] = ()
        if category is not Impact.NON_BREAKING:
            graph = graph or FlowGraph.after(changes, desired, state, observed, options)
            downstream = tuple(graph.downstream(change, effects))
        impact = ChangeImpact(category, tuple(dict.fromkeys(e.reason for e in effects)), downstream)
        analysed.append(replace(change, impact=impact))
    return analysed


def effects_of(change: ResourceChange, options: PlanOptions) -> Optional[list[Effect]]:
    """What the change does to what reads the object; None for a no-op or a refresh (state only:
    nothing to classify)."""
    if change.action in (Action.NOOP, Action.REFRESH):
        return None
    if change.action in (Action.CREATE, Action.FORGET):
        return []  # a new object, or one already gone from DSS: nothing read it
    effects = _field_effects(change) if change.action in (Action.UPDATE, Action.REPLACE) else []
    spec = find_spec(change.type)
    if change.action == Action.REPLACE:
        forced = ", ".join(f.name for f in change.field_changes if f.forces_replacement)
        why = f"{forced} cannot change in place" if forced else _replace_cause(change.reason)
        effects.append(Effect(Impact.BREAKING, f"replaced ({why}): DSS deletes the {_label(change)} and creates it again"))
    elif change.action == Action.DELETE and (spec is None or spec.removal_breaks):
        effects.append(Effect(Impact.BREAKING, f"the {_label(change)} is deleted"))
    lost = data_always_lost(change)
    if lost:
        effects.append(Effect(Impact.DESTRUCTIVE, f"DSS deletes {lost} with the {_label(change)}"))
    elif change.action in (Action.DELETE, Action.REPLACE) and options.drop_data and spec is not None and spec.holds_data:
        effects.append(Effect(Impact.DESTRUCTIVE, f"--drop-data: DSS deletes {spec.data_held}"))
    return effects


def data_always_lost(change: ResourceChange) -> Optional[str]:
    """What a delete or replace loses whatever --drop-data says (spec.data_always_deleted: a saved
    model's trained versions), from what the object holds now; None when nothing."""
    spec = find_spec(change.type)
    if change.action not in (Action.DELETE, Action.REPLACE) or spec is None or spec.data_always_deleted is None:
        return None
    return spec.data_always_deleted(change.before or {})


def _replace_cause(reason: str) -> str:
    """Why a replace no field forces happens: asked for with --replace, or its own reason (a
    cascade: "made from what the plan replaces: ml_task.P.t"), without the create's note."""
    cause = (reason or "").split(";")[0].strip()
    return "asked for with --replace" if not cause or "--replace" in cause else cause


def _field_effects(change: ResourceChange) -> list[Effect]:
    spec = find_spec(change.type)
    if spec is None:
        return []
    old, new = change.before or {}, change.after or {}
    effects: list[Effect] = []
    for field_change in change.field_changes:
        rule = spec.policy.get(field_change.name).impact
        if rule is not None and not field_change.sensitive:  # a rule's reason may quote values
            effects.extend(rule(field_change.before, field_change.after, old, new))
    return effects


def _label(change: ResourceChange) -> str:
    spec = find_spec(change.type)
    return spec.label if spec is not None else change.type


# -- the Flow after the plan, and the walk down it ----------------------------------------------
@dataclass(frozen=True)
class _Node:
    address: str
    type: str
    project_key: str
    name: str
    managed: bool
    links: tuple[FlowLink, ...]


class FlowGraph:
    """The objects that exist once the plan is applied, with their links to the Flow's datasets and
    folders, indexed for the walk from a changed object to what sits below it."""

    def __init__(self, nodes: Iterable[_Node], gone: Iterable[tuple[str, str, str, str]] = ()) -> None:
        """`gone`: (address, project, type, name) of each object the plan deletes."""
        self.nodes: dict[str, _Node] = {}
        self._gone = {address for address, *_ in gone}  # deleted by the plan: never downstream of anything
        # A deleted object named by a link is found by its name: its address may be a module's
        # (module.NAME.dataset.P.d), which the name alone does not give.
        self._gone_by_name = {(key, type_, name): address for address, key, type_, name in gone}
        self._by_name: dict[tuple[str, str, str], str] = {}  # (project, type, name) -> address
        self._users: dict[tuple[str, str], list[tuple[_Node, FlowLink]]] = {}  # (project, name) -> links to it
        for node in nodes:
            self.nodes[node.address] = node
            self._by_name.setdefault((node.project_key, node.type, node.name), node.address)
            for link in node.links:
                if link.relation != WRITES:
                    self._users.setdefault((link.project or node.project_key, link.name), []).append((node, link))

    @classmethod
    def after(
        cls, changes: list[ResourceChange], desired: DesiredState, state: Any, observed: Observation, options: PlanOptions
    ) -> FlowGraph:
        gone = [(c.address, c.project_key, c.type, c.name) for c in changes if c.action in (Action.DELETE, Action.FORGET)]
        nodes: list[_Node] = []
        declared = {} if options.destroy else desired.resources
        for address, resource in declared.items():
            nodes.append(_node(address, resource.type, resource.project_key, resource.name, True, resource.attributes))
        deleted = {address for address, *_ in gone}
        for address, entry in state.resources.items():  # owned, not declared (a destroy, --target): as recorded
            if address not in declared and address not in deleted:
                nodes.append(_node(address, entry.type, entry.project_key, entry.name, True, entry.attributes or {}))
        owned = {(e.type, e.project_key, e.dss_id) for e in state.resources.values()}
        for key, project in observed.projects.items():
            for obj in project.all_objects() if project.exists else []:
                address = address_of(obj.type, key, obj.name)
                if (obj.type, key, obj.dss_id) not in owned and address not in desired.resources:
                    nodes.append(_node(address, obj.type, key, obj.name, False, obj.attributes))
        return cls(nodes, gone)

    def downstream(self, change: ResourceChange, effects: list[Effect]) -> list[Downstream]:
        """What sits below the changed object (or below the outputs a recipe stops writing), nearest
        first: the graph's walk (graphs.breadth_first) from the changed object's address."""
        columns = tuple(dict.fromkeys(c for e in effects for c in e.columns))
        starts = [ref for e in effects if e.starts is not None for ref in e.starts]
        written = _written_before(change)
        whole = any(e.starts is None for e in effects if e.impact is not Impact.NON_BREAKING)
        origin = _Node(change.address, change.type, change.project_key, change.name, True,
                       _own_links(change, self.nodes.get(change.address)))
        extra: dict[str, _Node] = {origin.address: origin}  # nodes met on the way that the graph lacks

        def successors(address: str) -> list[tuple[str, tuple[str, Optional[FlowLink]]]]:
            below: list[tuple[_Node, str, Optional[FlowLink]]] = []
            if address == origin.address:
                for ref in starts:
                    key, name = split_ref(ref)
                    types = written.get((key, name), ("dataset",))
                    below.append((self._resolve(FlowLink(WRITES, name, types, key), origin.project_key),
                                  NO_LONGER_WRITTEN_BY, None))
            if address != origin.address or whole:
                below += self._below(origin if address == origin.address else (self.nodes.get(address) or extra[address]))
            return self._remember(below, extra)

        found = []
        for address, (relation, link), via, depth in breadth_first([origin.address], successors):
            node = self.nodes.get(address) or extra[address]
            named = tuple(c for c in columns if link is not None and link.columns and c in link.columns) \
                if via == origin.address else ()
            found.append(Downstream(address, relation, via, depth, node.managed, named))
        return found

    def _remember(
        self, below: list[tuple[_Node, str, Optional[FlowLink]]], extra: dict[str, _Node]
    ) -> list[tuple[str, tuple[str, Optional[FlowLink]]]]:
        """The walk's edges, without the objects the plan deletes; remembers the nodes the graph lacks."""
        kept = [(node, relation, link) for node, relation, link in below if node.address not in self._gone]
        for node, _relation, _link in kept:
            extra.setdefault(node.address, node)
        return [(node.address, (relation, link)) for node, relation, link in kept]

    def _below(self, node: _Node) -> list[tuple[_Node, str, Optional[FlowLink]]]:
        """What reads, builds or is triggered by the object, then what it writes (a recipe's outputs)."""
        below: list[tuple[_Node, str, Optional[FlowLink]]] = [
            (user, link.relation, link) for user, link in self._users.get((node.project_key, node.name), ())
            if node.type in link.types and user.address != node.address
        ]
        below += [(self._resolve(link, node.project_key), WRITTEN_BY, link) for link in node.links if link.relation == WRITES]
        return below

    def _resolve(self, link: FlowLink, project_key: str) -> _Node:
        """The data object a link names: the first of its possible types that exists, else the first."""
        key = link.project or project_key
        for type_ in link.types:
            address = self._by_name.get((key, type_, link.name))
            if address is not None:
                return self.nodes[address]
        for type_ in link.types:
            address = self._gone_by_name.get((key, type_, link.name))
            if address is not None:
                return _Node(address, type_, key, link.name, True, ())
        return _Node(address_of(link.types[0], key, link.name), link.types[0], key, link.name, True, ())


def _written_before(change: ResourceChange) -> dict[tuple[Optional[str], str], tuple[str, ...]]:
    """(project, name) -> the types of each object the changed object wrote before the change, as
    its spec's `flow_links` say (a recipe's output may be a dataset, a folder, or whatever its spec
    names): an output it stops writing is found among those types."""
    return {(link.project, link.name): link.types for link in _links_of(change.type, change.before or {})
            if link.relation == WRITES}


def _own_links(change: ResourceChange, node: Optional[_Node]) -> tuple[FlowLink, ...]:
    """The changed object's links: as it will be, or as it was when the plan deletes it."""
    if node is not None:
        return node.links
    return _links_of(change.type, change.before or {})


def _node(address: str, type_: str, project_key: str, name: str, managed: bool, attributes: Mapping[str, Any]) -> _Node:
    return _Node(address, type_, project_key, name, managed, _links_of(type_, attributes))


def _links_of(type_: str, attributes: Mapping[str, Any]) -> tuple[FlowLink, ...]:
    spec = find_spec(type_)
    if spec is None or spec.flow_links is None:
        return ()
    return tuple(spec.flow_links(attributes))
