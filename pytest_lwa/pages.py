"""The HTML a browser sees: Amazon's error pages, and the sign-in and consent pages of interactive consent.

Plain server-rendered HTML5: no script, no external asset, every control a native form control with a
label, so a keyboard alone (Tab, Enter, Space) completes every page.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from html import escape
from typing import Final

_STYLE: Final = (
    "body{font-family:Arial,sans-serif;margin:2rem auto;max-width:34rem;padding:0 1rem;color:#0f1111}"
    "fieldset{border:1px solid #d5d9d9;border-radius:8px;margin:1rem 0;padding:1rem}"
    "label{display:block;margin:.5rem 0 .25rem}select,input{font-size:1rem;padding:.3rem;width:100%}"
    "button{font-size:1rem;margin:.5rem .5rem 0 0;padding:.4rem 1.2rem}:focus{outline:3px solid #007185}"
    "h1,h2,p,li,label{overflow-wrap:anywhere}input[type=checkbox]{width:auto;margin-right:.5rem}"
    "li label{display:inline}"
)
#: the name prefix of a voluntary scope's checkbox on the consent page (``lwa_keep:profile``)
KEEP: Final = "lwa_keep:"


def _page(title: str, body: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<main>
{body}
</main>
</body>
</html>
""".encode()


def error_page(summary: str) -> bytes:
    """Amazon's error page for a browser at ``/ap/oa`` (docs/contract.md R20, R21): no redirect."""
    return _page(
        "Amazon.com Sign In",
        f"""<h1>We're sorry!</h1>
<p>An error occurred when we tried to process your request.</p>
<h2>Error Summary</h2>
<p>400 Bad Request</p>
<p>{escape(summary)}</p>""",
    )


def seller_central_error(message: str, code: str | None) -> bytes:
    """Seller Central's page for a failed authorization workflow, with Amazon's error code if it has one."""
    shown = f"\n<p>Error code: <strong>{escape(code)}</strong></p>" if code else ""
    return _page(
        "Seller Central: authorization error",
        f"""<h1>We're sorry</h1>
<p role="alert">{escape(message)}</p>{shown}""",
    )


def declined(app_name: str) -> bytes:
    """What the selling partner sees after Cancel: the workflow ends here, without a redirect."""
    return _page(
        "Seller Central: not authorized",
        f"<h1>You did not authorize {escape(app_name)}</h1>\n<p>No data is shared with this application.</p>",
    )


def consent(
    *,
    title: str,
    heading: str,
    action: str,
    carry: Mapping[str, str],
    accounts: Iterable[tuple[str, str]] = (),
    signed_in: str | None = None,
    access: Iterable[str] = (),
    allow: str = "Allow",
    cancel: str | None = "Cancel",
    privacy: tuple[str, str] | None = None,
    optional: Collection[str] = (),
    ticked: Collection[str] | None = None,
    alert: str | None = None,
) -> bytes:
    """A sign-in and consent form posting ``carry`` back to ``action`` with ``lwa_account`` (chosen),
    ``lwa_typed_account`` (typed), ``lwa_decision`` (``allow`` or ``cancel``) and a ``lwa_keep:<scope>`` field
    for each of the ``optional`` items of ``access`` left ticked.

    ``accounts`` are (id, label) pairs to choose from; ``signed_in`` shows one account instead of the choice;
    ``privacy`` is (the application's name, its privacy notice URL), linked under the form; ``ticked`` the
    optional items shown ticked (``None``: all); ``alert`` a message above the form.
    """
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in carry.items()
    )
    if signed_in is not None:
        who = f"<p>Signed in as <strong>{escape(signed_in)}</strong></p>"
    else:
        options = "\n".join(f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in accounts)
        who = f"""<fieldset>
<legend>Sign in</legend>
<label for="lwa-account">Account</label>
<select id="lwa-account" name="lwa_account">
{options}
</select>
<label for="lwa-typed-account">Or type an account id</label>
<input id="lwa-typed-account" name="lwa_typed_account" type="text" autocomplete="off" spellcheck="false">
</fieldset>"""

    def item(number: int, name: str) -> str:
        if name not in optional:
            return f"<li>{escape(name)}</li>"
        checked = " checked" if ticked is None or name in ticked else ""
        box = f'<input type="checkbox" id="lwa-keep-{number}" name="{escape(KEEP + name)}" value="on"{checked}>'
        return f'<li>{box}<label for="lwa-keep-{number}">{escape(name)}</label></li>'

    items = "\n".join(item(number, name) for number, name in enumerate(access))
    asked = (
        f'<h2 id="lwa-access">Requested access</h2>\n<ul aria-labelledby="lwa-access">\n{items}\n</ul>' if items else ""
    )
    notice = ""
    if privacy is not None:
        name, url = privacy
        notice = f'\n<p>See <a id="lwa-privacy" href="{escape(url)}">{escape(name)}\'s privacy notice</a>.</p>'
    shout = f'\n<p role="alert">{escape(alert)}</p>' if alert else ""
    buttons = f'<button type="submit" name="lwa_decision" value="allow">{escape(allow)}</button>'
    if cancel is not None:
        buttons += f'\n<button type="submit" name="lwa_decision" value="cancel">{escape(cancel)}</button>'
    return _page(
        title,
        f"""<h1>{escape(heading)}</h1>{shout}
<form method="post" action="{escape(action)}">
{hidden}
{who}
{asked}
{buttons}
</form>{notice}""",
    )
