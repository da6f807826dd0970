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


def test_region_facet_is_a_province_city_tree(client):
    html = client.get("/?q=红十字").get_data(as_text=True)
    tree = html[html.index('class="tree"'):html.index("facet-topic")]
    assert tree.index("浙江省") < tree.index("绍兴市") < tree.index("杭州市") or tree.index("浙江省") < tree.index("杭州市")
    assert tree.index("河北省") < tree.index("石家庄市")


def test_selected_filters_are_chips_with_remove_and_clear_links(client):
    html = client.get("/?q=红十字&city=石家庄&topic=志愿服务").get_data(as_text=True)
    assert "城市：石家庄" in html and "主题：志愿服务" in html
    assert 'href="/?q=%E7%BA%A2%E5%8D%81%E5%AD%97&amp;topic=%E5%BF%97%E6%84%BF%E6%9C%8D%E5%8A%A1"' in html
    assert "清除全部" in html
    assert 'class="on" aria-current="true"' in html


def test_empty_state_offers_dropping_filters_and_a_correction(client):
    html = client.get("/?q=造血干细包&city=石家庄").get_data(as_text=True)
    assert "没有找到与“<strong>造血干细包</strong>”相关的段落" in html
    assert "去掉“城市：石家庄”" in html
    assert "您是不是要找" in html and "造血干细胞" in html


def test_sort_and_pagination_links_keep_the_search(client):
    html = client.get("/?q=红十字&sort=date&page=2").get_data(as_text=True)
    assert '<strong aria-current="page">2</strong>' in html
    assert 'rel="prev" href="/?q=%E7%BA%A2%E5%8D%81%E5%AD%97&amp;sort=date&amp;page=1"' in html
    assert '<strong aria-current="true">日期</strong>' in html


def test_result_links_carry_the_search_to_the_document_and_back(client):
    html = client.get("/?q=魔豆妈妈&city=石家庄").get_data(as_text=True)
    link = "/doc/001_77d36a74d18f4973?q=%E9%AD%94%E8%B1%86%E5%A6%88%E5%A6%88&amp;city=%E7%9F%B3%E5%AE%B6%E5%BA%84#p"
    assert link in html
    doc = client.get("/doc/001_77d36a74d18f4973?q=魔豆妈妈&city=石家庄").get_data(as_text=True)
    assert 'href="/?q=%E9%AD%94%E8%B1%86%E5%A6%88%E5%A6%88&amp;city=%E7%9F%B3%E5%AE%B6%E5%BA%84">← 返回搜索结果' in doc
    assert 'value="魔豆妈妈"' in doc


def test_browse_with_filters_only(client):
    html = client.get("/?city=东阳").get_data(as_text=True)
    assert "浙江省 › 金华市 › 东阳市" in html
    assert "共 20 条结果 · 1 篇报告" in html


def test_document_has_a_table_of_contents(client):
    html = client.get("/doc/000_ce03444764b2e6d0").get_data(as_text=True)
    toc = html[html.index('class="toc"'):html.index("</nav>", html.index('class="toc"'))]
    assert "全面从严治党 深推改革发展" in toc and 'href="#p' in toc


def test_overview_shows_build_time_and_charts(client):
    html = client.get("/overview").get_data(as_text=True)
    assert "索引于" in html and "来自 5 个文件" in html
    assert html.count("<svg") >= 5
