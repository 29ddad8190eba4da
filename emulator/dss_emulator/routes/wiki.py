"""A project's wiki, as dataikuapi 15.2 ``dss/wiki.py`` calls it.

* ``GET``/``PUT /projects/{pk}/wiki/``: the settings, ``{projectKey, taxonomy, homeArticleId}``; the PUT
  answers the saved settings (``DSSWikiSettings.save`` replaces its copy with the answer). The
  taxonomy is DSS's ``wiki/taxonomy.json`` (tests/fixtures/dss-samples/other/wiki_taxonomy_*.json):
  ``[{id, children: [...]}]``, every article once (dataikuapi: "Every existing article of the wiki has
  to be in the taxonomy once and only once"): a PUT naming an unknown article, one twice, or leaving
  one out is refused (a guess of DSS's check; docs/emulator.md, "Wiki").
* ``POST /projects/{pk}/wiki/`` ``{projectKey, name, parent}``: a new article, with the next
  sequential id ("1", "2"…; never reused after a delete, as the real wikis show), appended under its
  parent (or at the root); the project's first article becomes the home. Answers ``{article, payload}``
  (``create_article`` reads ``article.id``).
* ``GET /projects/{pk}/wiki/{id or name}`` -> ``{article: {id, projectKey, name, layout, ...}, payload}``
  (dataikuapi resolves a name through this GET, unescaped); ``PUT`` (id escaped) saves name and
  payload, answering the saved data; ``DELETE`` (id escaped) removes the article, its children taking
  its place in the taxonomy (a guess), and clears the home if it was the home.
* ``POST /projects/{pk}/wiki/{id}/upload`` (multipart ``file``) attaches a file to the article and
  ``GET .../uploads/{upload id}`` answers its bytes; the attachment's entry in ``article.attachments``
  is a guess (no public real article with attachments was found).
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Optional, Tuple

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData

WIKI = "wiki"  # "settings" -> {taxonomy, homeArticleId?, lastId}
ARTICLES = "wiki_articles"  # article id -> {"article": metadata, "payload": markdown}
UPLOADS = "wiki_uploads"  # upload id -> {"articleId", "filename", "data": base64}
SETTINGS = "settings"


def _settings(proj: ProjectData) -> Dict[str, Any]:
    return proj.collection(WIKI).setdefault(SETTINGS, {"taxonomy": [], "lastId": 0})


def _answer(proj: ProjectData) -> Dict[str, Any]:
    settings = _settings(proj)
    answer: Dict[str, Any] = {"projectKey": proj.key, "taxonomy": clone(settings["taxonomy"])}
    if settings.get("homeArticleId") is not None:
        answer["homeArticleId"] = settings["homeArticleId"]
    return answer


def _save(ctx: Ctx, proj: ProjectData) -> None:
    ctx.store.save_collection(proj, WIKI)
    ctx.store.save_collection(proj, ARTICLES)


def _article(ctx: Ctx, proj: ProjectData, by_name: bool = False) -> Dict[str, Any]:
    """The article the path names: by id, or (reads only, as dataikuapi resolves names) by name."""
    wanted = ctx.params["aid"]
    articles = proj.collection(ARTICLES)
    if wanted in articles:
        return articles[wanted]
    if by_name:
        for article_id in _flatten(_settings(proj)["taxonomy"]):
            if articles[article_id]["article"]["name"] == wanted:
                return articles[article_id]
    raise errors.not_found(f"Wiki article {wanted} does not exist in project {proj.key}")


def _flatten(taxonomy: List[Dict[str, Any]]) -> List[str]:
    ids: List[str] = []
    for node in taxonomy:
        ids.append(node["id"])
        ids.extend(_flatten(node.get("children") or []))
    return ids


def _find(taxonomy: List[Dict[str, Any]], article_id: str) -> Optional[Tuple[List[Dict[str, Any]], int]]:
    """(the list holding the article's node, its index), or None."""
    for index, node in enumerate(taxonomy):
        if node["id"] == article_id:
            return taxonomy, index
        found = _find(node["children"], article_id)
        if found is not None:
            return found
    return None


def _checked_taxonomy(taxonomy: Any, articles: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A taxonomy as DSS keeps it (children always present); every article once, no other."""
    if not isinstance(taxonomy, list):
        raise errors.bad_request("The wiki taxonomy must be a list")
    seen: List[str] = []

    def node(entry: Any) -> Dict[str, Any]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise errors.bad_request("Each node of the wiki taxonomy needs an article id")
        if entry["id"] not in articles:
            raise errors.bad_request(f"The wiki taxonomy names article {entry['id']}, which does not exist")
        if entry["id"] in seen:
            raise errors.bad_request(f"The wiki taxonomy names article {entry['id']} twice")
        seen.append(entry["id"])
        children = entry.get("children") or []
        if not isinstance(children, list):
            raise errors.bad_request(f"The children of article {entry['id']} must be a list")
        return {"id": entry["id"], "children": [node(child) for child in children]}

    checked = [node(entry) for entry in taxonomy]
    missing = sorted(set(articles) - set(seen), key=int)
    if missing:
        raise errors.bad_request(f"The wiki taxonomy leaves out article(s) {', '.join(missing)}")
    return checked


def _checked_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("A wiki article needs a name")
    return name


@route("GET", "/projects/<pk>/wiki/")
def get_wiki(ctx: Ctx) -> Dict[str, Any]:
    return _answer(ctx.project(READ))


@route("PUT", "/projects/<pk>/wiki/")
def save_wiki(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    settings = _settings(proj)
    articles = proj.collection(ARTICLES)
    taxonomy = _checked_taxonomy(body.get("taxonomy", settings["taxonomy"]), articles)
    home = body.get("homeArticleId")
    if home is not None and home not in articles:
        raise errors.bad_request(f"The home article {home} does not exist")
    settings.update(taxonomy=taxonomy, homeArticleId=home)
    _save(ctx, proj)
    return _answer(proj)


@route("POST", "/projects/<pk>/wiki/")
def create_article(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = _checked_name(body.get("name"))
    settings = _settings(proj)
    parent = body.get("parent")
    siblings = settings["taxonomy"]
    if parent is not None:
        found = _find(settings["taxonomy"], str(parent))
        if found is None:
            raise errors.not_found(f"Parent wiki article {parent} does not exist in project {proj.key}")
        holder, index = found
        siblings = holder[index]["children"]
    settings["lastId"] = int(settings.get("lastId", 0)) + 1
    article_id = str(settings["lastId"])
    metadata: Dict[str, Any] = {"id": article_id, "projectKey": proj.key, "name": name, "layout": "WIKI_ARTICLE",
                                "attachments": []}
    defaults.stamp_creation(metadata, ctx.login)
    metadata.update(tags=[], customFields={}, checklists={"checklists": []})
    proj.collection(ARTICLES)[article_id] = {"article": metadata, "payload": ""}
    siblings.append({"id": article_id, "children": []})
    if settings.get("homeArticleId") is None and len(proj.collection(ARTICLES)) == 1:
        settings["homeArticleId"] = article_id  # DSS makes a wiki's first article its home
    _save(ctx, proj)
    return clone(proj.collection(ARTICLES)[article_id])


@route("GET", "/projects/<pk>/wiki/<aid>")
def get_article(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_article(ctx, proj, by_name=True))


@route("PUT", "/projects/<pk>/wiki/<aid>")
def save_article(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    stored = _article(ctx, proj)
    body = ctx.body_dict()
    metadata = body.get("article", stored["article"])
    payload = body.get("payload", stored["payload"])
    if not isinstance(metadata, dict) or not isinstance(payload, str):
        raise errors.bad_request("A wiki article is saved as {article: {...}, payload: markdown}")
    old = stored["article"]
    saved = {**clone(metadata), "id": old["id"], "projectKey": proj.key,
             "name": _checked_name(metadata.get("name", old["name"])),
             "creationTag": clone(old.get("creationTag")), "versionTag": clone(old.get("versionTag"))}
    defaults.bump(saved, ctx.login)
    stored.update(article=saved, payload=payload)
    _save(ctx, proj)
    return clone(stored)


@route("DELETE", "/projects/<pk>/wiki/<aid>")
def delete_article(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    article_id = _article(ctx, proj)["article"]["id"]
    settings = _settings(proj)
    found = _find(settings["taxonomy"], article_id)
    if found is not None:
        holder, index = found
        holder[index:index + 1] = holder[index]["children"]  # its children take its place
    if settings.get("homeArticleId") == article_id:
        settings["homeArticleId"] = None
    del proj.collection(ARTICLES)[article_id]
    _save(ctx, proj)
    return {}


@route("POST", "/projects/<pk>/wiki/<aid>/upload")
def upload_attachment(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    stored = _article(ctx, proj)
    upload = ctx.request.files.get("file")
    if upload is None or not upload.filename:
        raise errors.bad_request("No file uploaded")
    upload_id = defaults.random_id(8)
    data = upload.read()
    proj.collection(UPLOADS)[upload_id] = {"articleId": stored["article"]["id"], "filename": upload.filename,
                                           "data": base64.b64encode(data).decode("ascii")}
    entry = {"attachmentType": "FILE", "smartId": upload_id,
             "details": {"objectDisplayName": upload.filename, "size": len(data)}}
    stored["article"].setdefault("attachments", []).append(entry)
    defaults.bump(stored["article"], ctx.login)
    _save(ctx, proj)
    ctx.store.save_collection(proj, UPLOADS)
    return clone(entry)


@route("GET", "/projects/<pk>/wiki/<aid>/uploads/<upload_id>")
def get_attachment(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    article_id = _article(ctx, proj, by_name=True)["article"]["id"]
    upload = proj.collection(UPLOADS).get(ctx.params["upload_id"])
    if upload is None or upload["articleId"] != article_id:
        raise errors.not_found(f"Attachment {ctx.params['upload_id']} does not exist on wiki article {article_id}")
    return Raw(base64.b64decode(upload["data"]))
