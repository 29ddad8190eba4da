"""Instance objects: connections, code envs, users, groups, plugins, global variables, auth and instance info."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

from .. import __version__, defaults, errors
from ..auth import require_admin
from ..context import Ctx
from ..plugins import find_plugin, list_plugins, plugin_config
from ..router import route
from .common import connection

CODE_ENV_LANGS = ("PYTHON", "R")


# ---------------------------------------------------------------- connections


def _public_connection(doc: Dict[str, Any], admin: bool) -> Dict[str, Any]:
    out = copy.deepcopy(doc)
    if "password" in out.get("params", {}):
        out["params"]["password"] = "e:AES:REDACTED-BY-EMULATOR"  # DSS returns secrets encrypted
    if not admin:
        out.pop("params", None)
    return out


@route("GET", "/admin/connections/")
def list_connections(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    return {name: _public_connection(doc, True) for name, doc in sorted(ctx.store.connections.items())}


@route("POST", "/admin/connections/")
def create_connection(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    body = ctx.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise errors.bad_request("Connection name is missing")
    if name in ctx.store.connections:
        raise errors.already_exists(f"Connection '{name}' already exists")
    if not body.get("type"):
        raise errors.bad_request("Connection type is missing")
    spec = {k: v for k, v in body.items() if v is not None}
    ctx.store.put_connection(defaults.connection_doc(spec))
    return _public_connection(ctx.store.connections[name], True)


@route("GET", "/admin/connections/<name>")
def get_connection(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    return _public_connection(connection(ctx.store, ctx.params["name"]), True)


@route("PUT", "/admin/connections/<name>")
def put_connection(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    old = connection(ctx.store, ctx.params["name"])
    doc = copy.deepcopy(ctx.body_dict())
    doc["name"] = old["name"]
    if "creationTag" in old:
        doc["creationTag"] = copy.deepcopy(old["creationTag"])  # a PUT cannot change it
    params = doc.get("params") or {}
    if str(params.get("password", "")).startswith("e:AES:"):
        params["password"] = old.get("params", {}).get(
            "password"
        )  # an echoed encrypted secret keeps the old one
    ctx.store.put_connection(doc)
    return {}


@route("DELETE", "/admin/connections/<name>")
def delete_connection(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    connection(ctx.store, ctx.params["name"])
    ctx.store.delete_connection(ctx.params["name"])
    return {}


@route("GET", "/connections/get-names")
def connection_names(ctx: Ctx) -> List[str]:
    wanted = ctx.query("type")
    return sorted(n for n, d in ctx.store.connections.items() if not wanted or d.get("type") == wanted)


@route("GET", "/connections/<name>/info")
def connection_info(ctx: Ctx) -> Dict[str, Any]:
    doc = connection(ctx.store, ctx.params["name"])
    readable = doc.get("detailsReadability", {}).get("readableBy", "ALL") == "ALL" or ctx.caller.admin
    out = {
        "name": doc["name"],
        "type": doc["type"],
        "credentialsMode": doc.get("credentialsMode", "GLOBAL"),
        "usableBy": doc.get("usableBy"),
        "allowManagedDatasets": doc.get("allowManagedDatasets"),
        "allowManagedFolders": doc.get("allowManagedFolders"),
        "allowWrite": doc.get("allowWrite"),
    }
    if readable:
        params = _public_connection(doc, True)["params"]
        out["params"] = params
        out["resolvedParams"] = copy.deepcopy(params)
    return out


# ---------------------------------------------------------------- code envs


def _lang(ctx: Ctx) -> str:
    lang = ctx.params["lang"]
    if lang not in CODE_ENV_LANGS:
        raise errors.bad_request(f"Unknown code env language '{lang}'")
    return lang


def _env(ctx: Ctx) -> Dict[str, Any]:
    lang = _lang(ctx)
    doc = ctx.store.code_envs.get((lang, ctx.params["name"]))
    if doc is None:
        raise errors.unknown_code_env(lang, ctx.params["name"])
    return doc


@route("GET", "/admin/code-envs/")
def list_code_envs(ctx: Ctx) -> List[Dict[str, Any]]:
    return [
        {
            "envLang": lang,
            "envName": name,
            "deploymentMode": doc.get("deploymentMode"),
            "owner": doc.get("owner"),
            "isUptodate": True,  # the emulator builds nothing: every env is as its spec says
        }
        for (lang, name), doc in sorted(ctx.store.code_envs.items())
    ]


@route("GET", "/admin/code-envs/usages")
def code_env_usages(ctx: Ctx) -> List[Dict[str, Any]]:
    require_admin(ctx.caller)
    out = []
    for pk, proj in sorted(ctx.store.projects.items()):
        for rname, recipe in sorted(proj.recipes.items()):
            sel = (recipe.get("params") or {}).get("envSelection") or {}
            if sel.get("envMode") == "EXPLICIT_ENV":
                out.append(
                    {
                        "envLang": "R" if recipe["type"] in ("r", "sparkr") else "PYTHON",
                        "envName": sel.get("envName"),
                        "envUsage": "RECIPE",
                        "projectKey": pk,
                        "objectType": "RECIPE",
                        "objectId": rname,
                    }
                )
        for lang_key, lang in (("python", "PYTHON"), ("r", "R")):
            sel = ((proj.params.get("settings") or {}).get("codeEnvs") or {}).get(lang_key) or {}
            if sel.get("mode") == "EXPLICIT_ENV":
                out.append(
                    {
                        "envLang": lang,
                        "envName": sel.get("envName"),
                        "envUsage": "PROJECT",
                        "projectKey": pk,
                        "objectType": "PROJECT",
                        "objectId": pk,
                    }
                )
    return out


@route("GET", "/admin/code-envs/<lang>/<name>")
def get_code_env(ctx: Ctx) -> Dict[str, Any]:
    return copy.deepcopy(_env(ctx))


@route("PUT", "/admin/code-envs/<lang>/<name>")
def put_code_env(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    old = _env(ctx)
    doc = copy.deepcopy(ctx.body_dict())
    doc["envLang"], doc["envName"] = old["envLang"], old["envName"]
    defaults.mirror_code_env_keys(doc)  # the top-level usableByAll/containerConfs... win over desc's
    ctx.store.put_code_env(doc)
    return {}


@route("POST", "/admin/code-envs/<lang>/<name>")
def create_code_env(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    lang, name = _lang(ctx), ctx.params["name"]
    if (lang, name) in ctx.store.code_envs:
        raise errors.already_exists(f"{lang} env {name} already exists")
    body = ctx.body_dict()
    spec = {k: v for k, v in body.items() if v is not None}
    spec.update(envLang=lang, envName=name)
    ctx.store.put_code_env(defaults.code_env_doc(spec))
    result = {
        "envName": name,
        "envLang": lang,
        "messages": {"error": False, "warning": False, "messages": []},
    }
    if ctx.qbool("wait", True):
        return result
    return ctx.app.runtime.start_future(result, f"Creating code env {name}")


@route("DELETE", "/admin/code-envs/<lang>/<name>")
def delete_code_env(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    doc = _env(ctx)
    ctx.store.delete_code_env(doc["envLang"], doc["envName"])
    result = {"envName": doc["envName"], "messages": {"error": False, "warning": False, "messages": []}}
    return result if ctx.qbool("wait", True) else ctx.app.runtime.start_future(result, "Deleting code env")


# ---------------------------------------------------------------- users and groups


def _user(ctx: Ctx) -> Dict[str, Any]:
    doc = ctx.store.users.get(ctx.params["login"])
    if doc is None:
        raise errors.not_found("User '{}' does not exist".format(ctx.params["login"]))
    return doc


@route("GET", "/admin/users/")
def list_users(ctx: Ctx) -> List[Dict[str, Any]]:
    require_admin(ctx.caller)
    return [copy.deepcopy(u) for _, u in sorted(ctx.store.users.items())]


@route("POST", "/admin/users/")
def create_user(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    body = ctx.body_dict()
    login = body.get("login")
    if not isinstance(login, str) or not login:
        raise errors.bad_request("User login is missing")
    if login in ctx.store.users:
        raise errors.already_exists(f"User '{login}' already exists")
    for g in body.get("groups") or []:
        if g not in ctx.store.groups:
            raise errors.not_found(f"Group '{g}' does not exist")
    spec = {k: v for k, v in body.items() if v is not None}
    if not spec.get("groups") and defaults.DEFAULT_USER_GROUP in ctx.store.groups:
        spec["groups"] = [defaults.DEFAULT_USER_GROUP]  # DSS puts a new user in a default group
    ctx.store.put_user(defaults.user_doc(spec))
    return copy.deepcopy(ctx.store.users[login])


@route("GET", "/admin/users/<login>")
def get_user(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    return copy.deepcopy(_user(ctx))


@route("PUT", "/admin/users/<login>")
def put_user(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    old = _user(ctx)
    doc = copy.deepcopy(ctx.body_dict())
    doc["login"] = old["login"]
    ctx.store.put_user(doc)
    return {}


@route("DELETE", "/admin/users/<login>")
def delete_user(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    doc = _user(ctx)
    if doc["login"] == ctx.caller.login and not ctx.qbool("allowSelfDeletion"):
        raise errors.bad_request("You cannot delete yourself")
    ctx.store.delete_user(doc["login"])
    return {}


@route("GET", "/users")
def list_users_info(ctx: Ctx) -> List[Dict[str, Any]]:
    return [
        {"login": u["login"], "displayName": u.get("displayName"), "email": u.get("email", "")}
        for _, u in sorted(ctx.store.users.items())
    ]


@route("GET", "/current-user")
def current_user(ctx: Ctx) -> Dict[str, Any]:
    user = ctx.store.users.get(ctx.caller.login)
    if user is None:
        raise errors.not_found(f"No user behind {ctx.caller.login}")
    return copy.deepcopy(user)


def _group(ctx: Ctx) -> Dict[str, Any]:
    doc = ctx.store.groups.get(ctx.params["name"])
    if doc is None:
        raise errors.not_found("Group '{}' does not exist".format(ctx.params["name"]))
    return doc


@route("GET", "/admin/groups/")
def list_groups(ctx: Ctx) -> List[Dict[str, Any]]:
    require_admin(ctx.caller)
    return [copy.deepcopy(g) for _, g in sorted(ctx.store.groups.items())]


@route("POST", "/admin/groups/")
def create_group(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    body = ctx.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise errors.bad_request("Group name is missing")
    if name in ctx.store.groups:
        raise errors.already_exists(f"Group '{name}' already exists")
    ctx.store.put_group(defaults.group_doc({k: v for k, v in body.items() if v is not None}))
    return copy.deepcopy(ctx.store.groups[name])


@route("GET", "/admin/groups/<name>")
def get_group(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    return copy.deepcopy(_group(ctx))


@route("PUT", "/admin/groups/<name>")
def put_group(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    old = _group(ctx)
    doc = copy.deepcopy(ctx.body_dict())
    doc["name"] = old["name"]
    ctx.store.put_group(doc)
    return {}


@route("DELETE", "/admin/groups/<name>")
def delete_group(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    ctx.store.delete_group(_group(ctx)["name"])
    return {}


@route("GET", "/groups")
def list_groups_info(ctx: Ctx) -> List[Dict[str, Any]]:
    return [
        {"name": g["name"], "description": g.get("description", "")}
        for _, g in sorted(ctx.store.groups.items())
    ]


# ---------------------------------------------------------------- plugins, variables, identity


@route("GET", "/plugins/")
def plugins(ctx: Ctx) -> List[Dict[str, Any]]:
    return list_plugins(ctx.store.plugin_dirs)


@route("GET", "/plugins/<plugin_id>/settings")
def get_plugin_settings(ctx: Ctx) -> Dict[str, Any]:
    """`DSSPlugin.get_settings()`: administrators only (DSS also lets plugin developers). `config`
    holds the plugin-level params (plugin.json `params`, Administration > Plugins > Settings);
    presets and parameter sets are not emulated (empty lists)."""
    require_admin(ctx.caller)
    desc = find_plugin(ctx.store.plugin_dirs, ctx.params["plugin_id"])
    saved = ctx.store.plugin_settings.get(desc["id"]) or {}
    return {
        "config": plugin_config(desc, saved),
        "codeEnvName": saved.get("codeEnvName"),
        "presets": [],
        "parameterSets": [],
        "accessibleParameterSetDescs": [],
    }


@route("POST", "/plugins/<plugin_id>/settings")
def save_plugin_settings(ctx: Ctx) -> Dict[str, Any]:
    """`DSSPluginSettings.save()`: keeps `config` (the plugin-level params) and `codeEnvName`.
    Project-level settings (`?projectKey=`) are refused: not emulated."""
    require_admin(ctx.caller)
    desc = find_plugin(ctx.store.plugin_dirs, ctx.params["plugin_id"])
    if ctx.query("projectKey"):
        raise errors.bad_request("The emulator does not keep project-level plugin settings")
    body = ctx.body_dict()
    config = body.get("config")
    if not isinstance(config, dict):
        raise errors.bad_request("The plugin settings need a 'config' object")
    ctx.store.set_plugin_settings(desc["id"], {"config": copy.deepcopy(config), "codeEnvName": body.get("codeEnvName")})
    return {}


@route("GET", "/admin/variables/")
def get_global_variables(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    return copy.deepcopy(ctx.store.global_variables)


@route("PUT", "/admin/variables/")
def set_global_variables(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    ctx.store.set_global_variables(ctx.body_dict())
    return {}


def auth_info(ctx: Ctx, login: str, groups: List[str], admin: bool, via: List[str]) -> Dict[str, Any]:
    user = ctx.store.users.get(login, {})
    info: Dict[str, Any] = {
        "authIdentifier": login,
        "groups": list(groups),
        "admin": admin,
        "userProfile": user.get("userProfile", "DATA_SCIENTIST"),
        "via": via,
    }
    if user:
        info["associatedDSSUser"] = login
        info["displayName"] = user.get("displayName", login)
    if ctx.qbool("withSecrets"):
        info["secrets"] = [_auth_info_secret(s) for s in user.get("secrets", []) if isinstance(s, dict)]
    return info


def _auth_info_secret(stored: Dict[str, Any]) -> Dict[str, Any]:
    """A user secret as auth info lists it: ``{key, value}`` (user code reads ``secret["key"]``),
    while the user's settings store it as ``{name, value, secret}`` (dataikuapi's ``add_secret``)."""
    return {"key": stored.get("key") or stored.get("name"), "value": stored.get("value")}


@route("GET", "/auth/info")
def get_auth_info(ctx: Ctx) -> Dict[str, Any]:
    via = ["API_KEY"] if ctx.caller.api_key in ctx.store.api_keys else ["TICKET"]
    return auth_info(ctx, ctx.caller.login, ctx.caller.groups, ctx.caller.admin, via)


@route("POST", "/auth/info-from-browser-headers")
def auth_info_from_headers(ctx: Ctx) -> Dict[str, Any]:
    """Emulator convention: the browsing user is the header ``X-Emulator-User: <login>`` (in the forwarded
    headers) or the cookie ``dss_emulator_user=<login>``."""
    headers = ctx.body({}) or {}
    lowered = {str(k).lower(): v for k, v in headers.items()} if isinstance(headers, dict) else {}
    login = lowered.get("x-emulator-user")
    if not login:
        for part in str(lowered.get("cookie", "")).split(";"):
            name, _, value = part.strip().partition("=")
            if name == "dss_emulator_user":
                login = value
    if not login or login not in ctx.store.users:
        raise errors.not_authenticated("No DSS user session found in the browser headers")
    groups = list(ctx.store.users[login].get("groups") or [])
    admin = any(ctx.store.groups.get(g, {}).get("admin") for g in groups)
    return auth_info(ctx, login, groups, admin, ["BROWSER_SESSION"])


@route("GET", "/instance-info")
def instance_info(ctx: Ctx) -> Dict[str, Any]:
    return {
        "nodeId": "dss-emulator",
        "nodeName": "DSS emulator",
        "nodeType": "DESIGN",
        "dssVersion": f"emulator-{__version__}",
        "isAutomation": False,
    }


# ---------------------------------------------------------------- licensing


@route("GET", "/admin/licensing/status")
def licensing_status(ctx: Ctx) -> Dict[str, Any]:
    """A valid Enterprise licence, hand-made (no real document was found; docs/emulator.md): not the
    Community/Free Edition (``community`` and ``ceEnterprise`` false), so Enterprise features such as
    flow zones are available; ``limits.licensedProfiles`` holds the user profiles it grants (the key a
    Terraform provider for DSS 15 reads)."""
    require_admin(ctx.caller)
    profiles = {"DESIGNER", "DATA_SCIENTIST", "READER"}
    profiles |= {u.get("userProfile", "DATA_SCIENTIST") for u in ctx.store.users.values()}
    return {
        "community": False,
        "ceEnterprise": False,
        "expired": False,
        "expiresOn": 4102444800000,  # 2100-01-01
        "limits": {"licensedProfiles": {p: {"maxUsers": -1} for p in sorted(profiles)}},
    }


# ---------------------------------------------------------------- Dataiku Govern integration


@route("GET", "/admin/get-govern-node-ref")
def govern_node_ref(ctx: Ctx) -> Dict[str, Any]:
    """The Govern integration settings, with the Govern API key DSS holds (admin only, as
    dataikuapi's `get_govern_client()` documents): a plugin needs no Govern secret of its own."""
    require_admin(ctx.caller)
    return dict(ctx.app.govern_node)
