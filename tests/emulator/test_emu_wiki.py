"""A project's wiki, exactly as dataikuapi 15.2 (dss/wiki.py) calls it: settings (taxonomy, home),
articles (sequential ids, markdown payload, hierarchy kept in the taxonomy)."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def wiki(dss_client):
    return dss_client.create_project("WIKI", "Wiki", "admin").get_wiki()


def test_an_empty_wiki_has_no_taxonomy_nor_home(wiki):
    settings = wiki.get_settings()
    assert settings.get_taxonomy() == [] and settings.get_home_article_id() is None
    assert wiki.list_articles() == []


def test_articles_get_sequential_ids_the_first_is_home_children_go_under_their_parent(wiki):
    home = wiki.create_article("Project description", content="# Hello\n")
    child = wiki.create_article("Data sources", parent_id=home.article_id)
    other = wiki.create_article("Runbook")
    assert (home.article_id, child.article_id, other.article_id) == ("1", "2", "3")
    settings = wiki.get_settings()
    assert settings.get_home_article_id() == "1"
    assert settings.get_taxonomy() == [{"id": "1", "children": [{"id": "2", "children": []}]},
                                       {"id": "3", "children": []}]
    data = home.get_data()
    assert data.get_body() == "# Hello\n" and data.get_name() == "Project description"
    assert data.get_metadata()["layout"] == "WIKI_ARTICLE" and data.get_metadata()["id"] == "1"
    assert [a.article_id for a in wiki.list_articles()] == ["1", "2", "3"]


def test_an_article_is_found_by_name_too(wiki):
    wiki.create_article("Data sources")
    assert wiki.get_article("Data sources").article_id == "1"
    raises_dss(NOT_FOUND, lambda: wiki.get_article("Nothing"))


def test_save_renames_and_rewrites_the_body(wiki):
    article = wiki.create_article("Draft", content="v1")
    data = article.get_data()
    created = data.get_metadata()["creationTag"]
    data.set_name("Final")
    data.set_body("v2")
    data.save()
    assert data.get_name() == "Final"  # the answer replaced the local copy
    again = article.get_data()
    assert (again.get_name(), again.get_body()) == ("Final", "v2")
    assert again.get_metadata()["creationTag"] == created and again.get_metadata()["versionTag"]["versionNumber"] == 2


def test_moves_and_home_go_through_the_settings(wiki):
    a = wiki.create_article("A")
    b = wiki.create_article("B")
    settings = wiki.get_settings()
    settings.move_article_in_taxonomy(b.article_id, a.article_id)
    settings.set_home_article_id(b.article_id)
    settings.save()
    assert settings.get_taxonomy() == [{"id": "1", "children": [{"id": "2", "children": []}]}]  # the answer
    assert wiki.get_settings().get_home_article_id() == "2"


def test_a_taxonomy_must_name_every_article_once(wiki):
    wiki.create_article("A")
    wiki.create_article("B")
    settings = wiki.get_settings()
    settings.set_taxonomy([{"id": "1", "children": []}])
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "leaves out article")
    settings.set_taxonomy([{"id": "1", "children": [{"id": "1", "children": []}]}, {"id": "2", "children": []}])
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "twice")
    settings.set_taxonomy([{"id": "1", "children": []}, {"id": "2", "children": []}, {"id": "9", "children": []}])
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "does not exist")
    settings.set_taxonomy([{"id": "1", "children": []}, {"id": "2", "children": []}])
    settings.set_home_article_id("9")
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "home article 9")


def test_delete_lifts_the_children_clears_the_home_and_never_reuses_an_id(wiki):
    parent = wiki.create_article("Parent")
    wiki.create_article("Child", parent_id=parent.article_id)
    parent.delete()
    settings = wiki.get_settings()
    assert settings.get_taxonomy() == [{"id": "2", "children": []}] and settings.get_home_article_id() is None
    assert wiki.create_article("Next").article_id == "3"
    raises_dss(NOT_FOUND, lambda: wiki.create_article("Orphan", parent_id="1"))


def test_ids_with_characters_to_escape_reach_the_article(wiki, dss_client):
    article = wiki.create_article("Résumé & notes")
    assert wiki.get_article("Résumé & notes").article_id == article.article_id
    article.delete()
    assert wiki.list_articles() == []


def test_attachments_are_uploaded_listed_and_read_back(wiki):
    import io

    article = wiki.create_article("With files")
    article.upload_attachement(io.BytesIO(b"a,b\n1,2\n"), "data (v1).csv")
    attachments = article.get_data().get_metadata()["attachments"]
    assert [a["details"]["objectDisplayName"] for a in attachments] == ["data v1.csv"]  # dataikuapi cleans the name
    with article.get_uploaded_file(attachments[0]["smartId"]) as stream:
        assert stream.content == b"a,b\n1,2\n"
    raises_dss(NOT_FOUND, lambda: wiki.create_article("Other").get_uploaded_file(attachments[0]["smartId"]))
