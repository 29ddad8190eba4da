"""Human-readable rendering of plans, apply progress and drift, Terraform style.

Renderers return strings; the CLI decides where they go. Colors are applied through a
`Style` so tests and pipes get plain text.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from dataiku_iac.errors import printable
from dataiku_iac.planner.plan import REDACTED, Action, Downstream, Plan, ResourceChange
from dataiku_iac.resources.policy import ABSENT, Impact, is_secret_ref

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.REPLACE: "-/+",
    Action.FORGET: "x",
    Action.REFRESH: "~",
    Action.NOOP: " ",
}
COLORS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.REPLACE: "magenta",
    Action.FORGET: "cyan",
    Action.REFRESH: "cyan",
    Action.NOOP: "white",
}
VERBS = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in-place",
    Action.DELETE: "will be destroyed",
    Action.REPLACE: "must be replaced",
    Action.FORGET: "will be removed from state (already gone from DSS)",
    Action.REFRESH: "has changed in DSS: the state will record DSS's values",
}


@dataclass(frozen=True)
class Style:
    color: bool = False

    def __call__(self, text: str, fg: str = "", bold: bool = False) -> str:
        # Every line of output goes through here: control characters that come from the config
        # or from DSS (a description holding ESC) are escaped before colors are added.
        text = printable(text, keep_newlines=True)
        if not self.color:
            return text
        import click

        return click.style(text, fg=fg or None, bold=bold)


def plural(count: int, noun: str) -> str:
    """'1 resource', '2 resources'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def render_plan(plan: Plan, style: Style = Style(), *, notes: Iterable[str] = ()) -> str:
    lines: list[str] = []
    for note in notes:
        lines.append(style(f"Note: {note}", "cyan"))
    if plan.options.refresh_only:
        return _render_refresh(plan, style, lines)
    actionable = plan.actionable()
    lines.extend(_moves(plan, style))
    if not actionable and plan.moved:
        lines.append(style("Plan:", bold=True) + f" 0 to add, 0 to change, 0 to destroy, {len(plan.moved)} to move in the state.")
        return "\n".join(lines) + "\n"
    selection = selection_warning(plan)
    if not actionable:
        lines.extend(style(f"Note: {warning}", "cyan") for warning in plan.warnings)  # e.g. what a destroy keeps
        if selection:
            lines.append(style(f"Warning: {selection}", "yellow"))
        if plan.options.destroy:
            lines.append(style("No changes.", "green", bold=True) + " No objects need to be destroyed.")
        elif selection:  # what was left out was not compared: "DSS matches the configuration" would be a guess
            lines.append(style("No changes", "green", bold=True) + " in the objects this plan covers.")
        else:
            lines.append("DSS matches the configuration: nothing to do.")
            lines.append(style("No changes.", "green", bold=True))
        return "\n".join(lines) + "\n"
    lines.append("dataiku-iac will perform the following actions:")
    lines.append("")
    for change in actionable:
        lines.extend(render_change(change, style))
        lines.append("")
    lines.extend(render_impact(plan, style))
    for warning in plan.warnings:
        lines.append(style(f"Warning: {warning}", "yellow"))
    if selection:
        lines.append(style(f"Warning: {selection}", "yellow"))
    for key in plan.mark_projects:
        lines.append(style(f"Note: project {key} will be marked as managed by this state (project metadata) before the first change in it.", "cyan"))
    summary = plan.summary()
    forget = f", {summary['forget']} to forget" if summary["forget"] else ""
    imports = f" {summary['import']} to import," if summary.get("import") else ""
    moves = f", {summary['move']} to move in the state" if summary.get("move") else ""
    lines.append(
        style("Plan:", bold=True)
        + f"{imports} {summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy{forget}{moves}."
    )
    return "\n".join(lines) + "\n"


def selection_warning(plan: Plan) -> str:
    """Terraform's "resource targeting is in effect": a plan made with --target or --exclude did not
    look at the objects it left out, which may have changes of their own (empty otherwise)."""
    options = plan.options
    if not (options.targets or options.excludes):
        return ""
    flag = "--target" if options.targets else "--exclude"
    return (f"{flag} is in effect: this plan covers only the objects it selects; those it leaves out may have "
            "changes of their own (a plan without it shows every change the configuration asks for)")


def _render_refresh(plan: Plan, style: Style, lines: list[str]) -> str:
    """A refresh-only plan, as Terraform words one: what changed in DSS since the state recorded
    it, which the apply records; nothing to do in DSS."""
    actionable = plan.actionable()
    if not actionable:
        lines.extend(style(f"Note: {warning}", "cyan") for warning in plan.warnings)
        lines.append("DSS still matches what the state recorded at the last apply: nothing to record.")
        lines.append(style("No changes.", "green", bold=True) + " The state already records DSS's values.")
        return "\n".join(lines) + "\n"
    lines.append("Objects have changed outside of dataiku-iac since the state recorded them:")
    lines.append("")
    for change in actionable:
        lines.extend(render_change(change, style))
        lines.append("")
    for warning in plan.warnings:
        lines.append(style(f"Warning: {warning}", "yellow"))
    lines.append("This is a refresh-only plan: nothing will be done in DSS to undo these changes. Applying it records "
                 "DSS's values in the state (the configuration is not changed: a plan afterwards proposes what the "
                 "configuration asks for).")
    summary = plan.summary()
    lines.append(style("Refresh:", bold=True) + f" {summary.get('refresh', 0)} to record, {summary['forget']} to forget "
                 "(state only; DSS is not changed).")
    return "\n".join(lines) + "\n"


def _moves(plan: Plan, style: Style) -> list[str]:
    """The `moved:` entries the plan applies (as Terraform: "# A has moved to B")."""
    if not plan.moved:
        return []
    lines = [style(f"  # {old} has moved to {new}", "cyan") for old, new in plan.moved]
    return [*lines, ""]


# The impact section (docs/impact-analysis.md): breaking and destructive changes only.
IMPACT_MARKS = {Impact.BREAKING: "!", Impact.DESTRUCTIVE: "!!"}
IMPACT_COLORS = {Impact.BREAKING: "yellow", Impact.DESTRUCTIVE: "red"}
DOWNSTREAM_SHOWN = 20  # per change; `plan --json` lists them all


def render_impact(plan: Plan, style: Style, *, shown: int = DOWNSTREAM_SHOWN) -> list[str]:
    """The "Impact" section: each breaking or destructive change, why, and what sits downstream
    of it (indented by distance). Empty when no change is breaking."""
    impacted = plan.impacted(Impact.BREAKING)
    if not impacted:
        return []
    lines = [style(f"Impact: {impact_counts_text(plan)}.", bold=True), ""]
    for change in impacted:
        lines.extend(_impact_lines(change, style, shown))
        lines.append("")
    return lines


def impact_counts_text(plan: Plan) -> str:
    """'1 destructive, 2 breaking, 3 non-breaking' (the categories with changes, most severe first)."""
    counts = plan.impact_counts()
    words = [f"{counts[i.value]} {i.value}" for i in reversed(Impact) if counts[i.value]]
    return ", ".join(words) or "no changes"


def _impact_lines(change: ResourceChange, style: Style, shown: int) -> list[str]:
    assert change.impact is not None
    category = change.impact.category
    color = IMPACT_COLORS.get(category, "white")
    lines = [style(f"  {IMPACT_MARKS.get(category, ' ')} {change.address}: {category.value}", color, bold=True)]
    lines.extend(style(f"      {reason}", color) for reason in change.impact.reasons)
    downstream = change.impact.downstream
    if not downstream:
        lines.append(style("      downstream: nothing found in the Flow", "white"))
        return lines
    lines.append(style(f"      downstream ({len(downstream)}):", "white"))
    lines.extend(f"        {'  ' * min(level, 8)}{downstream_text(d)}" for d, level in as_tree(downstream)[:shown])
    if len(downstream) > shown:
        lines.append(f"        …and {len(downstream) - shown} more (`plan --json` lists them all)")
    return lines


def as_tree(downstream: tuple[Downstream, ...]) -> list[tuple[Downstream, int]]:
    """The downstream objects as a tree for reading: each under the object it was reached from
    (`via`), depth first, with its level (0: next to the changed object). The plan keeps them
    nearest first; every object appears once, under the first object that reached it."""
    children: dict[str, list[Downstream]] = {}
    listed = {item.address for item in downstream}
    roots = []
    for item in downstream:
        if item.via in listed:
            children.setdefault(item.via, []).append(item)
        else:
            roots.append(item)
    ordered: list[tuple[Downstream, int]] = []
    stack = [(item, 0) for item in reversed(roots)]
    while stack:  # iterative: a Flow may be thousands of objects deep
        item, level = stack.pop()
        ordered.append((item, level))
        stack.extend((child, level + 1) for child in reversed(children.get(item.address, [])))
    return ordered


def downstream_text(item: Downstream) -> str:
    """'recipe.P.r reads dataset.P.d (uses column 'amount')'; an object dataiku-iac does not manage says so."""
    unmanaged = " (not managed by dataiku-iac)" if not item.managed else ""
    columns = f" (uses column{'s' if len(item.columns) > 1 else ''} {', '.join(map(repr, item.columns))})" if item.columns else ""
    return f"{item.address}{unmanaged} {item.relation} {item.via}{columns}"


def render_change(change: ResourceChange, style: Style) -> list[str]:
    color = COLORS[change.action]
    symbol = SYMBOLS[change.action]
    where = "" if change.type == "project" else f" in project {change.project_key}"
    verb = VERBS.get(change.action, "")
    if change.importing:  # as Terraform: "will be imported", and updated in place if it differs
        verb = "will be imported" + (" and updated in-place" if change.action == Action.UPDATE else "")
    header = f"  # {change.address} {verb}{where}"
    lines = [style(header, bold=True), style(f"  #   ({change.reason})", "white")]
    lines.append(style(f"  {symbol} {change.type} {_label(change)}", color))
    if change.action == Action.CREATE:
        lines.extend(_attributes(change.after or {}, "+", style, color, change.sensitive_fields))
    elif change.action == Action.DELETE:
        lines.extend(_attributes(change.before or {}, "-", style, color, change.sensitive_fields))
    elif change.action in (Action.UPDATE, Action.REPLACE, Action.REFRESH):
        for field in change.field_changes:
            lines.extend(_field_change(field, style))
    return lines


def _label(change: ResourceChange) -> str:
    if change.type == "project":
        return change.project_key
    suffix = f" (id {change.dss_id})" if change.dss_id and change.dss_id != change.name else ""
    return f"{change.project_key}.{change.name}{suffix}"


def _attributes(attrs: dict, symbol: str, style: Style, color: str, sensitive: Iterable[str]) -> list[str]:
    lines: list[str] = []

    hidden = set(sensitive)
    for name in sorted(attrs):
        value = attrs[name]
        if value in (None, "", [], {}):
            continue
        if name in hidden:  # as Terraform: unquoted
            lines.append(style(f"      {symbol} {name} = {REDACTED}", color))
            continue
        lines.extend(style(line, color) for line in _assignment(name, value, f"      {symbol} "))
    return lines


def _field_change(field: Any, style: Style) -> list[str]:
    marker = style("  # forces replacement", "red") if field.forces_replacement else ""
    if field.sensitive:  # as Terraform: neither side, unquoted
        return [style(f"      ~ {field.name} = {REDACTED}", "yellow") + marker]
    return value_change_lines(field.name, field.before, field.after, style, marker)


def value_change_lines(name: str, before: Any, after: Any, style: Style, marker: str = "", *,
                       unmanaged_keys: bool = False) -> list[str]:
    """How one value changed, as plan and drift both show it: the changed leaves of a structure
    (`~ pages[0].tiles[1].x = 6 -> 9`), the changed lines of a text, or both values whole when
    short or of different kinds. `unmanaged_keys`: a key only `before` has is shown as removed
    (drift: DSS dropped it); a plan skips it, the configuration does not manage it."""
    if _is_nested(before) and _is_nested(after) and type(before) is type(after):
        leaves = _structure_changes(name, before, after, unmanaged_keys)
        if leaves:
            return [style(line, _leaf_color(line)) + marker for line in leaves]
    if _is_text(before) and _is_text(after) and ("\n" in before or "\n" in after):
        return [style(f"      ~ {name}:", "yellow") + marker] + _text_diff(before, after, style)
    if _is_short(before) and _is_short(after):
        text = f"      ~ {name} = {fmt(before)} -> {fmt(after)}"
        return [style(text, "yellow") + marker]
    lines = [style(f"      ~ {name}:", "yellow") + marker]
    for line in fmt(before, indent=True).splitlines():
        lines.append(style(f"          - {line}", "red"))
    for line in fmt(after, indent=True).splitlines():
        lines.append(style(f"          + {line}", "green"))
    return lines


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ABSENT


# A text diff's unchanged lines are indented this deep, past the "- "/"+ " of changed lines (10
# spaces and the symbol): the Markdown plan (output/markdown.py) tells them apart so, as a context
# line of markdown may itself start with "- ".
CONTEXT_INDENT = 12


def _text_diff(before: str, after: str, style: Style) -> list[str]:
    """Two texts (code, markdown) as the lines that differ, with two lines of context around each
    change, hunks separated by "...": a one-word edit of a long file shows as the lines it touched,
    not both files whole."""
    lines: list[str] = []
    diff = difflib.unified_diff(before.replace("\r\n", "\n").splitlines(), after.replace("\r\n", "\n").splitlines(),
                                lineterm="", n=2)
    for line in list(diff)[2:]:  # after the "---"/"+++" header (a removed "-- x" reads "--- x")
        if line.startswith("@@"):
            if lines:
                lines.append(style(" " * CONTEXT_INDENT + "...", "white"))
        elif line.startswith("-"):
            lines.append(style(f"          - {line[1:]}", "red"))
        elif line.startswith("+"):
            lines.append(style(f"          + {line[1:]}", "green"))
        else:
            lines.append(" " * CONTEXT_INDENT + line[1:])
    return lines


def _is_structure(value: Any) -> bool:
    return isinstance(value, (dict, list))


def _is_nested(value: Any) -> bool:
    """A mapping, or a list holding mappings or lists: diffed leaf by leaf."""
    return isinstance(value, dict) or (isinstance(value, list) and any(_is_structure(v) for v in value))


def _leaf_color(line: str) -> str:
    return {"+": "green", "-": "red"}.get(line.lstrip()[:1], "yellow")


def _structure_changes(path: str, before: Any, after: Any, unmanaged_keys: bool = False) -> list[str]:
    """One line per differing leaf of two mappings or lists, nested at any depth:
    `~ variables.standard.x = 1 -> 2`, `~ pages[0].tiles[1].x = 6 -> 9`; an item added to or
    removed from a list is one `+`/`-` line with the item."""
    if isinstance(before, dict) and isinstance(after, dict):
        return _leaf_changes(path, before, after, unmanaged_keys)
    if isinstance(before, list) and isinstance(after, list):
        return _list_changes(path, before, after, unmanaged_keys)
    if before == after:
        return []
    if before == ABSENT:
        return [f"      + {path} = {fmt(after)}"]
    return [f"      ~ {path} = {fmt(before)} -> {fmt(after)}"]


def _list_changes(path: str, before: list, after: list, unmanaged_keys: bool) -> list[str]:
    """Two lists item by item: matched by an identifying key (`id`, `name`, else another, see
    _identity_key) when there is one (a reordered list shows what moved, not everything), else by
    position."""
    if not any(_is_structure(entry) for entry in before + after):  # tags, columns' names: both lists whole
        return [] if before == after else [f"      ~ {path} = {fmt(before)} -> {fmt(after)}"]
    key = _identity_key(before, after)
    if key is None:
        lines = []
        for index in range(max(len(before), len(after))):
            item = f"{path}[{index}]"
            if index >= len(after):
                lines.append(f"      - {item} = {fmt(before[index])}")
            elif index >= len(before):
                lines.append(f"      + {item} = {fmt(after[index])}")
            else:
                lines.extend(_structure_changes(item, before[index], after[index], unmanaged_keys))
        return lines
    old_by_key = {entry[key]: entry for entry in before}
    new_keys = {entry[key] for entry in after}
    lines = [f"      - {path}[{key}={fmt(entry[key])}] = {fmt(entry)}" for entry in before if entry[key] not in new_keys]
    for entry in after:
        item = f"{path}[{key}={fmt(entry[key])}]"
        if entry[key] not in old_by_key:
            lines.append(f"      + {item} = {fmt(entry)}")
        else:
            lines.extend(_structure_changes(item, old_by_key[entry[key]], entry, unmanaged_keys))
    if not lines and [e[key] for e in before] != [e[key] for e in after]:
        lines.append(f"      ~ {path} order = {fmt([e[key] for e in before])} -> {fmt([e[key] for e in after])}")
    return lines


def _identity_key(before: list, after: list) -> Optional[str]:
    """What matches the items of two lists of mappings: `id` or `name` when every item of both has a
    distinct scalar one; else the first other key every item has with a distinct text value in each
    list, some of them in both (an A/B `package`, an `algorithm`): a generation removed reads as that
    one removed, not as every later one shifted. None: matched by position. Numbers are no key
    there (a tile's `x`, a `traffic` share): they are what changes."""
    items = before + after
    if not items or not all(isinstance(entry, dict) for entry in items):
        return None
    for key in ("id", "name"):
        if all(isinstance(entry.get(key), (str, int)) for entry in items) and _distinct(key, before, after):
            return key
    for key in items[0]:
        if all(isinstance(entry.get(key), str) for entry in items) and _distinct(key, before, after) \
                and {e[key] for e in before} & {e[key] for e in after}:
            return str(key)
    return None


def _distinct(key: str, before: list, after: list) -> bool:
    return all(len({e[key] for e in side}) == len(side) for side in (before, after))


def _leaf_changes(prefix: str, before: dict, after: dict, unmanaged_keys: bool = False) -> list[str]:
    """One line per differing leaf of two mappings: `~ variables.standard.x = 1 -> 2`."""
    lines = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}.{key}"
        old, new = before.get(key, ABSENT), after.get(key, ABSENT)
        if is_secret_ref(new):
            if old != new:
                lines.append(f"      ~ {path} = {REDACTED} (from ${new['secret_env']})")
            continue
        if _is_structure(old) and type(old) is type(new):
            lines.extend(_structure_changes(path, old, new, unmanaged_keys))
        elif new == ABSENT and key in after:
            lines.append(f"      - {path} = {fmt(old)}  (removed)")
        elif key not in after:
            if unmanaged_keys:
                lines.append(f"      - {path} = {fmt(old)}  (removed)")
            continue  # a key DSS has that the config does not manage
        elif old == ABSENT:
            lines.append(f"      + {path} = {fmt(new)}")
        elif old != new:
            lines.append(f"      ~ {path} = {fmt(old)} -> {fmt(new)}")
    return lines


def _assignment(name: str, value: Any, prefix: str) -> list[str]:
    if _is_short(value):
        return [f"{prefix}{name} = {fmt(value)}"]
    body = fmt(value, indent=True).splitlines()
    return [f"{prefix}{name} = {body[0]}"] + [f"{' ' * len(prefix)}{line}" for line in body[1:]]


def is_short_change(before: Any, after: Any) -> bool:
    """Both values fit on one line and neither is a structure to diff leaf by leaf."""
    return _is_short(before) and _is_short(after) and not (_is_nested(before) and _is_nested(after))


def _is_short(value: Any) -> bool:
    text = fmt(value)
    return "\n" not in text and len(text) <= 60


def fmt(value: Any, indent: bool = False) -> str:
    if value is None:
        return "(none)"
    if value == ABSENT:
        return "(removed)"
    if isinstance(value, str) and "\n" in value and indent:
        return value.rstrip("\n")
    cleaned = _clean(value)
    return json.dumps(cleaned, indent=2 if indent else None, sort_keys=True, ensure_ascii=False)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if value == ABSENT:
        return "(removed)"
    return value


def render_apply_summary(result: Any, plan: Plan, style: Style = Style()) -> str:
    summary = {"add": 0, "change": 0, "destroy": 0, "import": 0}
    done = set(result.done)
    deleted_only = set(getattr(result, "deleted_only", ()))
    summary["destroy"] += len(deleted_only)  # a failed replace whose delete went through: destroyed all the same
    for change in plan.changes:
        if change.address not in done:
            continue
        if change.importing:
            summary["import"] += 1
        if change.action in (Action.CREATE, Action.REPLACE):
            summary["add"] += 1
        if change.action == Action.UPDATE:
            summary["change"] += 1
        if change.action in (Action.DELETE, Action.REPLACE):
            summary["destroy"] += 1
    lines = []
    for address, message in sorted(result.failed.items()):
        lines.append(style(f"Error: {address}: {message}", "red"))
    for address in sorted(deleted_only):
        lines.append(style(f"Warning: {address} was deleted but not created again (its replace failed): the next "
                           "plan creates it", "yellow"))
    if result.skipped:
        lines.append(style(f"Skipped (a dependency failed or the run stopped): {', '.join(sorted(result.skipped))}", "yellow"))
    if result.stopped:
        run = "destroy" if plan.options.destroy else "apply"
        lines.append(style(f"{run.capitalize()} interrupted: finished in-flight actions and saved the state. Run {run} again to resume.", "yellow"))
    if plan.options.refresh_only:  # the state took DSS's values; DSS was not touched
        recorded = sum(1 for c in plan.changes if c.action == Action.REFRESH and c.address in done)
        forgotten = sum(1 for c in plan.changes if c.action == Action.FORGET and c.address in done)
        lines.append(style("Refresh complete!", "green", bold=True)
                     + f" The state records DSS's values: {recorded} recorded, {forgotten} forgotten; DSS was not changed.")
        return "\n".join(lines) + "\n"
    if plan.options.destroy:  # as Terraform's `destroy`: a destroy plan adds and changes nothing
        verdict = "Destroy complete!" if result.ok else "Destroy incomplete."
        counts = f" Resources: {summary['destroy']} destroyed."
    else:
        verdict = "Apply complete!" if result.ok else "Apply incomplete."
        imported = f" {summary['import']} imported," if summary["import"] else ""
        moved = f", {len(plan.moved)} moved in the state" if plan.moved else ""  # written before the first change
        counts = f" Resources:{imported} {summary['add']} added, {summary['change']} changed, {summary['destroy']} destroyed{moved}."
    lines.append(style(verdict, "green" if result.ok else "red", bold=True) + counts)
    return "\n".join(lines) + "\n"


def render_moves_applied(plan: Plan, serial: int, style: Style = Style()) -> str:
    """The end of an apply whose plan only moves objects in the state (`moved:` entries): no DSS
    call, one state serial written."""
    return (style("Apply complete!", "green", bold=True)
            + f" Resources: 0 added, 0 changed, 0 destroyed, {len(plan.moved)} moved in the state (serial {serial}; DSS was not changed).\n")
