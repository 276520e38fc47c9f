"""Mirror of `authrelay_client.models`: the same classes under their old import path."""

from authrelay_client.models import *  # noqa: F403
from authrelay_client.models import __all__ as __all__
