"""`/dev/mail`: the local capture server's mailbox, only in `make dev`."""

from __future__ import annotations

from flask import Flask, abort, render_template_string

from deploy.local.mail_capture import CaptureHandler

_LIST = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Captured mail</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}
td,th{padding:.3rem .6rem;text-align:left;border-bottom:1px solid #ddd}</style></head>
<body><main><h1>Captured mail ({{ mails|length }})</h1>
<table><thead><tr><th>#</th><th>To</th><th>Subject</th></tr></thead><tbody>
{% for m in mails %}<tr><td><a href="/dev/mail/{{ loop.index0 }}">{{ loop.index0 }}</a></td>
<td>{{ m.rcpt_tos|join(", ") }}</td><td>{{ m.subject }}</td></tr>{% endfor %}
</tbody></table></main></body></html>"""

_ONE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ m.subject }}</title></head>
<body><main><p><a href="/dev/mail">All mail</a></p><h1>{{ m.subject }}</h1>
<p>To: {{ m.rcpt_tos|join(", ") }}</p>
{% if html %}<iframe title="HTML version" sandbox srcdoc="{{ html }}" style="width:100%;height:70vh;border:1px solid #ccc"></iframe>{% endif %}
<h2>Plain text</h2><pre style="white-space:pre-wrap">{{ text }}</pre></main></body></html>"""


def register_mailbox(app: Flask, handler: CaptureHandler) -> None:
    """Serve the captured messages at /dev/mail."""

    @app.get("/dev/mail")
    def dev_mail_list():
        return render_template_string(_LIST, mails=handler.snapshot())

    @app.get("/dev/mail/<int:index>")
    def dev_mail_one(index: int):
        mails = handler.snapshot()
        if index >= len(mails):
            abort(404)
        mail = mails[index]
        return render_template_string(_ONE, m=mail, html=mail.part("html"), text=mail.part("plain"))
