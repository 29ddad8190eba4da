"""Jobs build datasets: the recipes producing the targets run on the stored rows (DuckDB).

A job is planned under the store lock (which recipes run, in flow order, per the build mode), then
runs in a thread: each recipe is one activity that reads its inputs' rows, computes its outputs
(recipe_sql.py) and writes them in one transaction, so a failing recipe leaves its outputs as they
were. The job fails at the first failing activity; its log says why (docs/emulator.md, "Jobs").
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import traceback
from typing import Any, Dict, List, Optional, Set, Tuple

from . import dataset_rows, errors, evaluation_stores, ml_scoring, ml_training, python_recipes, saved_models
from .app import App
from .jsoncopy import clone
from .recipe_sql import COMPILERS, Input, Unsupported, compile_pivot, output_refs
from .rows import Write, dss_type, duck_type
from .store import ProjectData

JOB_TYPES = (
    "NON_RECURSIVE_FORCED_BUILD",
    "RECURSIVE_BUILD",
    "RECURSIVE_FORCED_BUILD",
    "RECURSIVE_MISSING_ONLY_BUILD",
    "REVERSE_FORCED_BUILD",  # scenario steps: "build flow outputs reachable from here"
)
INLINE_WAIT_S = 5.0  # a job start answers once the job is done, or after this long (then RUNNING)


class ActivityFailed(Exception):
    """A recipe failed; the message goes to the job log and the job fails."""


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y/%m/%d-%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000 % 1000):03d}"


def _inputs(recipe: Dict[str, Any]) -> List[str]:
    return [
        i.get("ref")
        for r in (recipe.get("inputs") or {}).values()
        for i in r.get("items") or []
        if i.get("ref")
    ]


def buildable(proj: ProjectData, kind: str) -> Dict[str, Any]:
    """The project's objects of a job output's type (DATASET, MANAGED_FOLDER, SAVED_MODEL)."""
    if kind == "MANAGED_FOLDER":
        return proj.folders
    if kind == "SAVED_MODEL":
        return proj.collection(saved_models.SAVED_MODELS)
    if kind == "MODEL_EVALUATION_STORE":
        return proj.collection(evaluation_stores.STORES)
    return proj.datasets


def producer(proj: ProjectData, dataset: str) -> Optional[str]:
    """The recipe writing ``dataset`` (DSS allows one)."""
    for name, recipe in sorted(proj.recipes.items()):
        if dataset in output_refs(recipe):
            return name
    return None


def recipe_version(proj: ProjectData, name: str) -> str:
    recipe = proj.recipes[name]
    digest = hashlib.sha1(proj.payloads.get(name, "").encode("utf-8")).hexdigest()
    return json.dumps([recipe.get("versionTag"), digest], sort_keys=True)


def data_version(app: App, proj: ProjectData, dataset: str) -> Any:
    model = proj.collection(saved_models.SAVED_MODELS).get(dataset)
    if model is not None:  # a scoring recipe's model: its active version is what it reads
        return {"activeVersion": model.get("activeVersion")}
    doc = proj.datasets.get(dataset)
    if doc is None:
        return None
    if doc.get("type") in dataset_rows.FILE_SOURCED:
        return [list(f) for f in app.store.upload_files(proj.key, dataset).list_files()]
    return app.store.rows.version(proj.key, dataset)


# ---------------------------------------------------------------- planning


class Planner:
    """Which recipes a job runs, in an order where every recipe runs after those it reads from."""

    def __init__(self, app: App, proj: ProjectData, job_type: str) -> None:
        self.app, self.proj, self.job_type = app, proj, job_type
        self.order: List[str] = []
        self.decided: Dict[str, bool] = {}  # dataset -> whether it is rebuilt
        self.visiting: Set[str] = set()

    def plan(self, targets: List[str]) -> List[str]:
        if self.job_type == "REVERSE_FORCED_BUILD":
            return self.downstream(targets)
        for target in targets:
            self.visit(target, True)
        return self.order

    def downstream(self, targets: List[str]) -> List[str]:
        """The targets' recipes and every recipe reading (transitively) what they write, each
        after the recipes it reads from."""
        chosen = {r for r in (producer(self.proj, t) for t in targets) if r}
        reached = set(targets)
        grown = True
        while grown:
            grown = False
            for name, recipe in self.proj.recipes.items():
                if name not in chosen and reached.intersection(_inputs(recipe)):
                    chosen.add(name)
                    reached.update(output_refs(recipe))
                    grown = True
            for name in chosen:
                reached.update(output_refs(self.proj.recipes[name]))
        self.job_type = "RECURSIVE_FORCED_BUILD"
        for name in sorted(chosen):
            for out in output_refs(self.proj.recipes[name]):
                self._visit_within(out, chosen)
        return self.order

    def _visit_within(self, dataset: str, chosen: Set[str]) -> None:
        recipe = producer(self.proj, dataset)
        if recipe is None or recipe not in chosen or recipe in self.order or dataset in self.visiting:
            return
        self.visiting.add(dataset)
        for ref in _inputs(self.proj.recipes[recipe]):
            self._visit_within(ref, chosen)
        self.visiting.discard(dataset)
        if recipe not in self.order:
            self.order.append(recipe)

    def visit(self, dataset: str, is_target: bool) -> bool:
        if dataset in self.decided:
            return self.decided[dataset]
        recipe = producer(self.proj, dataset) if "." not in dataset else None
        if recipe is None or dataset in self.visiting:
            return False
        self.visiting.add(dataset)
        upstream = False
        if self.job_type != "NON_RECURSIVE_FORCED_BUILD":
            for ref in _inputs(self.proj.recipes[recipe]):
                upstream = self.visit(ref, False) or upstream
        self.visiting.discard(dataset)
        rebuild = self._needed(dataset, recipe, is_target, upstream)
        self.decided[dataset] = rebuild
        if rebuild and recipe not in self.order:
            self.order.append(recipe)
        return rebuild

    def _needed(self, dataset: str, recipe: str, is_target: bool, upstream: bool) -> bool:
        if self.job_type == "NON_RECURSIVE_FORCED_BUILD":
            return is_target
        if self.job_type == "RECURSIVE_FORCED_BUILD":
            return True
        if self.job_type == "RECURSIVE_MISSING_ONLY_BUILD":
            return upstream or not self.app.store.rows.has_rows(self.proj.key, dataset)
        return upstream or self._out_of_date(dataset, recipe)

    def _out_of_date(self, dataset: str, recipe: str) -> bool:
        """Smart rebuild: never built, the recipe changed, or an input's data changed since."""
        record = self.app.runtime.build_record(self.proj.key, dataset)
        if record is None or record.get("recipe") != recipe_version(self.proj, recipe):
            return True
        return any(
            record.get("inputs", {}).get(ref) != data_version(self.app, self.proj, ref)
            for ref in _inputs(self.proj.recipes[recipe])
        )


# ---------------------------------------------------------------- running


class JobRun:
    """One job: its activities run one after the other in a thread."""

    def __init__(
        self, app: App, project_key: str, job_id: str, recipes: List[str], auto_schema: bool, login: str
    ) -> None:
        self.app, self.pk, self.job_id, self.login = app, project_key, job_id, login
        self.recipes, self.auto_schema = recipes, auto_schema
        self.done = threading.Event()
        self.generation = app.store.generation

    def log(self, activity: Optional[str], level: str, message: str) -> None:
        for line in message.splitlines() or [""]:
            self.app.runtime.log_job(
                self.pk, self.job_id, activity, f"[{_stamp()}] [{level}] [dku.job] - {line}"
            )

    def start(self) -> None:
        threading.Thread(target=self.run, name=f"job-{self.job_id}", daemon=True).start()

    def run(self) -> str:
        state = "DONE"
        try:
            self.log(
                None,
                "INFO",
                f"Job {self.job_id}: {len(self.recipes)} activit{'y' if len(self.recipes) == 1 else 'ies'} to run",
            )
            if not self.recipes:
                self.log(None, "INFO", "Nothing to do: every target is up to date or has no recipe")
            for recipe in self.recipes:
                if not self.activity(recipe):
                    state = "FAILED"
                    break
        finally:
            self._finish(state)
        return state

    def _finish(self, state: str) -> None:
        now = int(time.time() * 1000)

        def close(status: Dict[str, Any]) -> None:
            status.update(state=state, endTime=now, jobEndTime=now)
            for act in status["activities"].values():
                if act["state"] == "NOT_STARTED":
                    act["state"] = "SKIPPED"

        self.app.runtime.update_job(self.pk, self.job_id, close)
        self.log(None, "INFO" if state == "DONE" else "ERROR", f"Job {self.job_id} finished: {state}")
        self.done.set()

    def _set_activity(self, activity: str, **fields: Any) -> None:
        self.app.runtime.update_job(self.pk, self.job_id, lambda s: s["activities"][activity].update(fields))

    def activity(self, recipe: str) -> bool:
        activity = activity_id(self.app, self.pk, recipe)
        started = int(time.time() * 1000)
        self._set_activity(activity, state="RUNNING", startTime=started)
        self.log(activity, "INFO", f"Running recipe {recipe}")
        try:
            written = run_recipe(
                self.app, self.pk, recipe, self.auto_schema, self.generation, self.login, self.job_id
            )
        except (ActivityFailed, Unsupported, errors.DSSError) as exc:
            self._built(recipe, started, False)
            return self._failed(activity, recipe, str(exc))
        except Exception as exc:  # the engine's own error, or the SQL's: the job fails with it
            self._built(recipe, started, False)
            return self._failed(activity, recipe, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        for output, count in written.items():
            self.log(activity, "INFO", f"Wrote {count} row(s) to {output}")
        self._set_activity(activity, state="DONE", endTime=int(time.time() * 1000))
        self._built(recipe, started, True)
        return True

    def _built(self, recipe: str, started: int, success: bool) -> None:
        """What `dataset.get_info()` says of the last build of the recipe's outputs."""
        proj = self.app.store.projects.get(self.pk)
        info = {
            "buildStartTime": started,
            "buildEndTime": int(time.time() * 1000),
            "buildSuccess": success,
            "jobId": self.job_id,
        }
        for ref in output_refs(proj.recipes.get(recipe, {})) if proj else []:
            self.app.runtime.set_last_build(self.pk, ref, info)

    def _failed(self, activity: str, recipe: str, message: str) -> bool:
        self.log(activity, "ERROR", f"Activity of recipe {recipe} failed: {message}")
        self._set_activity(
            activity, state="FAILED", endTime=int(time.time() * 1000), error=message.splitlines()[0]
        )
        return False


def activity_id(app: App, pk: str, recipe: str) -> str:
    proj = app.store.projects.get(pk)
    outputs = output_refs(proj.recipes.get(recipe, {})) if proj else []
    return f"compute_{outputs[0] if outputs else recipe}_NP"


def start_job(
    app: App,
    proj: ProjectData,
    job_type: str,
    outputs: List[Dict[str, Any]],
    login: str,
    auto_schema: bool = False,
) -> Tuple[Dict[str, Any], JobRun]:
    """Plan the job (the caller holds the store lock), record it RUNNING, and return its run, not
    started."""
    if job_type not in JOB_TYPES:
        raise errors.bad_request(f"Invalid job type: {job_type} (one of {', '.join(JOB_TYPES)})")
    targets = [
        o["id"]
        for o in outputs
        if o.get("type", "DATASET") in ("DATASET", "SAVED_MODEL", "MODEL_EVALUATION_STORE") and o.get("projectKey", proj.key) == proj.key
    ]
    recipes = Planner(app, proj, job_type).plan(targets)
    status = app.runtime.new_job(proj.key, job_type, outputs, login)
    job_id = status["def"]["id"]
    activities = {
        activity_id(app, proj.key, r): {
            "activityId": activity_id(app, proj.key, r),
            "recipeName": r,
            "recipeType": proj.recipes[r].get("type"),
            "targets": output_refs(proj.recipes[r]),
            "state": "NOT_STARTED",
        }
        for r in recipes
    }
    app.runtime.update_job(proj.key, job_id, lambda s: s["activities"].update(activities))
    return status, JobRun(app, proj.key, job_id, recipes, auto_schema, login)


# ---------------------------------------------------------------- one recipe


class Snapshot:
    """What a recipe run reads of the configuration, copied under the store lock."""

    def __init__(self, app: App, pk: str, name: str) -> None:
        with app.store.lock:
            proj = app.store.projects.get(pk)
            if proj is None or name not in proj.recipes:
                raise ActivityFailed(f"Recipe {pk}.{name} does not exist")
            self.recipe = clone(proj.recipes[name])
            self.payload = proj.payloads.get(name, "")
            self.variables = {**app.store.global_variables, **proj.variables, **proj.local_variables}
            self.inputs: List[Tuple[str, Dict[str, Any]]] = []
            # A scoring or evaluation recipe's saved model (input) and evaluation store (output) are
            # not datasets: ml_scoring reads and writes them.
            models, stores = proj.collection(saved_models.SAVED_MODELS), proj.collection(evaluation_stores.STORES)
            for ref in _inputs(self.recipe):
                if ref in models:
                    continue
                doc = self._dataset(app, pk, ref, "input")
                self.inputs.append((ref, doc))
            self.outputs = {
                ref: self._dataset(app, pk, ref, "output") for ref in output_refs(self.recipe) if ref not in stores
            }
            self.versions = {ref: data_version(app, proj, ref) for ref in _inputs(self.recipe)}
            self.recipe_version = recipe_version(proj, name)

    @staticmethod
    def _dataset(app: App, pk: str, ref: str, role: str) -> Dict[str, Any]:
        owner, _, name = ref.rpartition(".") if "." in ref else (pk, "", ref)
        proj = app.store.projects.get(owner)
        doc = proj.datasets.get(name) if proj else None
        if doc is None:
            raise ActivityFailed(
                f"The recipe's {role} dataset {owner}.{name} does not exist (folders are not built by the emulator)"
            )
        return {**clone(doc), "_pk": owner}


def run_recipe(
    app: App, pk: str, name: str, auto_schema: bool, generation: int, login: str = "admin", job_id: str = ""
) -> Dict[str, int]:
    rtype_of = _recipe_type(app, pk, name)
    if rtype_of in ml_training.TRAINING_RECIPES.values():
        return run_training_recipe(app, pk, name, generation, login, job_id)
    if rtype_of in ml_scoring.ML_RECIPES:
        return run_ml_recipe(app, pk, name, auto_schema, generation, login)
    snap = Snapshot(app, pk, name)
    rtype = snap.recipe.get("type")
    if rtype == "python":
        return run_python_recipe(app, pk, snap, login)
    rows = app.store.rows
    views: List[str] = []
    with rows.lock:
        try:
            inputs = []
            for i, (ref, doc) in enumerate(snap.inputs):
                view = f"__in_{i}"
                rows.create_temp_view(view, dataset_rows.read_sql(app.store, doc["_pk"], doc))
                views.append(view)
                inputs.append(Input(ref, view, dataset_rows.schema_columns(doc)))
            if rtype == "sql_query":
                compiled = sql_query(app, snap, inputs, views)
            elif rtype == "pivot":
                compiled = compile_pivot(snap.recipe, snap.payload, inputs, rows.query)
            elif rtype in COMPILERS:
                compiled = COMPILERS[str(rtype)](snap.recipe, snap.payload, inputs)
            else:
                raise Unsupported(f"The emulator does not execute recipes of type {rtype}")
            writes, schemas = _writes(app, snap, compiled, inputs, auto_schema)
            if app.store.generation != generation:
                raise ActivityFailed("The emulator was reset while the job ran")
            counts = rows.write_many(writes)
        finally:
            rows.drop_temp_views(views)
    _save_outputs(app, snap, schemas)
    return {w.dataset: c for w, c in zip(writes, counts)}


def _recipe_type(app: App, pk: str, name: str) -> Any:
    with app.store.lock:
        proj = app.store.projects.get(pk)
        return (proj.recipes.get(name) or {}).get("type") if proj else None


def run_training_recipe(app: App, pk: str, name: str, generation: int, login: str, job_id: str) -> Dict[str, int]:
    """A visual-ML training recipe: a new version of its saved model, trained (deterministically,
    ml_training.py) on the train dataset's current rows (saved_models.retrain)."""
    with app.store.lock:
        proj = app.store.projects.get(pk)
        if proj is None or name not in proj.recipes:
            raise ActivityFailed(f"Recipe {pk}.{name} does not exist")
        if app.store.generation != generation:
            raise ActivityFailed("The emulator was reset while the job ran")
        recipe = proj.recipes[name]
        versions = {ref: data_version(app, proj, ref) for ref in _inputs(recipe)}
        saved_models.retrain(app.store, proj, name, job_id, login)
        for ref in output_refs(recipe):
            app.runtime.set_build_record(pk, ref, {"recipe": recipe_version(proj, name), "inputs": versions})
    return {}


def run_ml_recipe(app: App, pk: str, name: str, auto_schema: bool, generation: int, login: str) -> Dict[str, int]:
    """A scoring or evaluation recipe (ml_scoring.py): the input rows scored with the saved model's
    active version go to the dataset output; an evaluation adds a model evaluation (performance and
    drift metrics) to its store, and fails when one of the store's checks ends in ERROR."""
    snap = Snapshot(app, pk, name)
    rtype = snap.recipe.get("type")
    with app.store.lock:
        proj = app.store.projects[pk]
        model = ml_scoring.model_facts(app.store, proj, ml_scoring.model_of(snap.recipe) or "")
    if len(snap.inputs) != 1:
        raise ActivityFailed(f"Recipe {name} must read one dataset (role main)")
    payload = json.loads(snap.payload or "{}")
    rows = app.store.rows
    ref, doc = snap.inputs[0]
    columns = dataset_rows.schema_columns(doc)
    mains = ml_scoring.role_refs(snap.recipe.get("outputs"), "main")
    with rows.lock:
        try:
            rows.create_temp_view("__in_0", dataset_rows.read_sql(app.store, doc["_pk"], doc))
            inputs = [Input(ref, "__in_0", columns)]
            scored, names = ml_scoring.scoring_select(rows, model, "__in_0", [c["name"] for c in columns])
            if rtype == ml_scoring.EVALUATION:
                written = ml_scoring.evaluation_select(model, scored, [c["name"] for c in columns],
                                                       list(payload.get("outputs") or []))
            else:
                written = scored
            writes, schemas = _writes(app, snap, {m: written for m in mains}, inputs, auto_schema)
            metrics: Dict[str, float] = {}
            shifts: Dict[str, float] = {}
            if rtype == ml_scoring.EVALUATION and not payload.get("dontComputePerformance"):
                metrics = ml_scoring.performance(rows, model, scored, names)
            if rtype == ml_scoring.EVALUATION:
                shifts = ml_scoring.drift(rows, model, "__in_0", columns)
            if app.store.generation != generation:
                raise ActivityFailed("The emulator was reset while the job ran")
            counts = rows.write_many(writes)
        finally:
            rows.drop_temp_views(["__in_0"])
    _save_outputs(app, snap, schemas)
    mes_id = ml_scoring.store_of_recipe(snap.recipe)
    if rtype == ml_scoring.EVALUATION and mes_id:
        _record_evaluation(app, pk, mes_id, model, ref, payload, metrics, shifts, login)
    return {w.dataset: c for w, c in zip(writes, counts)}


def _record_evaluation(
    app: App, pk: str, mes_id: str, model: ml_scoring.Model, dataset: str, payload: Dict[str, Any],
    metrics: Dict[str, float], shifts: Dict[str, float], login: str,
) -> None:
    with app.store.lock:
        proj = app.store.projects[pk]
        info = ml_scoring.record_evaluation(proj, mes_id, model, dataset, payload, metrics, shifts, login)
        evaluation_stores.save(app.store, proj)
    failed = [c["name"] for c in info["checks"] if c["value"]["outcome"] == "ERROR"]
    if failed:
        raise ActivityFailed(f"Checks failed on evaluation {info['evaluation']['ref']['evaluationId']}: {', '.join(failed)}")


def _output_item(recipe: Dict[str, Any], ref: str) -> Dict[str, Any]:
    for role in (recipe.get("outputs") or {}).values():
        for item in role.get("items") or []:
            if item.get("ref") == ref:
                return item
    return {}


def _writes(
    app: App, snap: Snapshot, compiled: Dict[str, str], inputs: List[Input], auto_schema: bool
) -> Tuple[List[Write], Dict[str, List[Dict[str, Any]]]]:
    """The writes of each output, and the outputs whose schema the run sets (empty schema, or
    ``autoUpdateSchemaBeforeEachRecipeRun``)."""
    input_types = {c["name"]: c.get("type") for i in inputs for c in i.columns}
    writes, schemas = [], {}
    for ref, select in compiled.items():
        doc = snap.outputs[ref]
        columns = dataset_rows.schema_columns(doc)
        if not columns or auto_schema:
            columns = []
            for col, duck in app.store.rows.describe(select):
                kept = input_types.get(col)
                same_storage = kept is not None and duck_type(kept) == duck.upper().replace(
                    "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"
                )
                columns.append({"name": col, "type": kept if same_storage else dss_type(duck)})
            schemas[ref] = columns
        if doc.get("type") in dataset_rows.FILE_SOURCED:
            raise ActivityFailed(
                f"Output dataset {doc['_pk']}.{doc['name']} of type {doc.get('type')} cannot be written"
            )
        append = bool(_output_item(snap.recipe, ref).get("appendMode"))
        writes.append(Write(doc["_pk"], doc["name"], select, columns, append))
    return writes, schemas


def _save_outputs(app: App, snap: Snapshot, schemas: Dict[str, List[Dict[str, Any]]]) -> None:
    with app.store.lock:
        for ref, doc in snap.outputs.items():
            proj = app.store.projects.get(doc["_pk"])
            if proj is None or doc["name"] not in proj.datasets:
                continue
            if ref in schemas:
                proj.datasets[doc["name"]]["schema"] = {"columns": schemas[ref], "userModified": False}
                app.store.save_dataset(proj, doc["name"])
            app.runtime.set_build_record(
                doc["_pk"], doc["name"], {"recipe": snap.recipe_version, "inputs": snap.versions}
            )


def run_python_recipe(app: App, pk: str, snap: Snapshot, login: str) -> Dict[str, int]:
    """The code runs in a subprocess writing its outputs itself (python_recipes.py); then the
    outputs' build records are kept as for any recipe."""
    try:
        python_recipes.run(app, pk, snap.payload, login)
    except python_recipes.PythonRecipeFailed as exc:
        raise ActivityFailed(str(exc)) from None
    _save_outputs(app, snap, {})
    with app.store.lock:
        return {
            ref: dataset_rows.row_count(
                app.store, doc["_pk"], app.store.projects[doc["_pk"]].datasets[doc["name"]]
            )
            for ref, doc in snap.outputs.items()
            if app.store.projects.get(doc["_pk"])
            and doc["name"] in app.store.projects[doc["_pk"]].datasets
            and dataset_rows.schema_columns(app.store.projects[doc["_pk"]].datasets[doc["name"]])
        }


# ---------------------------------------------------------------- SQL query recipes


VARIABLE = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


def expand(text: str, pk: str, variables: Dict[str, Any]) -> str:
    """DSS's ${...} expansion: projectKey and the project's (and instance's) variables."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "projectKey":
            return pk
        if name in variables:
            return str(variables[name])
        return match.group(0)

    return VARIABLE.sub(value, text)


def sql_query(app: App, snap: Snapshot, inputs: List[Input], views: List[str]) -> Dict[str, str]:
    """The recipe's SQL on DuckDB: each input is a view named as DSS's SQL names it, the table
    of an SQL dataset (``params.table``, ${projectKey} expanded), and also its dataset name. The
    statements before the last run first; the last one is the SELECT whose rows the output gets."""
    import duckdb

    pk = snap.recipe.get("projectKey") or ""
    for (ref, doc), inp in zip(snap.inputs, inputs):
        names = {ref.rpartition(".")[2]}
        table = (doc.get("params") or {}).get("table")
        if table:
            names.add(expand(str(table), doc["_pk"], snap.variables))
        for name in names - set(views):
            app.store.rows.create_temp_view(name, f"SELECT * FROM {inp.view}")
            views.append(name)
    statements = [s for s in duckdb.extract_statements(expand(snap.payload, pk, snap.variables))]
    if not statements:
        raise ActivityFailed("The SQL query recipe has no query")
    for statement in statements[:-1]:
        app.store.rows.execute(statement.query)
    select = statements[-1].query.strip().rstrip(";")
    outputs = output_refs(snap.recipe)
    if len(outputs) != 1:
        raise ActivityFailed("A SQL query recipe writes exactly one output")
    return {outputs[0]: select}
