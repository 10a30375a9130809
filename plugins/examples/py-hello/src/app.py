"""`py-hello`: the greeting widget of plugins/template, written in Python against the WIT world
`plugin` of `zellige:plugin@0.1.0` and componentized with componentize-py.

How componentize-py maps the contract: each exported interface is a class of this module named
after it (`Widget`, `Hooks`) with snake_case methods and record fields (`ctx.config_json`,
`draft.data_json`); a `result` is returned on success and raised as `Err(...)` on error;
variants are one dataclass per case (`PluginError_BadProps("...")`); enums are `Enum`s.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types

GREETINGS = {
    "ar": {"named": "مرحبا، {}!", "everyone": "مرحبا بالجميع!", "dir": "rtl"},
    "fr": {"named": "Bonjour {} !", "everyone": "Bonjour à toutes et à tous !", "dir": "ltr"},
}

ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def html_escape(text: str) -> str:
    """Escapes text for HTML element content and quoted attribute values."""
    return "".join(ESCAPES.get(c, c) for c in text)


def bad_props(message: str) -> Err:
    return Err(types.PluginError_BadProps(message))


def parse_props(props_json: str) -> str | None:
    """Checks the props of `greeting` and returns the name to greet, if any."""
    try:
        props = json.loads(props_json)
    except ValueError as e:
        raise bad_props(f"props: not JSON ({e})")
    if not isinstance(props, dict):
        raise bad_props("props: must be an object")
    for key in props:
        if key not in ("name", "locale"):
            raise bad_props(f"{key}: unknown prop")
    name = props.get("name")
    if name is None:
        return None
    if not isinstance(name, str):
        raise bad_props("name: must be a string")
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise bad_props("name: must be 1 to 100 characters")
    return name


def greeting(ctx: types.Context, props_json: str) -> types.Rendered:
    name = parse_props(props_json)
    # Every widget renders Arabic unless the reader's locale is French.
    lang = "fr" if ctx.locale.startswith("fr") else "ar"
    g = GREETINGS[lang]
    if name is None:
        text = inner = g["everyone"]
    else:
        text = g["named"].format(name)
        inner = g["named"].format(f"<bdi>{html_escape(name)}</bdi>")
    html = f'<p class="zpy-greeting" dir="{g["dir"]}" lang="{lang}">{inner}</p>'
    log.log(log.Level.INFO, f"greeting rendered in {lang} for tenant {ctx.tenant}")
    data = {"greeting": text, "language": "python"}
    return types.Rendered(
        html=html,
        data_json=json.dumps(data, ensure_ascii=False),
        cache_seconds=60,
    )


class Widget(exports.Widget):
    def render(self, ctx: types.Context, name: str, props_json: str) -> types.Rendered:
        if name == "greeting":
            return greeting(ctx, props_json)
        raise Err(types.PluginError_UnknownWidget(name))


class Hooks(exports.Hooks):
    def before_save(self, ctx: types.Context, draft: types.EntryDraft) -> str:
        """Saves the draft as it is."""
        return draft.data_json

    def after_publish(self, ctx: types.Context, published: types.Entry) -> None:
        """Nothing to do after a publication (and doing nothing is idempotent)."""
        return None
