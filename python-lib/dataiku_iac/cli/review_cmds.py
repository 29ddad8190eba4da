"""`dataiku-iac show PLANFILE`: a saved plan as text, JSON, Markdown (a review comment) or GitLab's
Terraform report; `dataiku-iac comment PLANFILE`: that Markdown as one sticky comment on the pull/
merge request (cli/pr_comment.py). Both offline as far as DSS goes: they read the file only,
never DSS nor the state.

A plan file whose digest no longer matches its content (edited or damaged) is refused, as
apply refuses it: what is reviewed is what apply would accept. Whether the plan is still
current (state serial, configuration) is apply's check; `show` cannot know without DSS.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from dataiku_iac.cli.main import Context, cli, handle_errors
from dataiku_iac.cli.pr_comment import PROVIDERS, Overrides, post
from dataiku_iac.engine.saved_plans import check_unmodified
from dataiku_iac.errors import IacError
from dataiku_iac.output.markdown import DEFAULT_MAX_CHARS, gitlab_report, render_markdown
from dataiku_iac.output.text import render_plan
from dataiku_iac.planner.plan import Plan

FORMATS = ("text", "json", "markdown", "gitlab")
# Below this, the summary, the destructive changes and the warnings may not fit.
MIN_MAX_CHARS = 16_000

planfile_argument = click.argument("planfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
max_chars_option = click.option(
    "--max-chars", type=click.IntRange(MIN_MAX_CHARS, None), default=DEFAULT_MAX_CHARS, show_default=True,
    help="Markdown: the longest document; beyond it diffs are left out (GitHub's comment limit is 65,536).",
)
artifact_option = click.option(
    "--artifact", metavar="TEXT", default="",
    help="Markdown: where the full plan is (a CI artifact's name or URL), said when the document is truncated.",
)


def read_saved_plan(path: Path) -> tuple[dict[str, Any], Plan]:
    """The saved plan's JSON and its record; refused when its digest does not match its content."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IacError(f"cannot read the plan file {path}: {exc}") from None
    if not isinstance(saved, dict) or "resource_changes" not in saved or "digest" not in saved:
        raise IacError(f"{path} is not a plan saved by `dataiku-iac plan --out`")
    check_unmodified(saved, f"the saved plan file {path}")
    try:
        return saved, Plan.from_json(saved)
    except (KeyError, TypeError, ValueError) as exc:
        raise IacError(f"{path} is not a plan saved by `dataiku-iac plan --out`: {type(exc).__name__}: {exc}") from None


@cli.command()
@planfile_argument
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text as `plan` prints it; json as `plan --json`; markdown for a pull request; gitlab: GitLab's Terraform report.")
@max_chars_option
@artifact_option
@click.pass_obj
@handle_errors()
def show(obj: Context, planfile: Path, output_format: str, max_chars: int, artifact: str) -> None:
    """Show a saved plan (offline): text, JSON, Markdown for review, or GitLab's Terraform report."""
    saved, plan_record = read_saved_plan(planfile)
    if output_format == "json":
        click.echo(json.dumps(saved, indent=2, default=str))
    elif output_format == "gitlab":
        click.echo(json.dumps(gitlab_report(plan_record)))
    elif output_format == "markdown":
        click.echo(render_markdown(plan_record, digest=saved["digest"], max_chars=max_chars, artifact=artifact), nl=False)
    else:
        click.echo(render_plan(plan_record, obj.style), nl=False)


@cli.command()
@planfile_argument
@click.option("--provider", type=click.Choice(sorted(PROVIDERS)), required=True, help="Where the pull/merge request is.")
@click.option("--api-url", default="", metavar="URL", help="The provider's API (default: GITHUB_API_URL, CI_API_V4_URL, SYSTEM_COLLECTIONURI).")
@click.option("--project", default="", metavar="ID", help="GitLab project (CI_PROJECT_ID); Azure DevOps team project (SYSTEM_TEAMPROJECTID).")
@click.option("--repository", default="", metavar="ID", help="GitHub OWNER/NAME (GITHUB_REPOSITORY); Azure DevOps repository id (BUILD_REPOSITORY_ID).")
@click.option("--pull-request", default="", metavar="N", help="Pull request number, merge request IID (default: from the CI's environment).")
@click.option("--token-env", default="", metavar="NAME", help="The variable holding the token (default: GITHUB_TOKEN, GITLAB_TOKEN, SYSTEM_ACCESSTOKEN).")
@max_chars_option
@artifact_option
@click.pass_obj
@handle_errors()
def comment(obj: Context, planfile: Path, provider: str, api_url: str, project: str, repository: str, pull_request: str,
            token_env: str, max_chars: int, artifact: str) -> None:
    """Post the saved plan as one sticky comment on the pull/merge request (updated on each run)."""
    saved, plan_record = read_saved_plan(planfile)
    chosen = PROVIDERS[provider]
    given = Overrides(api_url=api_url, project=project, repository=repository, pull_request=pull_request, token_env=token_env)

    def render(run_link: str) -> str:
        where = artifact or (f"the artifacts of [this CI run]({run_link})" if run_link else "")
        return render_markdown(plan_record, digest=saved["digest"], max_chars=max_chars, artifact=where)

    posted, target = post(chosen, os.environ, given, render, plan_record.environment)
    where = target.describe(chosen)
    link = f": {posted.url}" if posted.url else f" (id {posted.id})"
    if posted.action == "unchanged":
        click.echo(f"The plan comment on {where} is up to date{link}.")
    else:
        click.echo(f"{posted.action.capitalize()} the plan comment of environment {plan_record.environment} on {where}{link}.")
    if posted.others:
        click.echo(f"Note: {len(posted.others)} other comment(s) on {where} carry the marker of environment "
                   f"{plan_record.environment} (id {', '.join(posted.others)}); only the first is kept up to date: "
                   "delete the others.", err=True)
