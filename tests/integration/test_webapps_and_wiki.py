"""Webapps and wiki articles, built-in types (resources/webapp.py, resources/wiki_article.py), run as
a user does (the CLI in a subprocess) against the emulator: validate with file:line errors, plan,
apply, no changes, drift (code edited in DSS, an article moved), a markdown change shown as a diff,
import back to `No changes.` with the code and markdown written to files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "WW"
PROJECT = f"""\
project:
  key: {KEY}
  name: Webapps and wiki

webapps:
  - name: Sales board
    html_file: webapps/sales/body.html
    js_file: webapps/sales/app.js
    python_file: webapps/sales/backend.py
    backend:
      enabled: true
      auto_start: true
    tags: [reporting]
  - name: churn_dash
    type: dash
    python_file: webapps/churn/app.py

wiki_articles:
  - name: Project description
    content_file: wiki/home.md
    home: true
  - name: Data sources
    content_file: wiki/sources.md
    parent: Project description
  - name: Runbook
    content: "# Runbook\\n\\nRestart the scenario.\\n"
"""
FILES = {
    "webapps/sales/body.html": "<h1>Sales</h1>\n",
    "webapps/sales/app.js": "console.log('sales');\n",
    "webapps/sales/backend.py": "from flask import jsonify\n",
    "webapps/churn/app.py": "from dash import html\napp.layout = html.Div('churn')\n",
    "wiki/home.md": "# Project\n\nWhat it does.\n",
    "wiki/sources.md": "# Sources\n\n- orders\n- customers\n- returns\n",
}


def last_line(dss: Any, root: Path, *args: str, expect: int = 0) -> str:
    return run_cli(root, *args, env=cli_env(dss), expect=expect).last_line()


def webapps(dss: Any, key: str = KEY) -> dict[str, dict[str, Any]]:
    project = dss.client().get_project(key)
    return {item.name: project.get_webapp(item.id).get_settings().get_raw() for item in project.list_webapps()}


def wiki_tree(dss: Any, key: str = KEY) -> tuple[list[Any], Any, dict[str, str]]:
    """(the taxonomy with names for ids, the home's name, name -> markdown)."""
    wiki = dss.client().get_project(key).get_wiki()
    settings = wiki.get_settings()
    names, bodies = {}, {}
    for article in wiki.list_articles():
        data = article.get_data()
        names[article.article_id] = data.get_name()
        bodies[data.get_name()] = data.get_body()

    def named(nodes: list[dict[str, Any]]) -> list[Any]:
        return [(names[n["id"]], named(n["children"])) if n["children"] else names[n["id"]] for n in nodes]

    return named(settings.get_taxonomy()), names.get(settings.get_home_article_id()), bodies


def test_validate_reports_each_mistake_at_its_file_and_line(dss: Any, tmp_path: Path) -> None:
    bad = (
        PROJECT.replace("    python_file: webapps/churn/app.py\n", "    python_file: webapps/churn/missing.py\n"
                        "    html_file: webapps/sales/body.html\n")
        .replace("    parent: Project description\n", "    parent: Project descripton\n")
        .replace('    content: "# Runbook', '    home: true\n    content: "# Runbook')
    )
    root = write_config(tmp_path / "cfg", {"ww.yml": bad}, files=FILES)
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert "4 problems" in out, out
    assert re.search(r"projects/ww\.yml:16:18\b.*webapps/churn/missing\.py", out), out
    assert re.search(r"projects/ww\.yml:17:5\b.*a dash webapp has no html code", out), out
    assert re.search(r"projects/ww\.yml:25:5\b.*unknown wiki article 'Project descripton'.*did you mean 'Project description'", out), out
    assert re.search(r"projects/ww\.yml:27:5\b.*both the wiki's home", out), out
    run_cli(write_config(tmp_path / "good", {"ww.yml": PROJECT}, files=FILES), "validate", "-e", "dev", "--offline",
            env=cli_env(dss))


def test_plan_apply_drift_and_changes(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"ww.yml": PROJECT}, files=FILES)
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "webapp.WW.Sales board" in plan and "wiki_article.WW.Data sources" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    live = webapps(dss)
    sales = live["Sales board"]
    assert sales["type"] == "STANDARD" and sales["params"]["html"] == FILES["webapps/sales/body.html"]
    assert sales["params"]["python"] == FILES["webapps/sales/backend.py"] and sales["tags"] == ["reporting"]
    assert sales["params"]["backendEnabled"] is True and sales["params"]["autoStartBackend"] is True
    assert live["churn_dash"]["type"] == "DASH" and live["churn_dash"]["params"]["python"] == FILES["webapps/churn/app.py"]
    tree, home, bodies = wiki_tree(dss)
    assert tree == [("Project description", ["Data sources"]), "Runbook"] and home == "Project description", tree
    assert bodies["Data sources"] == FILES["wiki/sources.md"] and bodies["Runbook"].startswith("# Runbook"), bodies
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")

    # Drift: a backend's code edited in DSS, an article moved under another, the home changed.
    project = dss.client().get_project(KEY)
    webapp = project.get_webapp(next(i.id for i in project.list_webapps() if i.name == "Sales board"))
    webapp.start_or_restart_backend().wait_for_result()
    settings = webapp.get_settings()
    settings.get_raw()["params"]["python"] = "print('edited in DSS')\n"
    settings.save()
    wiki = project.get_wiki()
    ids = {a.get_data().get_name(): a.article_id for a in wiki.list_articles()}
    wiki_settings = wiki.get_settings()
    wiki_settings.move_article_in_taxonomy(ids["Runbook"], ids["Data sources"])
    wiki_settings.set_home_article_id(ids["Runbook"])
    wiki_settings.save()
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "webapp.WW.Sales board" in drift and "wiki_article.WW.Runbook" in drift, drift
    assert "wiki_article.WW.Project description" in drift, drift  # no longer home
    plan = run_cli(root, "plan", "-e", "dev", env=cli_env(dss)).stdout
    assert "if its backend is running, the apply restarts it" in plan.split("# webapp.WW.Sales board")[1], plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert webapps(dss)["Sales board"]["params"]["python"] == FILES["webapps/sales/backend.py"]
    assert webapp.get_state().running  # restarted on the code it serves
    tree, home, _ = wiki_tree(dss)
    assert tree == [("Project description", ["Data sources"]), "Runbook"] and home == "Project description", tree
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")

    # A markdown change is a plan change showing the lines that changed; a move, a rename, a new type.
    (root / "wiki" / "sources.md").write_text("# Sources\n\n- orders\n- customers (CRM)\n- returns\n", encoding="utf-8")
    changed = (PROJECT.replace("  - name: Runbook\n", "  - name: Operations runbook\n    parent: Data sources\n")
               .replace("    type: dash\n", "    type: streamlit\n"))
    (root / "projects" / "ww.yml").write_text(changed, encoding="utf-8")
    run_cli(root, "state", "mv", "-e", "dev", "wiki_article.WW.Runbook", "wiki_article.WW.Operations runbook", env=cli_env(dss))
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "~ content:\n" in plan, plan
    assert "          - - customers\n          + - customers (CRM)\n" in plan, plan  # only the line that changed
    assert "            - orders\n" in plan and "- # Sources" not in plan, plan  # context, not removed
    assert re.search(r"type = \"dash\" -> \"streamlit\"", plan), plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    tree, home, bodies = wiki_tree(dss)
    assert tree == [("Project description", [("Data sources", ["Operations runbook"])])], tree
    assert "customers (CRM)" in bodies["Data sources"]
    assert webapps(dss)["churn_dash"]["type"] == "STREAMLIT"
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")


def test_a_webapp_left_out_goes_only_with_its_project(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"wd.yml": PROJECT.replace(f"key: {KEY}", "key: WD")}, files=FILES)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    (root / "projects" / "wd.yml").write_text(PROJECT.replace(f"key: {KEY}", "key: WD").split("wiki_articles:")[0]
                                              .replace("  - name: churn_dash\n    type: dash\n    python_file: webapps/churn/app.py\n", ""),
                                              encoding="utf-8")
    out = run_cli(root, "plan", "-e", "dev", env=cli_env(dss), expect=1).output
    assert "webapp.WD.churn_dash cannot be deleted" in out, out
    assert "(`dataiku-iac state rm -e dev webapp.WD.churn_dash`)" in out, out  # pasteable: the environment given
    # A name with a space is quoted for the shell.
    (root / "projects" / "wd.yml").write_text(PROJECT.replace(f"key: {KEY}", "key: WD").split("webapps:")[0], encoding="utf-8")
    out = run_cli(root, "plan", "-e", "dev", env=cli_env(dss), expect=1).output
    assert "(`dataiku-iac state rm -e dev 'webapp.WD.Sales board'`)" in out, out
    # Articles left out are deleted (children before their parent).
    only_webapps = PROJECT.replace(f"key: {KEY}", "key: WD").split("wiki_articles:")[0]
    (root / "projects" / "wd.yml").write_text(only_webapps, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert wiki_tree(dss, "WD")[0] == []


def test_a_destroy_whose_project_delete_fails_keeps_its_webapps_in_the_state(dss: Any, tmp_path: Path) -> None:
    # Webapps go with their project: until its delete succeeds, they still exist in DSS.
    only_webapps = PROJECT.replace(f"key: {KEY}", "key: WF").split("wiki_articles:")[0]
    root = write_config(tmp_path / "cfg", {"wf.yml": only_webapps}, files=FILES)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    dss.admin.add_fault(method="DELETE", path=r"^/projects/WF$", status=403, nth=1, times=0)
    destroyed = run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=cli_env(dss), expect=None)
    assert [r["status"] for r in dss.admin.requests() if r["method"] == "DELETE" and r["path"] == "/projects/WF"] == [403], destroyed
    listed = run_cli(root, "state", "list", "-e", "dev", env=cli_env(dss)).stdout
    assert "webapp.WF.churn_dash" in listed and "webapp.WF.Sales board" in listed, (listed, destroyed)
    assert sorted(webapps(dss, "WF")) == ["Sales board", "churn_dash"]


def test_import_writes_code_and_markdown_files_and_plans_no_changes(dss: Any, tmp_path: Path) -> None:
    client = dss.client()
    project = client.create_project("WI", "Imported", "admin")
    webapp = project.create_webapp("Ops console")
    settings = webapp.get_settings()
    settings.get_raw()["params"].update(backendEnabled=True, python="print('backend')\n")
    settings.save()
    project.create_webapp("plain_bokeh", webapp_type="BOKEH")
    wiki = project.get_wiki()
    home = wiki.create_article("Welcome", content="# Welcome\n")
    wiki.create_article("How to / FAQ", parent_id=home.article_id, content="Q & A\r\n")
    wiki.create_article("Empty page")

    root = write_config(tmp_path / "cfg", {})
    run_cli(root, "import", "project", "WI", "-e", "dev", env=cli_env(dss))
    written = yaml.safe_load((root / "projects" / "wi.yml").read_text(encoding="utf-8"))
    ops = next(w for w in written["webapps"] if w["name"] == "Ops console")
    assert ops["backend"] == {"enabled": True} and (root / ops["python_file"]).read_text() == "print('backend')\n"
    articles = {a["name"]: a for a in written["wiki_articles"]}
    assert articles["Welcome"]["home"] is True and articles["How to / FAQ"]["parent"] == "Welcome"
    assert (root / articles["Welcome"]["content_file"]).read_text() == "# Welcome\n"
    assert "/" not in articles["How to / FAQ"]["content_file"].split("/", 1)[1]
    assert "content_file" not in articles["Empty page"]
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")


def test_many_articles_moved_side_by_side_keep_the_wiki_whole(dss: Any, tmp_path: Path) -> None:
    """Twelve articles created, then all moved under new parents with the home changed, at a
    parallelism of 8: each move is a read-modify-write of the wiki's one taxonomy document, so
    without the wiki's lock a save would drop another's move (DSS refuses a taxonomy leaving out an
    article; the emulator too)."""
    flat = "\n".join(f"  - name: page_{i}\n    content: \"page {i}\"" for i in range(12))
    project = f"project:\n  key: WP\n  name: Pages\n\nwiki_articles:\n{flat}\n"
    root = write_config(tmp_path / "cfg", {"wp.yml": project})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", "--parallelism", "8", env=cli_env(dss))
    assert sorted(wiki_tree(dss, "WP")[0]) == sorted(f"page_{i}" for i in range(12))  # created side by side
    # Pages 1..11 under page_0 (odd) or page_2 (even), page_5 home.
    nested = "\n".join(
        f"  - name: page_{i}\n    content: \"page {i}\""
        + ("" if i in (0, 2) else f"\n    parent: page_{0 if i % 2 else 2}")
        + ("\n    home: true" if i == 5 else "")
        for i in range(12))
    (root / "projects" / "wp.yml").write_text(f"project:\n  key: WP\n  name: Pages\n\nwiki_articles:\n{nested}\n",
                                              encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", "--parallelism", "8", env=cli_env(dss))
    tree, home, _ = wiki_tree(dss, "WP")
    by_parent = {node[0]: sorted(node[1]) for node in tree if isinstance(node, tuple)}
    assert by_parent == {"page_0": sorted(f"page_{i}" for i in range(1, 12, 2)),
                         "page_2": sorted(f"page_{i}" for i in range(4, 12, 2))}, tree
    assert home == "page_5"
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")


def test_moving_the_home_updates_both_articles_and_leaves_no_drift(dss: Any, tmp_path: Path) -> None:
    """`home: true` moved from one article to another: DSS changes the old home too (a side effect
    of the new home's update), so the plan shows both and the apply records both; before, the old
    home's state kept `home: true` and `drift` reported it forever while `plan` said No changes."""
    root = write_config(tmp_path / "cfg", {"wm.yml": PROJECT.replace(f"key: {KEY}", "key: WM")}, files=FILES)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    moved = (PROJECT.replace(f"key: {KEY}", "key: WM").replace("    home: true\n", "")
             .replace('  - name: Runbook\n', '  - name: Runbook\n    home: true\n'))
    (root / "projects" / "wm.yml").write_text(moved, encoding="utf-8")
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "wiki_article.WM.Runbook" in plan and "wiki_article.WM.Project description" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert wiki_tree(dss, "WM")[1] == "Runbook"
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")
    run_cli(root, "drift", "-e", "dev", env=cli_env(dss))  # exit 0: the state is what DSS has
