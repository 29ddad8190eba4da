"""Wiki articles (`project.get_wiki()`, dataikuapi `dss/wiki.py`): markdown from a file (or inline),
the article's place in the wiki's hierarchy, and which article is the wiki's home.

DSS gives each article a sequential id of its own ("1", "2"…, never reused) and keys it by that id;
its name is a title DSS accepts twice, so an article is found again by the id the state records
(Identity.SERVER_ID), and renamed in place. The configuration names articles by title.

**Hierarchy lives in one document.** DSS keeps the tree of articles and the home article in the
wiki's settings (`taxonomy`, `homeArticleId`), one document per project, which articles'
creates and deletes change on DSS's side too. The executor applies sibling actions side by side
(docs/architecture.md, "Sibling updates run in parallel"), so two articles must never
read-modify-write the settings at once, nor one while another is created or deleted (its save
would drop the other's entry). The design:

- an article declares its own `parent` (an attribute of the member, as a zone membership): it is
  created under it (`create_article(parent_id=…)`: DSS inserts it, no read-modify-write), and a
  move is one `move_article_in_taxonomy` on the settings as read just before;
- every write of this type that touches the wiki (create, move, home, delete) holds one lock per
  project (`_wiki_lock`): the settings are read and saved with nothing else of the wiki changing
  in between, whatever the parallelism. Concurrent applies are already excluded by the state lock;
- an article's parent is created before it and deleted after it (`ctx.require`): parents then
  exist when their children move under them.

`home: true` on one article makes it the wiki's home (two are refused by `check_items`), and
the project's other articles then declare `home: false`: moving the home from A to B plans an
update of A too (the honest plan: DSS changes A as a side effect of B's update), whose record is
`home: false` whichever of the two updates runs first. When no article says `home`, the home stays
as DSS has it (the first article DSS creates is its home). Sibling order is DSS's: a move appends the article under its new parent.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler, object_lock
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import (
    BuildContext,
    BuiltItem,
    CheckContext,
    ConfigSchema,
    Identity,
    ImportContext,
    ResourceSpec,
)
from dataiku_iac.resources.webapp import WRITABLE_NAME, file_stem

TYPE = "wiki_article"
CONTENT_DIR = "wiki"  # where import writes the articles' markdown
_PARENTS = "wiki_article.parent"  # ProjectContext.learn: article id -> its parent's id (None: at the root)

POLICY = FieldPolicy(fields=(Field("content"), Field("parent"), Field("home")))

def _wiki_lock(project_key: str) -> threading.Lock:
    """The lock of one project's wiki settings (see the module's doc)."""
    return object_lock("wiki", project_key)


class WikiArticleHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    per_object_read = True  # the settings list ids; names and markdown come from each article
    list_has_version_numbers = False
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        """The articles the taxonomy lists (one request), each with its parent and whether it is home."""
        settings = client.get_project(project_key).get_wiki().get_settings()
        home = settings.get_home_article_id()
        return [{"id": article_id, "_parent": parent, "_home": article_id == home}
                for article_id, parent in _walk(settings.get_taxonomy(), None)]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        data = client.get_project(project_key).get_wiki().get_article(item["id"]).get_data()
        return {**data.article_data, "_id": item["id"], "_parent": item.get("_parent"), "_home": item.get("_home")}

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        article_id = doc["_id"]
        name = (doc.get("article") or {}).get("name") or article_id
        ctx.remember(TYPE, name, article_id)  # children name their parent; moves need its id
        ctx.learn(_PARENTS, article_id, doc.get("_parent"))
        return Observed(TYPE, project_key, name, article_id, self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        parent = doc.get("_parent")
        return {
            "content": doc.get("payload") or "",
            # The parent's name, once every article is known (complete_observation)
            "parent": ctx.name_of(TYPE, parent) or parent if parent is not None else None,
            "home": bool(doc.get("_home")),
        }

    def complete_observation(self, objects: dict[str, list[Observed]], ctx: ProjectContext) -> None:
        """Name each article's parent by title: the articles are read side by side, so a parent
        may not have been known when its child was translated."""
        parents = ctx.learned(_PARENTS)
        for article in objects.get(TYPE, []):
            parent = parents.get(article.dss_id)
            if parent is not None:
                article.attributes["parent"] = ctx.name_of(TYPE, parent) or parent

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        wiki = client.get_project(resource.project_key).get_wiki()
        attrs = resource.attributes
        with _wiki_lock(resource.project_key):
            parent_id = _parent_id(resource, ctx)
            article = wiki.create_article(resource.name, parent_id=parent_id, content=attrs.get("content"))
            ctx.remember(TYPE, resource.name, article.article_id)
            home = _place(wiki, resource, article.article_id, ctx)
        return Observed(TYPE, resource.project_key, resource.name, article.article_id,
                        {"content": attrs.get("content") or "", "parent": attrs.get("parent"), "home": home})

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        wiki = client.get_project(resource.project_key).get_wiki()
        attrs = resource.attributes
        data = wiki.get_article(current.dss_id).get_data()
        before = (data.get_name(), data.get_body())
        if "content" in attrs:
            data.set_body(attrs["content"])
        data.set_name(resource.name)
        if (data.get_name(), data.get_body()) != before:
            data.save()  # the article's own document: no other article writes it
        with _wiki_lock(resource.project_key):
            home = _place(wiki, resource, current.dss_id, ctx)
        return Observed(TYPE, resource.project_key, resource.name, current.dss_id,
                        {"content": data.get_body() or "", "parent": attrs.get("parent"), "home": home})

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        # DSS takes the article out of the taxonomy (its children take its place) under the lock:
        # a sibling's settings save in between would otherwise put it back.
        with _wiki_lock(project_key):
            client.get_project(project_key).get_wiki().get_article(dss_id).delete()


def _walk(taxonomy: list[dict[str, Any]], parent: Optional[str]) -> list[tuple[str, Optional[str]]]:
    """(article id, its parent's id) for every node of a taxonomy, parents first."""
    found: list[tuple[str, Optional[str]]] = []
    for node in taxonomy:
        found.append((node["id"], parent))
        found.extend(_walk(node.get("children") or [], node["id"]))
    return found


def _parent_id(resource: Resource, ctx: ProjectContext) -> Optional[str]:
    parent = resource.attributes.get("parent")
    if parent is None:
        return None
    parent_id = ctx.dss_id_of(TYPE, parent)
    if parent_id is None:
        raise ValueError(f"wiki article {parent!r} of project {resource.project_key} is not known to exist")
    return parent_id


def _place(wiki: Any, resource: Resource, article_id: str, ctx: ProjectContext) -> bool:
    """Under the wiki's lock: one read-modify-write of the settings moving the article under its
    declared parent and making it home if declared, saved only when that changes something.
    Returns whether it is the home."""
    settings = wiki.get_settings()
    live_parent = dict(_walk(settings.get_taxonomy(), None)).get(article_id)
    wanted_parent = _parent_id(resource, ctx)
    changed = False
    if "parent" in resource.attributes and live_parent != wanted_parent:
        settings.move_article_in_taxonomy(article_id, wanted_parent)
        changed = True
    if resource.attributes.get("home") and settings.get_home_article_id() != article_id:
        settings.set_home_article_id(article_id)
        changed = True
    if changed:
        settings.save()
    if resource.attributes.get("home") is False:
        # Another article of this apply declares `home: true` (check_items): its create or update,
        # before or after this one, leaves this article not home.
        return False
    return bool(settings.get_home_article_id() == article_id)


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """A `wiki_articles` item -> logical attributes. The parent is always declared (none: at the
    wiki's root), so an article moved in DSS is drift."""
    attrs: dict[str, Any] = {}
    if "content_file" in item and "content" in item:
        ctx.error(("content",), "an article's markdown comes from `content_file` or `content`, not both",
                  "keep one of them")
    elif "content_file" in item:
        with contextlib.suppress(KeyError):  # unreadable: reported by the loader
            attrs["content"] = ctx.file_text(item["content_file"])
    elif "content" in item:
        attrs["content"] = item["content"]
    parent = item.get("parent")
    if parent == item["name"]:
        ctx.error(("parent",), f"article {parent!r} cannot be its own parent", "name another article, or none")
    elif parent is not None:
        ctx.require(TYPE, parent, ("parent",), "its parent article")
    attrs["parent"] = parent
    if item.get("home"):
        attrs["home"] = True
    return attrs


def check_items(items: list[BuiltItem], ctx: CheckContext) -> None:
    """A wiki has one home article; when one is declared, the others declare they are not (see
    the module's doc: moving the home is then an update of both articles)."""
    homes = [built for built in items if built.attributes.get("home")]
    if homes:
        for built in items:
            built.attributes.setdefault("home", False)
    for extra in homes[1:]:
        ctx.error((extra.index, "home"), f"articles {homes[0].item['name']!r} and {extra.item['name']!r} are both "
                  "the wiki's home: a wiki has one home article", "keep `home: true` on one article")


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `wiki_articles` item, its markdown written to wiki/<title>.md."""
    if not WRITABLE_NAME.match(name):
        return None
    item: dict[str, Any] = {"name": name}
    content = attributes.get("content") or ""
    if content:
        rel = f"{CONTENT_DIR}/{file_stem(name)}.md"
        ctx.write(rel, content)
        item["content_file"] = rel
    if attributes.get("parent") is not None:
        item["parent"] = attributes["parent"]
    if attributes.get("home"):
        item["home"] = True
    return item


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/display_name"},
                "content_file": {"$ref": "#/$defs/relpath"},
                "content": {"$ref": "#/$defs/text"},
                "parent": {"$ref": "#/$defs/display_name"},
                "home": {"type": "boolean"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name"],
        },
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="wiki article",
    color="#7f8c8d",
    handler=WikiArticleHandler(),
    identity=Identity.SERVER_ID,
    section="wiki_articles",
    schema=SCHEMA,
    file_keys=("content_file",),
    references=(TYPE,),
    removal_breaks=False,  # nothing reads an article (its children go up a level)
    build=build,
    to_config=to_config,
    check_items=check_items,
)
