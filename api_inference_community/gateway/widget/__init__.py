"""The inference widget: a page per model to try it in the browser, and an index of the served models.

`routes(json_index, json_model_status)` gives the gateway its browser routes (`GET /`,
`GET /models/{id}` with `Accept: text/html`, `GET /widget/static/{name}`); other clients keep the
JSON answers. `status` makes the gateway's decision for a page, `forms` holds every task's form,
`pages` renders them (templates in `templates/`, the script and style sheet in `static/`),
`security` sets the Content-Security-Policy, `login` is the hook to the tokens' login.
"""

from .routes import routes

__all__ = ["routes"]
