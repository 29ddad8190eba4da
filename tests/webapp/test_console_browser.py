"""The console in headless Chromium: the page DSS would serve, the backend DSS would run, the emulator.

Run with `make test-browser`. Needs Debian's chromium at /usr/bin/chromium (Playwright never
downloads a browser here). Screenshots go to test-artifacts/webapp/ for a human to look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.webapp.console_setup import ADMIN, ALICE, DEMO_KEY, FILES, OPS_PROJECT, World, write_library
from tests.webapp.harness import ARTIFACTS, ConsoleServer, backend_prefix

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm; Chromium then crashes

    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 30_000
CREATE_GREEN = "rgb(26, 127, 55)"  # --iac-create
UPDATE_AMBER = "rgb(154, 103, 0)"  # --iac-update


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get update && apt-get install -y chromium")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def server(backend: Any) -> Iterator[ConsoleServer]:
    with ConsoleServer(backend, backend_prefix(OPS_PROJECT)) as running:
        yield running


class Console:
    """One user's browser tab on the console, with what the page did recorded for checks."""

    def __init__(self, browser: Any, server: ConsoleServer, user: str, name: str):
        from playwright.sync_api import expect

        self.expect = expect
        self.name = name
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        # What the browser holds in DSS: a session cookie (the emulator's stand-in for it).
        self.context.add_cookies([{"name": "dss_emulator_user", "value": user, "url": server.url}])
        self.page = self.context.new_page()
        self.page.set_default_timeout(UI_TIMEOUT_MS)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on(
            "console",
            lambda msg: (
                self.errors.append(msg.text) if msg.type == "error" and "403" not in msg.text else None
            ),
        )
        self.page.goto(server.url)
        self.expect(self.page.locator("#iac-whoami")).to_contain_text("Signed in as", timeout=UI_TIMEOUT_MS)

    def shot(self, step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def plan(self) -> None:
        self.page.click("#iac-plan-button")
        self.expect(self.page.locator("#iac-plan-summary")).not_to_be_empty(timeout=UI_TIMEOUT_MS)

    def tab(self, name: str) -> None:
        self.page.click(f"#tab-{name}")
        self.expect(self.page.locator(f"#panel-{name}")).to_be_visible()

    def color(self, selector: str) -> str:
        return self.page.eval_on_selector(selector, "node => getComputedStyle(node).color")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_console(browser: Any, server: ConsoleServer) -> Iterator[Any]:
    opened: list[Console] = []

    def open_as(user: str, name: str) -> Console:
        console = Console(browser, server, user, name)
        opened.append(console)
        return console

    yield open_as
    for console in opened:
        try:
            assert not console.errors, f"errors in the page: {console.errors}"
            offsite = [u for u in console.requests if not u.startswith(server.url)]
            assert not offsite, f"the console must work offline; it fetched {offsite}"
        finally:
            console.close()


def test_plan_review_apply_history(open_console: Any, world: World, dss: Any) -> None:
    ui = open_console(ADMIN, "admin-flow")
    page, expect = ui.page, ui.expect
    expect(page.locator("#iac-whoami")).to_have_text("Signed in as Ada Admin (DSS administrator)")
    expect(page.locator("#iac-library-project")).to_have_value(OPS_PROJECT)
    expect(page.locator("#iac-environment")).to_have_value("dev")

    # plan → review: the tree, its counts and per-field values
    ui.plan()
    expect(page.locator("#iac-plan-summary")).to_have_text("Plan: 3 to add, 0 to change, 0 to destroy.")
    project = page.locator(f".iac-project[data-project={DEMO_KEY}]")
    expect(project.locator(".iac-counts")).to_have_text("3 create")
    expect(project.locator(".iac-resource[data-action=create]")).to_have_count(3)
    expect(project.locator(".iac-resource .iac-address")).to_have_text(
        [f"project.{DEMO_KEY}", f"dataset.{DEMO_KEY}.ORDERS", f"dataset.{DEMO_KEY}.TEST_DATA"]
    )
    assert ui.color(f"[data-address='dataset.{DEMO_KEY}.TEST_DATA'] .iac-symbol") == CREATE_GREEN
    expect(page.locator(".iac-resource details[open]")).to_have_count(
        3
    )  # a small plan opens with every diff shown
    diff = page.locator(f"[data-address='dataset.{DEMO_KEY}.TEST_DATA'] .iac-diff")
    expect(diff.locator("tr.iac-field-add th")).to_contain_text(["connection", "format"])
    expect(diff).to_contain_text('"parquet"')
    expect(page.locator(f"[data-address='project.{DEMO_KEY}'] .iac-diff")).to_contain_text("fingerprint")
    expect(page.locator("#iac-apply-button")).to_be_disabled()
    ui.shot("1-plan")

    # approve → apply, watched while it runs (the emulator is slowed so progress is visible)
    page.check("#iac-approve-check")
    expect(page.locator("#iac-apply-button")).to_be_enabled()
    dss.admin.set_latency(120)
    page.click("#iac-apply-button")
    expect(page.locator("#panel-apply")).to_be_visible()
    expect(page.locator("#iac-apply-status")).to_contain_text("Applying…")
    # Before its first change the job reads the library, takes the lock and re-checks the plan:
    # about 40 requests, 5 s at this latency on a quiet machine, so wait as long as the apply may take.
    expect(page.locator("#iac-apply-events .iac-event-start").first).to_be_visible(timeout=60_000)
    ui.shot("2-apply-running")
    expect(page.locator("#iac-apply-status")).to_contain_text("Apply complete!", timeout=60_000)
    dss.admin.set_latency(0)
    expect(page.locator("#iac-apply-status")).to_contain_text("state serial 1")
    assert page.eval_on_selector("#iac-apply-progress", "p => [p.value, p.max]") == [3, 3]
    expect(page.locator("#iac-apply-events .iac-event-done")).to_have_count(3)
    expect(page.locator("#iac-approve")).to_be_hidden()
    ui.shot("3-apply-done")

    # history: the new serial is there and current
    ui.tab("history")
    row = page.locator("#iac-history-rows tr[data-serial='1']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("current")
    expect(row.locator("td").nth(3)).to_have_text("apply")
    ui.shot("4-history")
    assert DEMO_KEY in dss.client().list_project_keys()

    # planning again: nothing to do
    ui.tab("plan")
    ui.plan()
    expect(page.locator("#iac-plan-summary")).to_have_text("No changes. DSS matches the configuration.")


def test_a_non_admin_is_refused_apply_in_the_ui(open_console: Any, world: World, dss: Any) -> None:
    ui = open_console(ALICE, "non-admin")
    page, expect = ui.page, ui.expect
    expect(page.locator("#iac-whoami")).to_have_text("Signed in as Alice Analyst (user)")
    ui.plan()
    expect(page.locator("#iac-plan-summary")).to_have_text("Plan: 3 to add, 0 to change, 0 to destroy.")
    expect(page.locator("#iac-apply-hint")).to_contain_text("You cannot apply this plan yourself")
    page.check("#iac-approve-check")
    page.click("#iac-apply-button")  # the hint is advice: the backend is what refuses
    error = page.locator("#iac-error")
    expect(error).to_be_visible()
    expect(error.locator("#iac-error-kind")).to_have_text("Forbidden:")
    expect(error).to_contain_text("You may not apply this plan")
    expect(error).to_contain_text(f"{ALICE} may not apply")
    expect(page.locator("#iac-apply-empty")).to_be_attached()
    ui.shot("refused")
    assert DEMO_KEY not in dss.client().list_project_keys()
    page.click("#iac-error-close")
    expect(error).to_be_hidden()


def test_update_diff_drift_and_lock_views(open_console: Any, world: World, dss: Any, as_user: Any) -> None:
    from tests.webapp.test_console_api import apply_plan, hold_lock, plan

    admin_api = as_user(ADMIN)
    assert apply_plan(admin_api, plan(admin_api, world))["status"] == "succeeded"
    edited = (
        FILES["projects/demo.yml"].replace("region: eu", "region: us").replace("format: csv", "format: parquet")
    )
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": edited})

    ui = open_console(ADMIN, "changes")
    page, expect = ui.page, ui.expect
    ui.plan()
    expect(page.locator("#iac-plan-summary")).to_contain_text("to change")
    update = page.locator(f"[data-address='project.{DEMO_KEY}']")
    expect(update).to_have_attribute("data-action", "update")
    assert ui.color(f"[data-address='project.{DEMO_KEY}'] .iac-symbol") == UPDATE_AMBER
    row = update.locator("tr.iac-field-change")
    expect(row.locator("th")).to_have_text("variables.standard.region")
    expect(row.locator(".iac-before")).to_have_text('"eu"')
    expect(row.locator(".iac-after")).to_have_text('"us"')
    update.locator("summary").click()  # fold it, then show the unchanged resources too
    page.check("#iac-show-noop")
    expect(page.locator(f"[data-address='dataset.{DEMO_KEY}.TEST_DATA']")).to_have_attribute(
        "data-action", "no-op"
    )
    expect(update.locator("details")).not_to_have_attribute("open", "")  # folding survives the re-render
    update.locator("summary").click()
    ui.shot("1-update-plan")

    # drift: someone edits the project by hand in DSS
    project = dss.client().get_project(DEMO_KEY)
    variables = project.get_variables()
    variables["standard"]["region"] = "edited in the DSS UI"
    project.set_variables(variables)
    page.click("#iac-drift-button")
    expect(page.locator("#panel-drift")).to_be_visible()
    expect(page.locator("#iac-drift-summary")).to_contain_text("Drift found: 1 changed")
    drifted = page.locator(".iac-drift-item tr.iac-field-change")
    expect(drifted.locator("th")).to_have_text("variables.standard.region")
    expect(drifted.locator(".iac-after")).to_have_text('"edited in the DSS UI"')
    ui.shot("2-drift")

    # lock: a stale lock, shown with its holder
    lock_id = hold_lock(world, dss)
    ui.tab("lock")
    expect(page.locator("#iac-lock-facts")).to_contain_text(lock_id)
    expect(page.locator("#iac-lock-facts")).to_contain_text("active, expires in")
    ui.shot("3-lock")
    page.fill("#iac-unlock-id", lock_id)
    page.click("#iac-unlock-button")
    expect(page.locator("#iac-lock-empty")).to_be_visible()


def test_the_page_escapes_what_it_shows(open_console: Any, world: World, dss: Any) -> None:
    """Names from the config reach the DOM as text: markup in them is never interpreted."""
    hostile = FILES["projects/demo.yml"].replace(
        "name: Demo Project", 'name: "<img src=x onerror=window.pwned=1>"'
    )
    hostile = hostile.replace("region: eu", 'region: "<script>window.pwned=2</script>"')
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": hostile})
    ui = open_console(ADMIN, "escaping")
    ui.plan()
    ui.expect(ui.page.locator(f"[data-address='project.{DEMO_KEY}'] .iac-diff")).to_contain_text("<img src=x")
    assert ui.page.evaluate("() => window.pwned === undefined")
    assert ui.page.locator(".iac-diff img, .iac-diff script").count() == 0


def test_tabs_work_from_the_keyboard(open_console: Any, world: World) -> None:
    ui = open_console(ADMIN, "keyboard")
    page, expect = ui.page, ui.expect
    page.focus("#tab-plan")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-apply")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-apply")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-drift")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-drift")).to_be_visible()
    expect(page.locator("#panel-plan")).to_be_hidden()
    labels = page.eval_on_selector_all(
        "#iac-source-form input:not([type=radio]):not([type=checkbox])", "ns => ns.map(n => n.labels.length)"
    )
    assert all(count == 1 for count in labels), "every input has a label"
    assert json.loads(page.evaluate("() => JSON.stringify(document.activeElement.id)")) == "tab-drift"


# -- the Graph tab (issue 15 §7): the dependency graph drawn from the backend's layout ----------------

GRAPH_FLOW = FILES["projects/demo.yml"] + """\
recipes:
  - name: copy_orders
    type: python
    inputs: [ORDERS]
    outputs: [TEST_DATA]
    code: "print('copy')\\n"
"""


def test_the_graph_tab_draws_the_dependency_graph(open_console: Any, world: World, dss: Any) -> None:
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": GRAPH_FLOW})
    ui = open_console(ADMIN, "graph")
    page, expect = ui.page, ui.expect
    ui.tab("graph")  # opening the tab draws it
    expect(page.locator("#iac-graph-summary")).to_have_text("dataiku-iac dev: 4 resources, 5 dependencies.")
    expect(page.locator("#iac-graph-svg .iac-graph-node")).to_have_count(4)
    recipe = page.locator(f"#iac-graph-svg [data-address='recipe.{DEMO_KEY}.copy_orders']")
    expect(recipe).to_contain_text("copy_orders")
    edges = page.eval_on_selector_all("#iac-graph-svg .iac-graph-edge", "ns => ns.map(n => [n.dataset.from, n.dataset.to])")
    assert sorted(edges) == [
        [f"recipe.{DEMO_KEY}.copy_orders", f"dataset.{DEMO_KEY}.ORDERS"],
        [f"recipe.{DEMO_KEY}.copy_orders", f"dataset.{DEMO_KEY}.TEST_DATA"],
    ]
    expect(page.locator("#iac-graph-legend")).to_contain_text("those 3 arrows are not drawn")
    # dependencies stand left of what depends on them
    box = {a: page.locator(f"#iac-graph-svg [data-address='{a}'] rect").first.bounding_box()
           for a in (f"dataset.{DEMO_KEY}.ORDERS", f"recipe.{DEMO_KEY}.copy_orders", f"project.{DEMO_KEY}")}
    assert box[f"project.{DEMO_KEY}"]["x"] < box[f"dataset.{DEMO_KEY}.ORDERS"]["x"] < box[f"recipe.{DEMO_KEY}.copy_orders"]["x"]
    ui.shot("graph")
    # the button draws it again after a change of the configuration
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": FILES["projects/demo.yml"]})
    page.click("#iac-graph-refresh")
    expect(page.locator("#iac-graph-svg .iac-graph-node")).to_have_count(3)
