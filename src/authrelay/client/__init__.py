"""Mirror of `authrelay_client` (the `authrelay-client` distribution), kept so that code
written against `authrelay.client` keeps working: the same objects, not copies."""

from authrelay_client import *  # noqa: F403
from authrelay_client import __all__ as __all__
