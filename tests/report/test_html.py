"""The HTML pieces: escaping, tables, embedded figures, the page with its load-recording script."""

from __future__ import annotations

import base64

from PIL import Image

from cnnkit.report import html


def test_text_is_escaped():
    assert html.paragraph("<b> & 'x'") == "<p>&lt;b&gt; &amp; &#x27;x&#x27;</p>"
    assert html.preformatted("a<b") == "<pre>a&lt;b</pre>"


def test_table_with_and_without_header():
    assert html.table(("k", "v"), [("lr", 0.1)], numeric=(1,)) == (
        '<table><tr><th>k</th><th>v</th></tr><tr><td>lr</td><td class="num">0.1</td></tr></table>'
    )
    assert html.table(None, [("a", "b")]) == "<table><tr><td>a</td><td>b</td></tr></table>"


def test_figure_embeds_the_file(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (3, 2), (255, 0, 0)).save(path)
    part = html.figure(path, "red <3")
    assert base64.b64encode(path.read_bytes()).decode() in part
    assert 'alt="red &lt;3"' in part and "<figcaption>red &lt;3</figcaption>" in part


def test_page_has_title_sections_and_the_script():
    page = html.page("run & co", "sub", [html.section("A", "<p>x</p>")])
    assert page.startswith("<!DOCTYPE html>") and "<title>run &amp; co</title>" in page
    assert "<section><h2>A</h2><p>x</p></section>" in page and "data-natural-width" in page
