"""The plan as a review document: Markdown for a pull/merge request comment, and GitLab's
Terraform report (the counts its merge request widget shows).

The Markdown reuses the text renderer for every resource's diff, so sensitive values are hidden
exactly as `plan` hides them (`(sensitive value)`, secret variables by their name only). Its
layout: the summary line first; destructive changes (deletions, replacements, stored data
deleted) listed at the top, never folded; one `<details>` section per project, holding one per
resource with its diff; a hidden marker with the environment and the plan's digest at the end,
by which `comment` finds its earlier comment and a reader proves which plan was reviewed.

A comment has a size limit (GitHub: 65,536 characters). When the document would exceed
`max_chars`, diffs are left out, largest first, then resources are left off the end of the
list; the document says so and where the full plan is (`artifact`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

from dataiku_iac.errors import printable
from dataiku_iac.output.text import (
    CONTEXT_INDENT,
    VERBS,
    Style,
    as_tree,
    downstream_text,
    impact_counts_text,
    plural,
    render_change,
    selection_warning,
)
from dataiku_iac.planner.plan import Action, Plan, ResourceChange
from dataiku_iac.resources.policy import Impact

GITHUB_COMMENT_LIMIT = 65_536
# Room under GitHub's limit: a CI may wrap the document (a job summary header), and what GitHub
# counts as a character is not documented precisely.
DEFAULT_MAX_CHARS = 60_000
MARKER_PREFIX = "<!-- dataiku-iac plan "
_MARKER = re.compile(r"^<!-- dataiku-iac plan env=(?P<env>\S+) digest=(?P<digest>[0-9a-f]*) -->$", re.MULTILINE)
_DIFF_SYMBOL = {"+": "+", "-": "-", "~": "!", "x": "-"}
_DESTRUCTIVE = (Action.DELETE, Action.REPLACE)
_PLAIN = Style(color=False)
# What the top of the document lists at most (each kind), and the longest warning it quotes: the
# part that is never left out stays well under the smallest --max-chars.
_LISTED_AT_TOP = 20
_LONGEST_WARNING = 400
_LONGEST_REASON = 160  # an impacted change's reasons, at the top
_DOWNSTREAM_IN_SECTION = 50  # a resource's section lists this much of its downstream


def marker(environment: str, digest: str) -> str:
    """The hidden line that identifies a plan comment: its environment (so that two environments'
    comments on one pull request do not replace each other) and the plan's digest."""
    return f"{MARKER_PREFIX}env={quote(environment, safe='')} digest={digest} -->"


def find_marker(body: str, environment: str) -> Optional[str]:
    """The digest in `body`'s marker for `environment`, or None when `body` carries none.
    Only a line that is exactly a marker counts (a quoted reply, `> <!-- …`, does not)."""
    wanted = quote(environment, safe="")
    for match in _MARKER.finditer(body or ""):
        if match.group("env") == wanted:
            return match.group("digest")
    return None


def gitlab_report(plan: Plan) -> dict[str, int]:
    """GitLab's Terraform report (`artifacts: reports: terraform:`): the counts GitLab's own recipe
    takes from Terraform's JSON plan, each action of `change.actions` counted once (a replacement
    is one delete and one create; forgetting and importing touch nothing in DSS)."""
    actions = [word for change in plan.changes for word in change.action.terraform_actions()]
    return {word: actions.count(word) for word in ("create", "update", "delete")}


@dataclass(frozen=True)
class _Entry:
    """One resource's section, in full and without its diff."""

    change: ResourceChange
    full: str
    short: str


def render_markdown(plan: Plan, *, digest: str, max_chars: int = DEFAULT_MAX_CHARS, artifact: str = "") -> str:
    """The plan as Markdown of at most `max_chars` characters; `digest` is the saved plan's."""
    head = _head(plan, digest)
    tail = "\n" + marker(plan.environment, digest) + "\n"
    entries = [_entry(change) for change in plan.actionable()]
    full_body = _body(plan, entries, set(), len(entries), "")
    if len(head) + len(full_body) + len(tail) <= max_chars:
        return head + full_body + tail
    body = _fitted_body(plan, entries, max_chars - len(head) - len(tail), artifact)
    return head + _cut(body, max_chars - len(head) - len(tail)) + tail


def _fitted_body(plan: Plan, entries: list[_Entry], budget: int, artifact: str) -> str:
    """Leave diffs out, largest first, then resources off the end, until the body fits `budget`."""
    note = _truncation_note(len(entries), len(entries), len(entries), artifact)
    saved_by = sorted(range(len(entries)), key=lambda i: len(entries[i].short) - len(entries[i].full))
    size = len(_body(plan, entries, set(), len(entries), note))
    omitted: set[int] = set()
    for index in saved_by:
        if size <= budget:
            break
        omitted.add(index)
        size -= len(entries[index].full) - len(entries[index].short)
    listed = len(entries)
    while True:
        with_diff = listed - len([i for i in omitted if i < listed])
        note = _truncation_note(len(entries), with_diff, listed, artifact)
        body = _body(plan, entries, omitted, listed, note)
        if len(body) <= budget or listed == 0:
            return body
        # Resources left off the list: estimate how many at once, so that 50,000 resources
        # do not take 50,000 renderings.
        excess = len(body) - budget
        dropped, freed = 0, 0
        while listed - dropped > 0 and freed < excess:
            dropped += 1
            freed += len(entries[listed - dropped].short) + 1
        listed -= max(dropped, 1)


def _cut(body: str, budget: int) -> str:
    """The last resort when even the unfoldable part exceeds the budget: whole lines, then a note."""
    if len(body) <= budget:
        return body
    note = "\n\n(cut here: the document exceeds --max-chars; see the full plan)\n"
    kept = body[: max(0, budget - len(note))]
    return kept[: kept.rfind("\n") + 1] + note if "\n" in kept else note[:budget]


def _head(plan: Plan, digest: str) -> str:
    lines = [f"**{_summary_line(plan)}**", ""]
    facts = [f"environment `{_code(plan.environment)}`", f"state serial {plan.serial}"]
    if plan.options.destroy:
        facts.append("destroy plan")
    if (plan.source or {}).get("kind") == "rollback":
        facts.append(f"rollback to serial {plan.source.get('serial')}")
    commit = (plan.source or {}).get("commit") or (plan.source or {}).get("git_commit")
    if commit:
        facts.append(f"commit `{_code(str(commit))[:12]}`")
    facts.append(f"plan digest `{digest[:12]}`")
    if plan.created_at:
        facts.append(f"made {_code(plan.created_at)}")
    lines.append("dataiku-iac · " + " · ".join(facts))
    lines.append("")
    return "\n".join(lines) + "\n"


def _summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        if plan.options.destroy:
            return "No changes. No objects need to be destroyed."
        if plan.options.targets or plan.options.excludes:  # what was left out was not compared
            return "No changes in the objects this plan covers (--target/--exclude: those left out may have changes)."
        return "No changes. DSS matches the configuration."
    summary = plan.summary()
    if plan.options.refresh_only:
        return (f"Refresh-only plan: {summary.get('refresh', 0)} to record, {summary['forget']} to forget "
                f"(the state takes DSS's values; DSS is not changed).")
    imports = f" {summary['import']} to import," if summary.get("import") else ""
    forget = f", {summary['forget']} to forget" if summary["forget"] else ""
    moves = f", {summary['move']} to move in the state" if summary.get("move") else ""
    return f"Plan:{imports} {summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy{forget}{moves}."


def _body(plan: Plan, entries: list[_Entry], omitted: set[int], listed: int, note: str) -> str:
    parts = [_warnings(plan)]
    if note:
        parts.append(note)
    parts.extend(_projects(entries, omitted, listed))
    if listed < len(entries):
        parts.append(f"…and {plural(len(entries) - listed, 'more resource')} not listed here (see the full plan).\n\n")
    return "".join(parts)


def _warnings(plan: Plan) -> str:
    """What a reviewer must not miss, at the top and never folded."""
    destructive = [c for c in plan.actionable() if c.action in _DESTRUCTIVE]
    lines: list[str] = []
    if destructive:
        deleted = sum(1 for c in destructive if c.action == Action.DELETE)
        replaced = len(destructive) - deleted
        counts = ", ".join(part for part in (
            plural(deleted, "deletion") if deleted else "", plural(replaced, "replacement") if replaced else "") if part)
        lines.append(f"> ⚠️ **Destructive changes: {counts}.**")
        shown = destructive[:_LISTED_AT_TOP]
        for change in shown:
            lines.append(f"> - `{_code(_symbolled(change))}` {VERBS[change.action]}{_forced_by(change)}")
        if len(destructive) > len(shown):
            lines.append(f"> - …and {len(destructive) - len(shown)} more (in the sections below)")
        lines.append("")
    lines.extend(_impact_at_top(plan))
    for warning in plan.warnings[:_LISTED_AT_TOP]:
        lines.append(f"> **Warning:** {_text(_shortened(warning))}")
        lines.append("")
    if plan.has_changes and selection_warning(plan):
        lines.append(f"> **Warning:** {_text(selection_warning(plan))}")
        lines.append("")
    for key in plan.mark_projects[:_LISTED_AT_TOP]:
        lines.append(f"> Note: project `{_code(key)}` will be marked as managed by this state before the first change in it.")
        lines.append("")
    hidden = max(0, len(plan.warnings) - _LISTED_AT_TOP) + max(0, len(plan.mark_projects) - _LISTED_AT_TOP)
    if hidden:
        lines.extend([f"> …and {plural(hidden, 'more warning')} and note(s) in the full plan.", ""])
    return "\n".join(lines) + ("\n" if lines else "")


def _shortened(text: str, longest: int = _LONGEST_WARNING) -> str:
    return text if len(text) <= longest else text[: longest - 1] + "…"


def _impact_at_top(plan: Plan) -> list[str]:
    """The breaking and destructive changes (docs/impact-analysis.md): each with its reasons and how
    much sits downstream; the downstream objects themselves are in the resource's section."""
    impacted = plan.impacted(Impact.BREAKING)
    if not impacted:
        return []
    lines = [f"> 💥 **Impact: {impact_counts_text(plan)}.**"]
    for change in impacted[:_LISTED_AT_TOP]:
        assert change.impact is not None
        reasons = _text(_shortened("; ".join(change.impact.reasons), _LONGEST_REASON))
        count = len(change.impact.downstream)
        below = f" — {plural(count, 'object')} downstream" if count else ""
        lines.append(f"> - `{_code(change.address)}` **{change.impact.category.value}**: {reasons}{below}")
    if len(impacted) > _LISTED_AT_TOP:
        lines.append(f"> - …and {len(impacted) - _LISTED_AT_TOP} more (in the sections below)")
    lines.append("")
    return lines


def _forced_by(change: ResourceChange) -> str:
    fields = [f.name for f in change.field_changes if f.forces_replacement]
    return f" (forced by: {', '.join(fields)})" if fields else ""


def _projects(entries: list[_Entry], omitted: set[int], listed: int) -> list[str]:
    """One open `<details>` per DSS project, in plan order, each holding its resources' sections."""
    groups: dict[str, list[int]] = {}
    for index in range(listed):
        groups.setdefault(entries[index].change.project_key, []).append(index)
    parts = []
    for key, indexes in groups.items():
        changes = [entries[i].change for i in indexes]
        summary = f"Project <code>{_html(key)}</code>: {_counts(changes)}"
        inner = "\n".join(entries[i].short if i in omitted else entries[i].full for i in indexes)
        parts.append(f"<details open><summary>{summary}</summary>\n\n{inner}\n</details>\n\n")
    return parts


def _counts(changes: list[ResourceChange]) -> str:
    words = []
    for action, verb in ((Action.CREATE, "to create"), (Action.UPDATE, "to update"), (Action.REPLACE, "to replace"),
                         (Action.DELETE, "to destroy"), (Action.FORGET, "to forget"),
                         (Action.REFRESH, "to record in the state")):
        count = sum(1 for c in changes if c.action == action)
        if count:
            words.append(f"{count} {verb}")
    imports = sum(1 for c in changes if c.importing)
    if imports:
        words.append(f"{imports} to import")
    return ", ".join(words) or "no changes"


def _entry(change: ResourceChange) -> _Entry:
    verb = VERBS.get(change.action, "")
    if change.importing:
        verb = "will be imported" + (" and updated in-place" if change.action == Action.UPDATE else "")
    warn = "⚠️ " if change.action in _DESTRUCTIVE else ""
    summary = f"{warn}<code>{_html(_symbolled(change))}</code> {verb}"
    diff = _diff(change) + _impact_in_section(change)
    full = f"<details><summary>{summary}</summary>\n\n{diff}\n</details>\n"
    short = f"<details><summary>{summary}</summary>\n\n(diff left out of this comment for its size)\n</details>\n"
    return _Entry(change, full, short)


def _impact_in_section(change: ResourceChange) -> str:
    """A breaking or destructive change's downstream, under its diff (left out with the diff)."""
    impact = change.impact
    if impact is None or impact.category is Impact.NON_BREAKING:
        return ""
    lines = ["", f"**{impact.category.value.capitalize()}**: {_text('; '.join(impact.reasons))}", ""]
    if not impact.downstream:
        lines.append("Downstream: nothing found in the Flow.")
    else:
        lines.append(f"Downstream ({len(impact.downstream)}):")
        lines.append("")
        for item, level in as_tree(impact.downstream)[:_DOWNSTREAM_IN_SECTION]:
            lines.append(f"{'  ' * min(level, 8)}- {_text(downstream_text(item))}")
        if len(impact.downstream) > _DOWNSTREAM_IN_SECTION:
            lines.append(f"- …and {len(impact.downstream) - _DOWNSTREAM_IN_SECTION} more (in the full plan)")
    return "\n".join(lines) + "\n"


def _symbolled(change: ResourceChange) -> str:
    symbol = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.REPLACE: "-/+", Action.FORGET: "x",
              Action.REFRESH: "~"}
    return f"{symbol.get(change.action, ' ')} {change.address}".strip()


def _diff(change: ResourceChange) -> str:
    """The text plan's lines for `change` as a ```diff block, with `+`/`-` in the first column as
    diff highlighting wants them and `~` as `!` (changed)."""
    lines = render_change(change, _PLAIN)[2:]  # the header and the reason are in the summary
    body = [f"# ({change.reason})"] if change.reason else []
    # A created or deleted resource's lines are all additions or all removals, continuation lines
    # of a long value too (a line of code may itself start with "-"); an update's lines each
    # start with their own symbol.
    whole = {Action.CREATE: "+", Action.DELETE: "-"}.get(change.action)
    for line in lines:
        stripped = line.lstrip(" ")
        indent = line[: len(line) - len(stripped)]
        if whole is not None:
            # The text plan puts the resource's symbol at column 2 and the attributes' at 6; a
            # long value's further lines are indented deeper, whatever they start with.
            own_symbol = stripped[:2] == whole + " " and len(indent) in (2, 6)
            body.append(whole + (indent + stripped[1:] if own_symbol else line[1:]))
        elif stripped.startswith("-/+ "):
            body.append("!" + indent + stripped)
        elif len(indent) >= CONTEXT_INDENT and stripped:  # an unchanged line of a text diff ("- item" too)
            body.append(" " + line)
        elif stripped[:1] in _DIFF_SYMBOL:
            body.append(_DIFF_SYMBOL[stripped[:1]] + indent + stripped[1:])
        else:
            body.append(" " + line)
    text = "\n".join(body)
    fence = "`" * max(3, _longest_backtick_run(text) + 1)  # a value holding ``` cannot close the block
    return f"{fence}diff\n{text}\n{fence}\n"


def _longest_backtick_run(text: str) -> int:
    runs = re.findall(r"`+", text)
    return max((len(run) for run in runs), default=0)


def _truncation_note(total: int, with_diff: int, listed: int, artifact: str) -> str:
    if listed == total:
        shown = f"{with_diff} of {plural(total, 'resource')}' diffs are shown" if total != 1 else "the diff is left out"
    else:
        shown = f"{listed} of {plural(total, 'resource')} are listed, {with_diff} with their diff"
    where = _text(artifact) if artifact else "the saved plan file, kept as a CI artifact (`dataiku-iac show PLANFILE`)"
    return f"> ✂️ **Truncated to fit a comment:** {shown}. The full plan: {where}.\n\n"


def _code(text: str) -> str:
    """Text inside a `code span`: no backtick can end it early."""
    return printable(text).replace("`", "'")


def _html(text: str) -> str:
    return html.escape(printable(text), quote=False)


def _text(text: str) -> str:
    """Free text (a warning, a link) outside code: HTML escaped, so it cannot open a tag."""
    return html.escape(printable(text), quote=False)
