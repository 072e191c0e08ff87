"""The HTML sanitiser on its own: the hostile corpus comes out inert (the browser tests
check the same corpus in a real browser)."""

from __future__ import annotations

import re

import pytest
from tests.web.hostile_corpus import HOSTILE, combined

from govmail.web.sanitize import clean_style, plain_to_html, sanitize_html

_EVENT_ATTR = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_payload_comes_out_inert(name: str) -> None:
    out = sanitize_html(HOSTILE[name]).html
    lowered = out.lower()
    for needle in ("<script", "javascript:", "vbscript:", "<iframe", "<object", "<embed",
                   "<svg", "<math", "<style", "<link", "<meta", "<base", "<form", "<input",
                   "expression", "evil.test", "data:text/html", "<template"):  # fmt: skip
        assert needle not in lowered, (name, out)
    assert not _EVENT_ATTR.search(out), (name, out)


def test_the_combined_corpus_keeps_text_and_drops_every_active_part() -> None:
    out = sanitize_html(combined())
    assert "nhấn vào đây" in out.html and "biểu thức" in out.html
    assert out.blocked_images >= 1
    assert "<script" not in out.html.lower() and not _EVENT_ATTR.search(out.html)
    # Text that only looks like markup stays text.
    alone = sanitize_html(HOSTILE["entity_script"]).html
    assert alone.startswith("&lt;script&gt;alert(1)&lt;/script&gt;")


def test_harmless_formatting_survives() -> None:
    html = (
        '<table width="100%" border="1"><tr><td style="color: #c00; font-weight: bold">Ô</td>'
        '</tr></table><p align="center"><font color="blue">xanh</font></p>'
        '<a href="https://mic.gov.vn/">Cổng</a><a href="mailto:a@b.vn">thư</a>'
    )
    out = sanitize_html(html).html
    assert 'style="color:#c00;font-weight:bold"' in out
    assert '<font color="blue">xanh</font>' in out
    assert 'href="https://mic.gov.vn/"' in out and 'target="_blank"' in out
    assert 'rel="noopener noreferrer nofollow"' in out
    assert 'href="mailto:a@b.vn"' in out


def test_images_cid_data_and_remote() -> None:
    html = (
        '<img src="cid:logo@mic"><img src="cid:missing@mic">'
        '<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml,<svg/>">'
        '<img src="https://tracker.example/p.gif"><img src="http://tracker.example/q.gif">'
    )
    out = sanitize_html(html, cid_resolver={"logo@mic": "data:image/png;base64,AAAA"}.get)
    assert out.html.count('src="data:image/png;base64,AAAA"') == 1
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in out.html
    assert "svg" not in out.html and "tracker.example" not in out.html
    assert out.blocked_images == 2
    allowed = sanitize_html(html, allow_remote_images=True)
    assert "https://tracker.example/p.gif" in allowed.html and allowed.blocked_images == 0


def test_style_declarations_are_filtered_one_by_one() -> None:
    assert clean_style("color: red; position: fixed; top: 0") == "color:red"
    assert clean_style("width: expression(alert(1)); height: 10px") == "height:10px"
    assert clean_style("background-color: url(x)") is None
    assert clean_style("font-family: a\\62 c") is None
    assert clean_style("display: flex") is None and clean_style("display: none") == "display:none"


def test_plain_text_is_escaped_and_links_are_made() -> None:
    out = plain_to_html("<b>x</b> xem https://mic.gov.vn/a?b=1&c=2.\n> trích dẫn\n>> hai")
    assert out.startswith('&lt;b&gt;x&lt;/b&gt; xem <a href="https://mic.gov.vn/a?b=1&amp;c=2"')
    assert '<span class="q1">&gt; trích dẫn</span>' in out
    assert '<span class="q2">' in out
