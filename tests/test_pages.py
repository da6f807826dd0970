"""Server-rendered pages (they work without JavaScript)."""


def test_search_page_shows_results_with_marks(client):
    html = client.get("/?q=博爱送万家").get_data(as_text=True)
    assert "共 " in html and "条结果" in html
    assert "<mark>博爱送万家</mark>" in html


def test_empty_search_page_has_a_focused_box(client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="q"' in html and "autofocus" in html


def test_malformed_query_gives_a_message_not_a_stack_trace(client):
    response = client.get("/?q=" + "字" * 600)
    assert response.status_code == 400
    assert "查询过长" in response.get_data(as_text=True)


def test_document_page_highlights_and_anchors(client):
    html = client.get("/doc/001_77d36a74d18f4973?q=魔豆妈妈").get_data(as_text=True)
    assert "<mark>魔豆妈妈</mark>" in html
    assert 'id="p1"' in html


def test_unknown_document_is_404(client):
    assert client.get("/doc/nope").status_code == 404


def test_overview_page_lists_facets(client):
    html = client.get("/overview").get_data(as_text=True)
    assert "5 篇报告" in html
