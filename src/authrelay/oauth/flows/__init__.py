"""Authorization links and what follows them (SPEC §7): the magic link (`link`), opening it
(`authorize`: an OAuth redirect or a hosted form), the hosted form's submission (`form`),
the callback (`callback`), and user verification (`verification`). Each step is
single-use: a compare-and-swap on the flow's status (`store.flows.claim`).

The names below are what the routes, the dashboard and MCP use."""

from authrelay.oauth.flows.authorize import open_link
from authrelay.oauth.flows.callback import callback
from authrelay.oauth.flows.form import submit_form
from authrelay.oauth.flows.link import MagicLinkRequest, create_magic_link
from authrelay.oauth.flows.pages import LINK_PATH, Page, done_page, error_page, form_page
from authrelay.oauth.flows.verification import VerifyRequest, done, verify_user

__all__ = [
    "LINK_PATH",
    "MagicLinkRequest",
    "Page",
    "VerifyRequest",
    "callback",
    "create_magic_link",
    "done",
    "done_page",
    "error_page",
    "form_page",
    "open_link",
    "submit_form",
    "verify_user",
]
