"""HTML renderings of plans, apply results, drift and state, looking like the CLI's text.

The CLI renderers are reused with a `Style` that wraps styled text in private-use sentinel
characters; the complete output is then HTML-escaped in one pass and only the sentinels are
turned into `<span>`s with whitelisted classes. Everything from the plan (names, values,
messages) is therefore escaped, whatever path it took through the renderer. Values marked
sensitive are already redacted by the plan and drift records.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Iterable, Optional

from dataiku_iac.output.text import Style, render_apply_summary, render_plan

_OPEN, _MID, _CLOSE = "\ue000", "\ue001", "\ue002"
_COLORS = ("green", "yellow", "red", "magenta", "cyan", "white", "plain")
_SPAN = re.compile(_OPEN + r"([a-z]+)(:b)?" + _MID)
_ANY_SENTINEL = re.compile(f"[{_OPEN}{_MID}{_CLOSE}]")

CSS = """
.dataiku-iac-report { font-family: sans-serif; font-size: 13px; }
.dataiku-iac-report pre { background: #1e1e1e; color: #e0e0e0; padding: 10px 12px; border-radius: 4px;
  white-space: pre-wrap; font-family: Menlo, Consolas, monospace; font-size: 12px; line-height: 1.45; }
.dataiku-iac-report .iac-green { color: #6ad36a; } .dataiku-iac-report .iac-red { color: #ff6b6b; }
.dataiku-iac-report .iac-yellow { color: #f0c674; } .dataiku-iac-report .iac-magenta { color: #d68cf0; }
.dataiku-iac-report .iac-cyan { color: #66d9ef; } .dataiku-iac-report .iac-white { color: #a0a0a0; }
.dataiku-iac-report .iac-b { font-weight: bold; }
.dataiku-iac-report table.iac-meta td { padding: 1px 10px 1px 0; vertical-align: top; }
.dataiku-iac-report .iac-alert { padding: 8px 12px; border-radius: 4px; margin: 6px 0; }
.dataiku-iac-report .iac-alert-error { background: #fdecea; color: #8a1f11; }
.dataiku-iac-report .iac-alert-ok { background: #e8f5e9; color: #1b5e20; }
.dataiku-iac-report .iac-alert-warn { background: #fff8e1; color: #7a5a00; }
.dataiku-iac-report code { font-family: Menlo, Consolas, monospace; }
"""


class HtmlStyle(Style):
    """A Style that marks styled text for `to_html` (never emits markup itself)."""

    def __init__(self) -> None:
        super().__init__(color=True)

    def __call__(self, text: str, fg: str = "", bold: bool = False) -> str:
        color = fg if fg in _COLORS else "plain"
        return f"{_OPEN}{color}{':b' if bold else ''}{_MID}{text}{_CLOSE}"


def to_html(marked: str) -> str:
    """Escape everything, then turn the sentinels (and only them) into spans."""
    escaped = html.escape(marked, quote=True)

    def span(match: re.Match) -> str:
        classes = f"iac-{match.group(1)}" + (" iac-b" if match.group(2) else "")
        return f'<span class="{classes}">'

    out = _SPAN.sub(span, escaped).replace(_CLOSE, "</span>")
    return _ANY_SENTINEL.sub("", out)  # a stray sentinel smuggled in a value: drop it


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return f'<div class="dataiku-iac-report"><style>{CSS}</style><h3>{esc(title)}</h3>{body}</div>'


def meta_table(rows: Iterable[tuple]) -> str:
    cells = "".join(f"<tr><td><b>{esc(k)}</b></td><td>{esc(v)}</td></tr>" for k, v in rows if v not in (None, ""))
    return f'<table class="iac-meta">{cells}</table>'


def alert(kind: str, text: str) -> str:
    return f'<div class="iac-alert iac-alert-{esc(kind)}">{esc(text)}</div>'


def pre(marked: str) -> str:
    return f"<pre>{to_html(marked)}</pre>"


def plan_html(result: Any, *, token: str, source: str, title: str = "dataiku-iac plan") -> str:
    plan = result.plan
    rows = [
        ("Environment", plan.environment),
        ("Configuration", source),
        ("State", f"serial {plan.serial}, lineage {plan.lineage}"),
        ("Plan token", token if plan.has_changes else ""),
    ]
    body = meta_table(rows) + pre(render_plan(plan, HtmlStyle(), notes=result.notes))
    return page(title, body + plan_json_block(plan))


def plan_json_block(plan: Any) -> str:
    """The reviewable plan as JSON (what `dataiku-iac plan --json` prints), to paste into the
    apply macro or keep with a change request."""
    text = json.dumps(plan.to_json(), indent=2, default=str)
    return (
        "<details><summary>Plan JSON (paste into the apply macro to apply exactly this plan)</summary>"
        f'<pre class="iac-plan-json">{esc(text)}</pre></details>'
    )


def extract_plan_json(page_html: str) -> dict:
    """The plan JSON embedded by `plan_html` (for tests and tools reading macro results)."""
    match = re.search(r'<pre class="iac-plan-json">(.*?)</pre>', page_html, re.S)
    if match is None:
        raise ValueError("no plan JSON in this page")
    return json.loads(html.unescape(match.group(1)))


def apply_html(report: Any, *, source: str, title: str = "dataiku-iac apply") -> str:
    plan = report.plan.plan
    parts = [meta_table([("Environment", plan.environment), ("Configuration", source)])]
    parts.append(pre(render_plan(plan, HtmlStyle(), notes=report.plan.notes)))
    if report.result is not None:
        parts.append(pre(render_apply_summary(report.result, plan, HtmlStyle())))
        state = report.result.state
        parts.append(meta_table([("State written", f"serial {state.serial}")]))
    elif report.message:
        parts.append(alert("warn", report.message))
    govern = getattr(report, "govern", None)
    if govern is not None and report.result is not None:
        if govern.get("record_error"):
            parts.append(alert("warn", f"The outcome could not be written back to Govern change request "
                                       f"{govern['artifact_id']}: {govern['record_error']}"))
        else:
            parts.append(alert("ok", f"Approved in Govern by {govern['approval']['approver']}; the outcome was "
                                     f"written back to change request {govern['artifact_id']}."))
    return page(title, "".join(parts))


def drift_html(report: Any, *, source: str, policy: Optional[str] = None) -> str:
    from dataiku_iac.output.drift import render_drift

    rows = [("Environment", report.environment), ("Configuration", source), ("Policy", policy or "")]
    return page("dataiku-iac drift check", meta_table(rows) + pre(render_drift(report, HtmlStyle())))


def error_html(title: str, message: str) -> str:
    return page(title, alert("error", message))


def table_html(title: str, columns: list, rows: list, intro: str = "") -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    lead = f"<p>{esc(intro)}</p>" if intro else ""
    return page(title, f'{lead}<table class="iac-meta"><tr>{head}</tr>{body}</table>')
