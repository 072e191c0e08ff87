"""Hostile HTML mail bodies: script, event handlers, javascript: links, CSS expressions,
SVG and MathML tricks, parser confusion, remote resources. Every payload, if it ran, would
show a dialog, change the page title, navigate, or fetch a URL containing ``pwned`` or a
host under ``evil.test``; the tests assert that none of that happens."""

from __future__ import annotations

HOSTILE: dict[str, str] = {
    "script": "<p>a</p><script>alert('pwned')</script>",
    "script_src": '<script src="http://evil.test/pwned.js"></script>',
    "img_onerror": '<img src="x" onerror="alert(1);document.title=\'pwned\'">',
    "body_onload": '<body onload="alert(1)"><p>b</p></body>',
    "svg_onload": '<svg onload="alert(1)"><circle r="5"/></svg>',
    "svg_script": "<svg><script>alert(1)</script></svg>",
    "svg_xlink": (
        '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">pwned</text></a></svg>'
    ),
    "svg_animate": (
        '<svg><animate attributeName="href" to="javascript:alert(1)"/>'
        '<set attributeName="onmouseover" to="alert(1)"/></svg>'
    ),
    "math_href": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "math_mxss": (
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
        "</style></mglyph></table></mtext></math>"
    ),
    "noscript_mxss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "js_link": '<a id="l1" href="javascript:alert(1)">nhấn vào đây</a>',
    "js_link_entity": '<a id="l2" href="&#106;avascript:alert(1)">nhấn</a>',
    "js_link_tab": '<a id="l3" href="jav&#x09;ascript:alert(1)">nhấn</a>',
    "js_link_spaces": '<a id="l4" href="  javascript:alert(1)">nhấn</a>',
    "vbscript_link": '<a id="l5" href="vbscript:msgbox(1)">nhấn</a>',
    "data_link": '<a id="l6" href="data:text/html,<script>alert(1)</script>">nhấn</a>',
    "iframe_js": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe_srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "object_data": (
        '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>'
    ),
    "embed": '<embed src="javascript:alert(1)">',
    "meta_refresh": '<meta http-equiv="refresh" content="0;url=/pwned">',
    "base_href": '<base href="http://evil.test/"><a id="l7" href="pwned">tương đối</a>',
    "form_action": (
        '<form action="http://evil.test/pwned" method="post"><input name="p" value="x">'
        '<button id="b1">Gửi</button></form>'
    ),
    "css_expression": '<div style="width: expression(alert(1)); color: red">biểu thức</div>',
    "css_expression_comment": '<div style="x:expr/**/ession(alert(1))">chú thích</div>',
    "css_js_url": '<div style="background:url(javascript:alert(1))">nền</div>',
    "css_remote_bg": "<div style=\"background-image:url('http://evil.test/pwned.png')\">nền</div>",
    "css_behavior": '<div style="behavior:url(http://evil.test/x.htc);-moz-binding:url(x)">b</div>',
    "style_block": (
        "<style>@import url(http://evil.test/pwned.css);"
        "body{background:url(http://evil.test/pwned.png)}</style><p>kiểu</p>"
    ),
    "link_stylesheet": '<link rel="stylesheet" href="http://evil.test/pwned.css">',
    "remote_img": '<img src="http://evil.test/pwned.gif" alt="theo dõi">',
    "remote_srcset": '<img srcset="http://evil.test/pwned.png 1x" src="data:,">',
    "table_background": '<table background="http://evil.test/pwned.png"><tr><td>x</td></tr></table>',
    "video_poster": (
        '<video poster="http://evil.test/pwned.jpg"><source src="x" onerror="alert(1)"></video>'
    ),
    "audio_onerror": '<audio src="x" onerror="alert(1)"></audio>',
    "details_ontoggle": '<details open ontoggle="alert(1)"><summary>s</summary></details>',
    "input_autofocus": '<input autofocus onfocus="alert(1)">',
    "marquee": '<marquee onstart="alert(1)">chạy</marquee>',
    "unknown_tag_handler": '<x onclick="alert(1)" id="x1">nhấn</x>',
    "split_script": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "comment_trick": "<!--<img src=x onerror=alert(1)>--><p>c</p>",
    "cdata_trick": "<![CDATA[<script>alert(1)</script>]]>",
    "template": "<template><img src=x onerror=alert(1)></template>",
    "xml_ns": '<html xmlns:x="http://www.w3.org/1999/xhtml"><x:script>alert(1)</x:script></html>',
    "entity_script": "&lt;script&gt;alert(1)&lt;/script&gt; (vô hại: chỉ là chữ)",
}


def combined() -> str:
    """Every payload in one document."""
    return "\n".join(f"<div>{name}: {html}</div>" for name, html in HOSTILE.items())
