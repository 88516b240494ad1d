"""Block Kit as HTML, for the local playground: what leadloop sends, drawn close to Slack.

The playground shows leadloop's real messages, modals and App Home, so this reads the
same JSON Slack would get. Every block and element type leadloop sends is drawn; any other
shows as a visible "not rendered" box, never silently dropped, so a new kind of block in
leadloop is noticed. Every text is HTML-escaped before any markup is added: a rating's
reason, a lead's name or a thread reply can't inject HTML into the page.

Emoji shortcodes (``:white_check_mark:``) show as the emoji, as Slack shows them, for the
ones in ``EMOJI`` (every one leadloop sends, and common ones people type); any other stays
as its text. Code, links' addresses and times such as ``10:30:00`` are left as they are.

Buttons and inputs carry their Block Kit ids as ``data-`` attributes; the page's script
turns a click or a form into the signed payload Slack would send.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

Names = Callable[[str], str]  # a user, channel or user group ID -> the name to show

# Slack's special mentions and link forms inside mrkdwn and plain text.
_ANGLE = re.compile(r"<([^<>]*)>")
_CODE_BLOCK = re.compile(r"```(.+?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
# ``:name:`` not glued to a letter or digit on either side, so ``10:30:00`` is no shortcode.
_SHORTCODE = re.compile(r"(?<![0-9A-Za-z]):([a-z0-9_+-]+):(?![0-9A-Za-z])")
_BARE_URL = re.compile(r"(\S*://\S*)")

# The shortcodes the playground draws. First every one leadloop itself sends (a test
# keeps this so), then common ones people type. A small explicit table: no dependency.
EMOJI: dict[str, str] = {
    # leadloop's own
    "warning": "\u26a0\ufe0f",
    "inbox_tray": "\U0001f4e5",
    "tada": "\U0001f389",
    "white_check_mark": "\u2705",
    "eyes": "\U0001f440",
    # common ones
    "+1": "\U0001f44d",
    "thumbsup": "\U0001f44d",
    "-1": "\U0001f44e",
    "thumbsdown": "\U0001f44e",
    "smile": "\U0001f604",
    "smiley": "\U0001f603",
    "grinning": "\U0001f600",
    "slightly_smiling_face": "\U0001f642",
    "slightly_frowning_face": "\U0001f641",
    "wink": "\U0001f609",
    "joy": "\U0001f602",
    "sweat_smile": "\U0001f605",
    "thinking_face": "\U0001f914",
    "heart": "\u2764\ufe0f",
    "fire": "\U0001f525",
    "rocket": "\U0001f680",
    "star": "\u2b50",
    "sparkles": "\u2728",
    "clap": "\U0001f44f",
    "pray": "\U0001f64f",
    "raised_hands": "\U0001f64c",
    "wave": "\U0001f44b",
    "ok_hand": "\U0001f44c",
    "muscle": "\U0001f4aa",
    "handshake": "\U0001f91d",
    "point_right": "\U0001f449",
    "100": "\U0001f4af",
    "heavy_check_mark": "\u2714\ufe0f",
    "x": "\u274c",
    "no_entry": "\u26d4",
    "question": "\u2753",
    "exclamation": "\u2757",
    "rotating_light": "\U0001f6a8",
    "bulb": "\U0001f4a1",
    "memo": "\U0001f4dd",
    "pushpin": "\U0001f4cc",
    "calendar": "\U0001f4c6",
    "date": "\U0001f4c5",
    "alarm_clock": "\u23f0",
    "hourglass_flowing_sand": "\u23f3",
    "bell": "\U0001f514",
    "chart_with_upwards_trend": "\U0001f4c8",
    "chart_with_downwards_trend": "\U0001f4c9",
    "bar_chart": "\U0001f4ca",
    "moneybag": "\U0001f4b0",
    "dart": "\U0001f3af",
    "trophy": "\U0001f3c6",
    "outbox_tray": "\U0001f4e4",
    "email": "\U0001f4e7",
    "speech_balloon": "\U0001f4ac",
    "coffee": "\u2615",
    "red_circle": "\U0001f534",
    "large_green_circle": "\U0001f7e2",
    "large_yellow_circle": "\U0001f7e1",
}


def no_names(identifier: str) -> str:
    """Shows IDs as they are, when the page knows no names."""
    return identifier


def render_blocks(blocks: list[Any], *, names: Names = no_names) -> str:
    """A message's, modal's or App Home's blocks, as HTML."""
    return "".join(render_block(block, names=names) for block in blocks)


def render_block(block: Any, *, names: Names = no_names) -> str:
    """One block; an unknown one as a visible "not rendered" box."""
    kind = block.get("type") if isinstance(block, Mapping) else None
    draw = _BLOCKS.get(kind) if isinstance(kind, str) else None
    if draw is None:
        return _not_rendered("block", kind)
    return draw(block, names)


def render_text(text: Any, *, names: Names = no_names) -> str:
    """A text object (mrkdwn or plain_text), or a bare string as mrkdwn."""
    if isinstance(text, str):
        return mrkdwn(text, names=names)
    if not isinstance(text, Mapping):
        return ""
    value = str(text.get("text") or "")
    if text.get("type") == "plain_text":
        # Slack draws plain text's shortcodes unless the text object says ``"emoji": false``.
        escaped = html.escape(value)
        return _line_breaks(escaped if text.get("emoji") is False else emojify(escaped))
    return mrkdwn(value, names=names)


def mrkdwn(text: str, *, names: Names = no_names) -> str:
    """Slack's mrkdwn as HTML: links, mentions, bold, italics, strikes, code and quotes."""
    pieces: list[str] = []
    set_aside: list[str] = []  # HTML already made, kept out of the escaping below

    def keep(fragment: str) -> str:
        set_aside.append(fragment)
        return f"\x00{len(set_aside) - 1}\x00"

    text = _CODE_BLOCK.sub(lambda m: keep(f"<pre>{html.escape(_unescape(m.group(1)))}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{html.escape(_unescape(m.group(1)))}</code>"), text)
    text = _ANGLE.sub(lambda m: keep(_angle(m.group(1), names)), text)
    for line in text.split("\n"):
        quoted = line.startswith(("&gt; ", "> ", "&gt;")) and not line.startswith(">>")
        body = re.sub(r"^(&gt;|>) ?", "", line) if quoted else line
        body = emojify(_inline(html.escape(_unescape(body), quote=False)))
        pieces.append(f'<span class="bk-quote">{body}</span>' if quoted else body)
    joined = "<br>".join(pieces)
    return re.sub("\x00(\\d+)\x00", lambda m: set_aside[int(m.group(1))], joined)


def emojify(escaped: str, *, markup: bool = True) -> str:
    """Escaped text with its known shortcodes as emoji (as a titled ``<span>``, or the bare
    character when ``markup`` is false); unknown ones and bare URLs left as they are."""

    def emoji(match: re.Match[str]) -> str:
        shown = EMOJI.get(match.group(1))
        if shown is None:
            return match.group(0)
        if not markup:
            return shown
        return f'<span class="bk-emoji" title="{html.escape(match.group(0))}">{shown}</span>'

    parts = _BARE_URL.split(escaped)  # odd parts are URLs
    return "".join(
        part if index % 2 else _SHORTCODE.sub(emoji, part) for index, part in enumerate(parts)
    )


def _inline(escaped: str) -> str:
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    return _STRIKE.sub(r"<s>\1</s>", escaped)


def _angle(inner: str, names: Names) -> str:
    """``<@U1>``, ``<#C1|name>``, ``<!subteam^S1>``, ``<!here>``, ``<url|label>``."""
    target, _, label = inner.partition("|")
    target, label = _unescape(target), _unescape(label)
    if target.startswith("@"):
        return _mention("@" + names(target[1:]), "user")
    if target.startswith("#"):
        return _mention("#" + (label or names(target[1:])), "channel")
    if target.startswith("!subteam^"):
        return _mention("@" + (label or names(target[len("!subteam^") :])), "group")
    if target.startswith("!date^"):
        return html.escape(label or target)
    if target.startswith("!"):
        return _mention("@" + target[1:], "group")
    shown = emojify(html.escape(label)) if label else html.escape(target)
    if not _SAFE_URL.match(target):
        return shown  # javascript: and the like are shown as text, never as a link
    return f'<a href="{html.escape(target)}" target="_blank" rel="noopener">{shown}</a>'


def _mention(text: str, kind: str) -> str:
    return f'<span class="bk-mention bk-{kind}">{html.escape(text)}</span>'


def _unescape(text: str) -> str:
    """Slack escapes ``&``, ``<`` and ``>`` in message text; the page escapes them again."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _line_breaks(escaped: str) -> str:
    return escaped.replace("\n", "<br>")


# --- blocks ---------------------------------------------------------------------------


def _section(block: Mapping[str, Any], names: Names) -> str:
    parts = []
    if block.get("text"):
        parts.append(f'<div class="bk-text">{render_text(block["text"], names=names)}</div>')
    fields = block.get("fields") or []
    if fields:
        cells = "".join(
            f'<div class="bk-field">{render_text(field, names=names)}</div>' for field in fields
        )
        parts.append(f'<div class="bk-fields">{cells}</div>')
    accessory = block.get("accessory")
    body = f'<div class="bk-section-body">{"".join(parts)}</div>'
    if accessory:
        body += f'<div class="bk-accessory">{render_element(accessory, block, names)}</div>'
    return f'<div class="bk-block bk-section"{_block_id(block)}>{body}</div>'


def _context(block: Mapping[str, Any], names: Names) -> str:
    items = []
    for element in block.get("elements") or []:
        if isinstance(element, Mapping) and element.get("type") == "image":
            items.append(_image_tag(element, css="bk-context-image"))
        elif isinstance(element, Mapping) and element.get("type") in ("mrkdwn", "plain_text"):
            items.append(f"<span>{render_text(element, names=names)}</span>")
        else:
            items.append(_not_rendered("context element", _kind(element)))
    return f'<div class="bk-block bk-context"{_block_id(block)}>{"".join(items)}</div>'


def _actions(block: Mapping[str, Any], names: Names) -> str:
    elements = "".join(
        render_element(element, block, names) for element in block.get("elements") or []
    )
    return f'<div class="bk-block bk-actions"{_block_id(block)}>{elements}</div>'


def _header(block: Mapping[str, Any], names: Names) -> str:
    text = render_text(block.get("text"), names=names)
    return f'<div class="bk-block bk-header"{_block_id(block)}>{text}</div>'


def _divider(block: Mapping[str, Any], names: Names) -> str:
    return f'<hr class="bk-block bk-divider"{_block_id(block)}>'


def _image(block: Mapping[str, Any], names: Names) -> str:
    title = block.get("title")
    caption = f"<figcaption>{render_text(title, names=names)}</figcaption>" if title else ""
    image = _image_tag(block, css="bk-image")
    return f'<figure class="bk-block bk-image-block"{_block_id(block)}>{image}{caption}</figure>'


def _input(block: Mapping[str, Any], names: Names) -> str:
    label = render_text(block.get("label"), names=names)
    optional = ' <span class="bk-optional">(optional)</span>' if block.get("optional") else ""
    hint = block.get("hint")
    hint_html = f'<div class="bk-hint">{render_text(hint, names=names)}</div>' if hint else ""
    element = render_element(block.get("element"), block, names)
    return (
        f'<div class="bk-block bk-input"{_block_id(block)}>'
        f'<label class="bk-label">{label}{optional}</label>{element}{hint_html}'
        '<div class="bk-error" hidden></div></div>'
    )


_BLOCKS: dict[str, Callable[[Mapping[str, Any], Names], str]] = {
    "section": _section,
    "context": _context,
    "actions": _actions,
    "header": _header,
    "divider": _divider,
    "image": _image,
    "input": _input,
}


# --- elements -------------------------------------------------------------------------


def render_element(element: Any, block: Mapping[str, Any], names: Names = no_names) -> str:
    """A block element (button, text input, select, checkboxes, image); an unknown one as a
    "not rendered" box."""
    kind = _kind(element)
    draw = _ELEMENTS.get(kind) if kind else None
    if draw is None or not isinstance(element, Mapping):
        return _not_rendered("element", kind)
    return draw(element, block, names)


def _button(element: Mapping[str, Any], block: Mapping[str, Any], names: Names) -> str:
    style = element.get("style")
    css = f"bk-button bk-button-{style}" if style in ("primary", "danger") else "bk-button"
    label = render_text(element.get("text"), names=names)
    url = str(element.get("url") or "")
    link = f' data-url="{html.escape(url)}"' if _SAFE_URL.match(url) else ""
    return (
        f'<button type="button" class="{css}"{_ids(element, block)}'
        f' data-value="{html.escape(str(element.get("value") or ""))}"{link}>{label}</button>'
    )


def _text_input(element: Mapping[str, Any], block: Mapping[str, Any], names: Names) -> str:
    value = html.escape(str(element.get("initial_value") or ""))
    placeholder = _placeholder(element)
    limit = element.get("max_length")
    maximum = f' maxlength="{int(limit)}"' if isinstance(limit, int) else ""
    if element.get("multiline"):
        attributes = f"{_ids(element, block)}{placeholder}{maximum}"
        return f'<textarea class="bk-textarea"{attributes}>{value}</textarea>'
    return (
        f'<input type="text" class="bk-text-input"{_ids(element, block)}'
        f' value="{value}"{placeholder}{maximum}>'
    )


def _static_select(element: Mapping[str, Any], block: Mapping[str, Any], names: Names) -> str:
    initial = element.get("initial_option") or {}
    chosen = initial.get("value") if isinstance(initial, Mapping) else None
    placeholder = emojify(
        html.escape(_plain(element.get("placeholder")) or "Select an option"), markup=False
    )
    options = [f'<option value="" disabled{"" if chosen else " selected"}>{placeholder}</option>']
    for option in element.get("options") or []:
        value = str(option.get("value") or "")
        selected = " selected" if value == chosen else ""
        options.append(
            f'<option value="{html.escape(value)}"{selected}>'
            f"{emojify(html.escape(_plain(option.get('text'))), markup=False)}</option>"
        )
    return f'<select class="bk-select"{_ids(element, block)}>{"".join(options)}</select>'


def _checkboxes(element: Mapping[str, Any], block: Mapping[str, Any], names: Names) -> str:
    chosen = {
        str(option.get("value"))
        for option in element.get("initial_options") or []
        if isinstance(option, Mapping)
    }
    boxes = []
    for option in element.get("options") or []:
        value = str(option.get("value") or "")
        checked = " checked" if value in chosen else ""
        boxes.append(
            f'<label class="bk-checkbox"><input type="checkbox" value="{html.escape(value)}"'
            f"{checked}> {render_text(option.get('text'), names=names)}</label>"
        )
    return f'<div class="bk-checkboxes"{_ids(element, block)}>{"".join(boxes)}</div>'


def _image_element(element: Mapping[str, Any], block: Mapping[str, Any], names: Names) -> str:
    return _image_tag(element, css="bk-accessory-image")


_ELEMENTS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any], Names], str]] = {
    "button": _button,
    "plain_text_input": _text_input,
    "static_select": _static_select,
    "checkboxes": _checkboxes,
    "image": _image_element,
}


# --- helpers --------------------------------------------------------------------------


def _image_tag(element: Mapping[str, Any], *, css: str) -> str:
    url = str(element.get("image_url") or "")
    alt = html.escape(str(element.get("alt_text") or ""))
    if not _SAFE_URL.match(url) and not url.startswith("/"):
        return f'<span class="{css} bk-missing-image">[{alt or "image"}]</span>'
    return f'<img class="{css}" src="{html.escape(url)}" alt="{alt}">'


def _ids(element: Mapping[str, Any], block: Mapping[str, Any]) -> str:
    action_id = html.escape(str(element.get("action_id") or ""))
    block_id = html.escape(str(block.get("block_id") or ""))
    return f' data-action-id="{action_id}" data-block-id="{block_id}"'


def _block_id(block: Mapping[str, Any]) -> str:
    block_id = block.get("block_id")
    return f' data-block-id="{html.escape(str(block_id))}"' if block_id else ""


def _placeholder(element: Mapping[str, Any]) -> str:
    text = _plain(element.get("placeholder"))
    return f' placeholder="{emojify(html.escape(text), markup=False)}"' if text else ""


def _plain(text: Any) -> str:
    if isinstance(text, Mapping):
        return str(text.get("text") or "")
    return str(text or "")


def _kind(part: Any) -> str | None:
    kind = part.get("type") if isinstance(part, Mapping) else None
    return kind if isinstance(kind, str) else None


def _not_rendered(what: str, kind: str | None) -> str:
    name = html.escape(kind) if kind else "without a type"
    return (
        f'<div class="bk-not-rendered">This {what} ({name}) is not rendered by the '
        "playground: Slack would show it.</div>"
    )
