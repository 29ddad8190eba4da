"""Datasets: managed, SQL table, SQL query, filesystem and uploaded.

Managed datasets are created through DSS's managed-dataset endpoint, so DSS derives the
type, storage path and format defaults from the connection exactly as its UI would;
everything else is then set by one read-modify-write of the settings. A dataset is never
created with ``overwrite=True`` and deleting one drops its data only when asked to.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from dataiku_iac import defaults
from dataiku_iac.model import Resource, clone_json
from dataiku_iac.resources import flow_zone
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    copy_keys,
    create_answer,
    created_document,
    deep_merge,
    described,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.policy import Effect, Field, FieldPolicy, Impact, ImpactRule, breaking_when_changed
from dataiku_iac.resources.spec import BuildContext, ConfigSchema, ImportContext, ResourceSpec

# Format options a person chooses for a file-based dataset (import writes only these; the rest
# are DSS defaults).
CHOSEN_FORMAT_PARAMS = {
    "csv": (
        "separator",
        "style",
        "parseHeaderRow",
        "charset",
        "compress",
        "quoteChar",
        "escapeChar",
        "skipRowsBeforeHeader",
        "skipRowsAfterHeader",
    ),
    "parquet": ("parquetCompressionMethod",),
    "json": ("charset",),
}

# The formatParams DSS gives a new managed dataset of each format the tool creates one in
# (FORMAT_OPTION_IDS: CSV_EXCEL_GZIP for csv), from real documents: csv
# dataset/api_filesystem_csv_managed_just_created.json, parquet dataset/api_hdfs_parquet_managed.json;
# DSS gives avro and orc none worth naming. Import writes only what differs from these: what a
# person changed after the creation (a separator, a quoting style), which a new project would
# not get otherwise.
CREATED_FORMAT_PARAMS: dict[str, dict[str, Any]] = {
    "csv": {
        "style": "excel",
        "charset": "utf8",
        "separator": "\t",
        "quoteChar": '"',
        "escapeChar": "\\",
        "compress": "gz",
        "dateSerializationFormat": "ISO",
        "arrayMapFormat": "json",
        "hiveSeparators": ["\u0002", "\u0003", "\u0004", "\u0005", "\u0006", "\u0007", "\b"],
        "skipRowsBeforeHeader": 0,
        "parseHeaderRow": False,
        "skipRowsAfterHeader": 0,
        "normalizeBooleans": False,
        "normalizeDoubles": True,
        "readAdditionalColumnsBehavior": "INSERT_IN_DATA_WARNING",
        "readMissingColumnsBehavior": "DISCARD_SILENT",
        "readDataTypeMismatchBehavior": "DISCARD_WARNING",
        "writeDataTypeMismatchBehavior": "DISCARD_WARNING",
        "fileReadFailureBehavior": "FAIL",
    },
    "parquet": {
        "parquetBlockSizeMB": 128,
        "parquetCompressionMethod": "SNAPPY",
        "parquetFlavor": "HIVE",
        "parquetLowerCaseIdentifiers": False,
        "representsNullFields": False,
    },
}
# formatParams DSS computes by itself (an estimate it refreshes after a build): never a choice.
COMPUTED_FORMAT_PARAMS = ("probableNumberOfRecords",)
# The params DSS gives a new dataset, by storage (real documents: dataset/export_filesystem_managed_dss804.json,
# dataset/git_snowflake_external_table.json, dataset/api_postgresql_managed_table.json). Import writes the
# other keys under `params`, besides those the typed keys (connection, path, table…) write.
CREATED_PARAMS: dict[str, dict[str, Any]] = {
    "files": {
        "notReadyIfEmpty": False,
        "filesSelectionRules": {"mode": "ALL", "excludeRules": [], "includeRules": [], "explicitFiles": []},
        # cloud and Hadoop storages (dataset/api_hdfs_parquet_managed.json, an S3 one in
        # managed_folder/s3_managed_storage_recent.json)
        "metastoreSynchronizationEnabled": True,
        "metastoreDatabaseName": "default",
        "hiveDatabase": "",
        "variablesExpansionLoopConfig": {"enabled": False, "mode": "CREATE_VARIABLE_FOR_EACH_COLUMN", "replacements": []},
    },
    "sql": {
        "notReadyIfEmpty": False,
        "mode": "table",
        "partitioningType": "custom",
        "normalizeDoubles": True,
        "tableCreationMode": "auto",
        "writeInsertBatchSize": 10000,
        "writeJDBCBadDataBehavior": "DISCARD_ROW",
        "writeWithCopyBadDataBehavior": "NOVERIFY_ERROR",
        "readColsWithUnknownTzAsDates": False,
        "readSQLDateColsAsDSSDates": True,
        "sparkJdbcAccess": "NONE",
        "numPartitions": -1,
    },
}
# Partitioning flags -> their DSS keys (both false on a new dataset).
_PARTITIONING_FLAGS = {
    "ignore_non_matching_files": "ignoreNonMatchingFile",
    "missing_partitions_as_empty": "considerMissingRequestedPartitionsAsEmpty",
}


# -- impact analysis: what a change of a field does to what reads the dataset ------------------
def _managed(old: Mapping[str, Any]) -> bool:
    return old.get("kind") == "managed"


def _storage_rule(what: str) -> ImpactRule:
    """Where the data is (connection, path, table…): a managed dataset's stored data stays where it
    was and the dataset reads the new place, empty (destructive); any other dataset reads other data."""

    def rule(before: Any, after: Any, old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
        change = f"{what} changes from {before!r} to {after!r}"
        if _managed(old):
            return [Effect(Impact.DESTRUCTIVE, f"{change}: the data stored so far stays at the old {what}, the "
                                               f"dataset starts empty (rebuild it)")]
        return [Effect(Impact.BREAKING, f"{change}: the dataset reads other data")]

    return rule


def _kind_rule(before: Any, after: Any, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Effect]:
    if _managed(old):
        return [Effect(Impact.DESTRUCTIVE, f"kind changes from {before!r} to {after!r}: the managed dataset's stored "
                                           f"data is left behind")]
    return [Effect(Impact.BREAKING, f"kind changes from {before!r} to {after!r}")]


def _format_rule(before: Any, after: Any, old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
    if not before:
        return []  # DSS had none (a SQL dataset): nothing was read in a format
    stored = ": the stored data stays in the old format until the dataset is rebuilt" if _managed(old) else ""
    return [Effect(Impact.BREAKING, f"format changes from {before!r} to {after!r}{stored}")]


def _schema_rule(before: Any, after: Any, _old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
    """A column removed (or renamed: the old name is gone) or retyped breaks what reads it; a column
    added, a comment or a meaning changed does not."""
    old_types = _column_types(before)
    new_types = _column_types(after)
    effects = []
    removed = [c for c in old_types if c not in new_types]
    if removed:
        effects.append(Effect(Impact.BREAKING, f"schema: column{'s' if len(removed) > 1 else ''} "
                                               f"{', '.join(map(repr, removed))} removed", columns=tuple(removed)))
    for column, old_type in old_types.items():
        new_type = new_types.get(column, old_type)
        if new_type != old_type:
            effects.append(Effect(Impact.BREAKING, f"schema: column {column!r} retyped from {old_type} to {new_type}",
                                  columns=(column,)))
    return effects


def _column_types(schema: Any) -> dict[str, Any]:
    columns = schema.get("columns") if isinstance(schema, dict) else None
    return {c["name"]: c.get("type") for c in columns or [] if isinstance(c, dict) and isinstance(c.get("name"), str)}


POLICY = FieldPolicy(
    fields=(
        Field("kind", replace=True, impact=_kind_rule),
        Field("connection", replace=True, impact=_storage_rule("connection")),
        Field("format", impact=_format_rule),
        # Format options (separator, compression…) are not analysed: docs/impact-analysis.md.
        Field("format_params", compare="subset"),
        Field("path", impact=_storage_rule("path")),
        Field("table", impact=_storage_rule("table")),
        Field("schema_name", impact=_storage_rule("SQL schema")),
        Field("catalog", impact=_storage_rule("catalog")),
        Field("query", impact=breaking_when_changed("query")),
        Field("partitioning", compare="subset", impact=breaking_when_changed("partitioning")),
        Field("schema", compare="subset", impact=_schema_rule),
        Field("description", reset=""),
        # No reset: a short description set in DSS before this key existed stays as it is.
        Field("short_description"),
        Field("tags", compare="set", reset=[]),
        Field("params", compare="subset"),
        flow_zone.MEMBER_FIELD,
    )
)

# Logical attribute -> key inside the DSS `params` document.
_PARAM_KEYS = {"path": "path", "table": "table", "schema_name": "schema", "catalog": "catalog", "query": "query"}
_COLUMN_KEYS = ("name", "type", "comment", "meaning")


class DatasetHandler(ResourceHandler):
    type = "dataset"
    policy = POLICY

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        # The dataset list returns full documents: one request per project.
        return [dict(item) for item in client.get_project(project_key).list_datasets()]

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return self._observed(project_key, doc, ctx)

    def _observed(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(
            type="dataset",
            project_key=project_key,
            name=doc["name"],
            dss_id=doc["name"],
            attributes=self.to_logical(doc, ctx),
            version_tag=version_tag_of(doc),
        )

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        params = doc.get("params") or {}
        attrs: dict[str, Any] = {
            "kind": dataset_kind(doc),
            "connection": params.get("connection") or params.get("uploadConnection"),
            "format": doc.get("formatType"),
            "format_params": clone_json(doc.get("formatParams") or {}),
            "partitioning": _partitioning_to_logical(doc.get("partitioning") or {}),
            "schema": {"columns": [_column_to_logical(c) for c in (doc.get("schema") or {}).get("columns") or []]},
            "description": doc.get("description") or "",
            "short_description": doc.get("shortDesc") or "",
            "tags": list(doc.get("tags") or []),
            "params": clone_json(params),
        }
        for logical, key in _PARAM_KEYS.items():
            attrs[logical] = params.get(key)
        return attrs

    # -- mutation ----------------------------------------------------------------
    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        _, answer = create_answer(client, lambda: self._create(client, resource, ctx))
        identity = {"name": resource.name, "projectKey": resource.project_key}
        observed = self._save(client, resource, ctx, created_document(answer, identity, ("type", "params")))
        return flow_zone.place(client, resource, observed, ctx)

    def _create(self, client: Any, resource: Resource, ctx: ProjectContext) -> None:
        project = client.get_project(resource.project_key)
        attrs = resource.attributes
        kind = attrs["kind"]
        name = resource.name
        if kind == "managed":
            creator = project.new_managed_dataset(name)
            creator.with_store_into(attrs["connection"], format_option_id=format_option_id(attrs.get("format")))
            creator.create()  # overwrite=False: never drop an existing dataset's data
        elif kind == "sql_table":
            project.create_sql_table_dataset(
                name,
                _connection_type(client, attrs["connection"], ctx),
                attrs["connection"],
                attrs.get("table"),
                attrs.get("schema_name"),
                catalog=attrs.get("catalog"),
            )
        elif kind == "sql_query":
            params = {"connection": attrs["connection"], "mode": "query", "query": attrs.get("query", "")}
            project.create_dataset(name, _connection_type(client, attrs["connection"], ctx), params=params)
        elif kind == "filesystem":
            params = {"connection": attrs["connection"], "path": attrs.get("path", "")}
            project.create_dataset(
                name,
                "Filesystem",
                params=params,
                formatType=attrs.get("format"),
                formatParams=attrs.get("format_params") or {},
            )
        elif kind == "uploaded":
            project.create_upload_dataset(name, connection=attrs.get("connection"))
        else:
            raise ValueError(f"unsupported dataset kind {kind!r}")

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return flow_zone.place(client, resource, self._save(client, resource, ctx), ctx, current=current)

    def _save(self, client: Any, resource: Resource, ctx: ProjectContext, created: Optional[dict[str, Any]] = None) -> Observed:
        """Read-modify-write of the settings; `created`: the document a create answered with (no read)."""
        dataset = client.get_project(resource.project_key).get_dataset(resource.name)
        if created is not None:
            from dataikuapi.dss.dataset import DSSDatasetSettings

            settings = DSSDatasetSettings(dataset, created)
        else:
            settings = dataset.get_settings()
        raw = settings.get_raw()
        before = clone_json(raw)
        patch_document(raw, resource.attributes)
        return self._observed(resource.project_key, save_if_changed(settings, raw, before), ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_dataset(dss_id).delete(drop_data=drop_data)


# DSS names the storage format of a new managed dataset by a "format option" id (the ids
# dataikuapi documents for new outputs; docs/emulator.md, "Managed dataset formats"); the config
# speaks of the formatType it gives. These are the only formats DSS writes as a managed dataset:
# the config schema refuses any other (`$defs/managed_format`). A csv dataset's style and
# compression are its format_params.
FORMAT_OPTION_IDS = {
    "csv": "CSV_EXCEL_GZIP",
    "parquet": "PARQUET_HIVE",
    "avro": "AVRO",
    "orc": "ORC",
}


def format_option_id(fmt: Any) -> Any:
    if not fmt:
        return None
    return FORMAT_OPTION_IDS.get(str(fmt).lower(), fmt)


def dataset_kind(doc: dict[str, Any]) -> str:
    params = doc.get("params") or {}
    dss_type = doc.get("type")
    if dss_type == "UploadedFiles":
        return "uploaded"
    if doc.get("managed") and params.get("connection"):
        return "managed"  # not Inline (editable) datasets: DSS flags them managed, they have no connection
    if params.get("mode") == "query":
        return "sql_query"
    if params.get("mode") == "table" or "table" in params:
        return "sql_table"
    if dss_type == "Filesystem":
        return "filesystem"
    return f"other:{dss_type}"


def patch_document(doc: dict[str, Any], attrs: dict[str, Any]) -> None:
    """Write the declared logical attributes into a DSS dataset document, in place."""
    params = doc.setdefault("params", {})
    if "params" in attrs:
        doc["params"] = params = deep_merge(params, attrs["params"])
    for logical, key in _PARAM_KEYS.items():
        if logical in attrs and attrs[logical] is not None:
            params[key] = attrs[logical]
    if attrs.get("format") and attrs.get("kind") != "sql_table" and attrs.get("kind") != "sql_query":
        if doc.get("formatType") != attrs["format"]:
            # Another format's params mean nothing to the new one (a csv separator to parquet):
            # DSS keeps only the new format's params, as dataikuapi's set_format writes them.
            doc["formatParams"] = {}
        doc["formatType"] = attrs["format"]
    if "format_params" in attrs:
        doc["formatParams"] = deep_merge(doc.get("formatParams") or {}, attrs["format_params"])
    if "partitioning" in attrs:
        doc["partitioning"] = _partitioning_to_dss(doc.get("partitioning") or {}, attrs["partitioning"])
    if "schema" in attrs:
        schema = doc.setdefault("schema", {})
        schema["columns"] = _columns_to_dss(schema.get("columns") or [], attrs["schema"].get("columns") or [])
    if "description" in attrs:
        doc["description"] = attrs["description"]
    if "short_description" in attrs:
        doc["shortDesc"] = attrs["short_description"]
    if "tags" in attrs:
        doc["tags"] = list(attrs["tags"])


def _connection_type(client: Any, connection: str, ctx: ProjectContext) -> str:
    """The DSS dataset type of a SQL connection (PostgreSQL, Snowflake, …)."""
    if connection not in ctx.connection_types:
        ctx.connection_types[connection] = client.get_connection(connection).get_info()["type"]
    return ctx.connection_types[connection]


def _column_to_logical(column: dict[str, Any]) -> dict[str, Any]:
    return {k: column[k] for k in _COLUMN_KEYS if column.get(k) not in (None, "")}


def _columns_to_dss(current: list[dict[str, Any]], declared: list[dict[str, Any]]) -> list[dict[str, Any]]:

    """Declared columns in declared order; server-added keys of same-named columns kept."""
    by_name = {c.get("name"): c for c in current}
    return [deep_merge(by_name.get(col["name"], {}), col) for col in declared]


def _partitioning_to_logical(partitioning: dict[str, Any]) -> dict[str, Any]:
    dims = []
    for dim in partitioning.get("dimensions") or []:
        item = {"name": dim.get("name"), "type": dim.get("type")}
        period = (dim.get("params") or {}).get("period")
        if period:
            item["period"] = period
        dims.append(item)
    logical: dict[str, Any] = {"dimensions": dims}
    if partitioning.get("filePathPattern"):
        logical["file_path_pattern"] = partitioning["filePathPattern"]
    for flag, key in _PARTITIONING_FLAGS.items():
        logical[flag] = bool(partitioning.get(key))
    return logical


def _partitioning_to_dss(current: dict[str, Any], logical: dict[str, Any]) -> dict[str, Any]:
    patched = dict(current)
    if "dimensions" in logical:
        patched["dimensions"] = [
            {"name": d["name"], "type": d["type"], "params": {"period": d["period"]} if d.get("period") else {}}
            for d in logical["dimensions"]
        ]
    if "file_path_pattern" in logical:
        patched["filePathPattern"] = logical["file_path_pattern"]
    for flag, key in _PARTITIONING_FLAGS.items():
        if flag in logical:
            patched[key] = bool(logical[flag])
    return patched


# -- the configuration ------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """A `datasets` item -> logical attributes."""
    kind = item["type"]
    written = _connection_written(item, ctx)
    attrs: dict[str, Any] = {"kind": kind, "connection": ctx.remap_connection("connection", written)}
    configured = ctx.defaults("dataset")
    # The default format goes with the default connection: a dataset on a connection of its
    # own (an SQL database, where DSS keeps no format) gets what DSS chooses unless it names one.
    fmt = item.get("format") or (configured.get("format") if kind == "managed" and not item.get("connection") else None)
    if fmt and kind in ("managed", "filesystem", "uploaded"):
        attrs["format"] = fmt
    copy_keys(item, attrs, "format_params", "path", "table", "schema_name", "catalog", "description", "short_description", "params")
    _refuse_declared_twice(item, ctx)
    if kind == "sql_query":
        attrs["query"] = item["query"] if "query" in item else ctx.file_text(item["sql_file"])
    if "partitioning" in item:
        attrs["partitioning"] = _partitioning(item["partitioning"])
    if "schema" in item:
        attrs["schema"] = {"columns": [dict(c) for c in (item["schema"] or {}).get("columns") or []]}
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    flow_zone.build_membership(item, attrs, ctx)
    return attrs


def _refuse_declared_twice(item: dict[str, Any], ctx: BuildContext) -> None:
    """`path: /a` with `params: {path: /b}` would never converge (each apply writes one, the
    next plan sees the other): a setting has one place in the config."""
    params = item.get("params")
    if not isinstance(params, dict):
        return
    for logical, key in _PARAM_KEYS.items():
        written = logical in item or (logical == "query" and "sql_file" in item)
        if written and key in params:
            ctx.error(("params", key), f"params.{key} declares again what {logical!r} declares: a setting has one place",
                      f"remove params.{key} (keep {logical})")


def _connection_written(item: dict[str, Any], ctx: BuildContext) -> Optional[str]:
    if item.get("connection"):
        return str(item["connection"])
    if item["type"] in ("sql_table", "sql_query"):
        return ctx.setting("sql_connection")  # type: ignore[no-any-return]
    if item["type"] == "uploaded":
        return None
    return ctx.defaults("dataset").get("connection") or defaults.DATASET_CONNECTION


def _partitioning(value: dict[str, Any]) -> dict[str, Any]:
    logical: dict[str, Any] = {"dimensions": [dict(d) for d in value.get("dimensions") or []]}
    for key in ("file_path_pattern", *_PARTITIONING_FLAGS):
        if key in value:
            logical[key] = value[key]
    return logical


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `datasets` item: every setting a person chose, none DSS chose by itself
    (what a new dataset gets: CREATED_FORMAT_PARAMS, CREATED_PARAMS, computed paths); None for a
    dataset of a plugin (`other:` kinds). What the item cannot say is reported through ctx."""
    kind = attrs.get("kind") or ""
    if kind.startswith("other:"):
        ctx.not_expressed(f"its DSS type {kind[len('other:'):]!r} has no dataset type in the configuration")
        return None
    item: dict[str, Any] = {"name": name, "type": kind}
    if attrs.get("connection"):
        item["connection"] = ctx.config_connection(attrs["connection"])
    params = attrs.get("params") or {}
    sql_storage = kind == "managed" and params.get("table") is not None
    if kind in ("managed", "filesystem", "uploaded") and attrs.get("format") and not sql_storage:
        _format_to_config(item, kind, attrs, ctx)
    if kind == "managed" and not sql_storage and attrs.get("path") not in (None, *_created_paths(name)):
        item["path"] = attrs["path"]
    if kind == "filesystem" and attrs.get("path"):
        item["path"] = attrs["path"]
    if kind == "sql_table":
        for key in ("table", "schema_name", "catalog"):
            if attrs.get(key):
                item[key] = attrs[key]
    if kind == "sql_query":
        item["query"] = attrs.get("query") or ""
    chosen = _chosen_params(kind, name, params, sql_storage)
    if chosen:
        item["params"] = chosen
    partitioning = _partitioning_to_config(attrs.get("partitioning") or {})
    if partitioning:
        item["partitioning"] = partitioning
    columns = (attrs.get("schema") or {}).get("columns") or []
    if columns:
        item["schema"] = {"columns": columns}
    if attrs.get("short_description"):
        item["short_description"] = attrs["short_description"]
    return flow_zone.membership_to_config(described(item, attrs), attrs)


def _format_to_config(item: dict[str, Any], kind: str, attrs: dict[str, Any], ctx: ImportContext) -> None:
    fmt = attrs["format"]
    if kind == "managed" and fmt not in FORMAT_OPTION_IDS:
        # The config only takes the formats of managed creation: a managed dataset switched in DSS
        # to another one (json...) keeps its format unmanaged rather than fail `validate`.
        ctx.not_expressed(f"format {fmt!r}: DSS creates a managed dataset as csv, parquet, avro or orc only "
                          "(its format and format params stay as they are in DSS)")
        return
    item["format"] = fmt
    chosen = chosen_format_params(kind, fmt, attrs.get("format_params") or {})
    if chosen:
        item["format_params"] = chosen


def chosen_format_params(kind: str, fmt: str, live: dict[str, Any]) -> dict[str, Any]:
    """The formatParams a person chose: those that differ from what DSS gives a new dataset of the
    format; for files read (filesystem, uploaded) also the ones that say how to read them (a
    separator), which DSS guessed from the files and a new dataset would not guess the same."""
    created = CREATED_FORMAT_PARAMS.get(fmt, {})
    always = CHOSEN_FORMAT_PARAMS.get(fmt, ()) if kind != "managed" else ()
    return {
        key: value
        for key, value in live.items()
        if key not in COMPUTED_FORMAT_PARAMS and (key in always or key not in created or created[key] != value)
    }


def _created_paths(name: str) -> tuple[str, ...]:
    """The path DSS gives a new managed dataset: on the server filesystem, and on other storages."""
    return (f"${{projectKey}}/{name}", f"/${{projectKey}}/{name}")


def _chosen_params(kind: str, name: str, params: dict[str, Any], sql_storage: bool) -> dict[str, Any]:
    """The `params` keys a person chose: not those a typed key writes, not DSS's creation defaults."""
    if kind == "uploaded":
        return {}  # DSS keeps the uploaded files' bookkeeping there (uploadConnection, files...)
    typed = {"connection", *_PARAM_KEYS.values()}
    created = dict(CREATED_PARAMS["sql" if kind in ("sql_table", "sql_query") or sql_storage else "files"])
    if kind == "managed":
        # What DSS derives for a new managed dataset from its name and its connection (the bucket).
        created.update({"metastoreTableName": f"${{projectKey}}_{name}", "hiveTableName": f"${{projectKey}}_{name}"})
        typed.add("bucket")
    chosen = {key: value for key, value in params.items() if key not in typed and created.get(key, _ABSENT) != value}
    if kind == "sql_query" and chosen.get("mode") == "query":
        chosen.pop("mode")
    if sql_storage and params.get("table") != f"${{projectKey}}_{name}":
        chosen["table"] = params["table"]  # a managed SQL dataset's own table name: params is its one place
    for key in ("schema", "catalog"):
        if sql_storage and params.get(key):
            chosen[key] = params[key]
    return chosen


_ABSENT = object()


def _partitioning_to_config(logical: dict[str, Any]) -> dict[str, Any]:
    if not logical.get("dimensions"):
        return {}  # DSS's flags of an unpartitioned dataset mean nothing
    item: dict[str, Any] = {"dimensions": [dict(d) for d in logical["dimensions"]]}
    if logical.get("file_path_pattern"):
        item["file_path_pattern"] = logical["file_path_pattern"]
    for flag in _PARTITIONING_FLAGS:
        if logical.get(flag):
            item[flag] = True
    return item


SPEC = ResourceSpec(
    type="dataset",
    label="dataset",
    color="#2f6fb0",
    handler=DatasetHandler(),
    section="datasets",
    schema=ConfigSchema(in_project_schema=True),
    file_keys=("sql_file",),
    references=("flow_zone",),
    holds_data=True,
    build=build,
    to_config=to_config,
)
