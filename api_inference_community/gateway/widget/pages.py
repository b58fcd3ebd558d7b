"""The widget's two pages as HTML: the index (libraries, tasks, local models) and a model's page.

Pure functions of what they show: everything that comes from a card, a model id or a library is
escaped (`html`). The page's behaviour is in `static/widget.js`, driven by the `data-` attributes
written here (the form's task, endpoint and renderer; each field's path, kind and client argument).
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence
from urllib.parse import quote

from .assets import url
from .forms import MASK, Field, form_for
from .html import Safe, element, escape, join, render, void
from .login import Login
from .status import INVALID, TURNED_OFF, UNKNOWN, UNSUPPORTED, ModelView

REFUSAL_TITLES = {
    UNKNOWN: "Unknown model",
    INVALID: "Not a model id",
    TURNED_OFF: "Not served: inference is turned off",
    UNSUPPORTED: "Not served: no library serves this task",
}
REFUSAL_HELP = {
    UNKNOWN: "No model of this id is in the models directory nor in the Hub cache the gateway reads.",
    INVALID: "Model ids are written `org/name`: letters, digits, `-`, `_` and `.`.",
    TURNED_OFF: "The authors of this model turned the Inference API off in its card (`inference: false`).",
    UNSUPPORTED: "The card's library and task decide where a model is served; this pair is served by no image.",
}
MULTILINE = ("inputs", "inputs.context")  # text fields shown as text areas


def model_url(model_id: str, task: Optional[str] = None) -> str:
    path = "/models/" + quote(model_id, safe="/")
    return path + (f"?task={quote(task)}" if task else "")


def layout(title: str, body: Safe, script: bool = False) -> str:
    scripts = element("script", type="module", src=url("widget.js")) if script else Safe("")
    return render("layout.html", title=title, stylesheet=url("widget.css"), scripts=scripts, body=body)


# ------------------------------------------------------------------ the index


def library_rows(libraries: Mapping[str, Sequence[str]], pools: Mapping[str, str]) -> Safe:
    rows = []
    for library, tasks in sorted(libraries.items()):
        task_list = join((element("li", element("code", task)) for task in tasks), "")
        rows.append(
            element(
                "tr",
                join(
                    (
                        element("th", library, scope="row"),
                        element("td", element("ul", task_list, class_="tasks")),
                        element("td", pools.get(library, "")),
                    ),
                    "",
                ),
            )
        )
    return join(rows)


def model_rows(models: List[ModelView]) -> Safe:
    rows = []
    for view in models:
        verdict = "served" if view.served else REFUSAL_TITLES.get(view.refusal or "", "not served")
        link = element("a", view.model_id, href=model_url(view.model_id))
        cells = (
            element("th", link, scope="row"),
            element("td", view.details.title or ""),
            element("td", view.library or "—"),
            element("td", view.task or "—"),
            element("td", verdict, class_="served" if view.served else "refused"),
        )
        rows.append(element("tr", join(cells, ""), data_model=view.model_id))
    if not rows:
        rows.append(element("tr", element("td", "No models directory, or no model in it.", colspan=5)))
    return join(rows)


def index_page(libraries: Mapping[str, Sequence[str]], pools: Mapping[str, str], models: List[ModelView]) -> str:
    body = render("index.html", libraries=library_rows(libraries, pools), models=model_rows(models))
    return layout("Models served by this gateway", Safe(body))


# ------------------------------------------------------------------ a model


def field_control(field: Field, mask_token: str) -> Safe:
    """A field's label, control and help text."""
    default = field.default.replace(MASK, mask_token)
    help_id = f"{field.name}-help" if field.help else None
    data = {"data_path": field.path, "data_kind": field.kind, "data_arg": field.arg}
    common = {"id": field.name, "name": field.name, "aria_describedby": help_id, **data}
    label = element("label", field.label, for_=field.name)
    help_text = element("p", field.help, id=help_id, class_="help") if field.help else Safe("")
    if field.kind in ("image", "audio"):
        return media_control(field, label, help_text, common)
    if field.kind == "bool":
        control = void("input", type="checkbox", **common)
        return element("div", join((control, label, help_text), ""), class_="field checkbox")
    if field.kind == "choice":
        options = join((element("option", choice or "default", value=choice) for choice in field.choices), "")
        control = element("select", options, **common)
    elif field.kind in ("lines", "csv", "json") or (field.kind == "text" and field.path in MULTILINE):
        control = element("textarea", default, rows=4 if field.kind != "text" else 3, required=field.required, **common)
    elif field.kind in ("int", "float"):
        bounds = {"min": "1", "step": "1"} if field.kind == "int" else {"min": "0", "max": "1", "step": "any"}
        control = void("input", type="number", value=default or None, **bounds, **common)
    else:
        control = void("input", type="text", value=default, required=field.required, **common)
    return element("div", join((label, control, help_text), ""), class_="field")


def media_control(field: Field, label: Safe, help_text: Safe, common: Dict[str, Optional[str]]) -> Safe:
    """A file picker in a drop zone, a preview, a sample button (and recording, for audio)."""
    kind = field.kind
    picker = void("input", type="file", accept=f"{kind}/*", required=field.required, **common)
    preview = (
        void("img", id=f"{field.name}-preview", alt="The chosen image", hidden=True)
        if kind == "image"
        else element("audio", "", id=f"{field.name}-preview", controls=True, hidden=True)
    )
    sample = f"Use a sample {'image' if kind == 'image' else 'sound'}"
    buttons = [element("button", sample, type="button", class_="sample", data_sample=kind, data_target=field.name)]
    if kind == "audio":
        buttons.append(
            element("button", "Record", type="button", class_="record", data_target=field.name, aria_pressed="false")
        )
    chosen = element("p", "", id=f"{field.name}-chosen", class_="chosen", aria_live="polite")
    zone = element(
        "div",
        join((label, picker, help_text, element("div", join(buttons, " "), class_="buttons"), chosen, preview), ""),
        class_="field drop",
        data_drop=field.name,
    )
    return zone


def task_links(view: ModelView) -> Safe:
    """Links to the other tasks the model answers at its URL (embeddings: features and similarity)."""
    if not view.also:
        return Safe("")
    links = [
        element("a", task, href=model_url(view.model_id, None if task == view.card_task else task))
        for task in view.also
    ]
    return element("p", join((escape("Also try it for: "), join(links, ", ")), ""), class_="tasks-links")


def login_notice(login: Login) -> Safe:
    """What the page says of the gateway's tokens: nothing when they are off or the visitor is signed in."""
    if login.mode == "off" or login.signed_in:
        return Safe("")
    link = element("a", "Sign in", href=login.login_url) if login.login_url else escape("Sign in")
    if login.blocked:
        words = escape(" to try this model: this gateway takes calls with a token only.")
    else:
        words = escape(" to call with your token's limits; without, calls get the anonymous limits.")
    return element("p", join((link, words), ""), id="login", class_="notice", role="note")


def widget(view: ModelView, explicit: bool, login: Login) -> Safe:
    assert view.task is not None
    form = form_for(view.task)
    endpoint = f"/pipeline/{view.task}/{view.model_id}" if explicit else f"/models/{view.model_id}"
    fields = join(field_control(field, view.details.mask_token or "[MASK]") for field in form.fields)
    return Safe(
        render(
            "widget.html",
            decision=view.reason,
            links=task_links(view),
            login=login_notice(login),
            fields=fields,
            task=view.task,
            endpoint=quote(endpoint, safe="/"),
            model_id=view.model_id,
            renderer=form.renderer,
            client_method=form.client_method or "",
            auth="token" if login.mode == "required" else "",
        )
    )


def model_page(view: ModelView, explicit: bool, login: Login) -> str:
    """The page of a model: its card's facts, its status, then its widget or why there is none."""
    if view.served:
        assert view.state is not None
        status, state = view.state.words, view.state.name
        estimate = "" if view.state.estimated_time is None else f"{view.state.estimated_time:.1f}"
        main = widget(view, explicit, login)
    else:
        status, state, estimate = REFUSAL_TITLES[view.refusal or UNSUPPORTED], "refused", ""
        main = Safe(
            render("refusal.html", title=status, reason=view.reason, help=REFUSAL_HELP[view.refusal or UNSUPPORTED])
        )
    body = render(
        "model.html",
        title=view.title,
        model_id=view.model_id,
        library=view.library or "—",
        task=view.task or "—",
        status=status,
        state=state,
        estimate=estimate,
        main=main,
    )
    return layout(f"{view.title} — inference widget", Safe(body), script=view.served)
