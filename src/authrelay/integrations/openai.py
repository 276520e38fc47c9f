"""Mirror of `authrelay_client.integrations.openai`: the same objects, old import path."""

from authrelay_client.integrations.openai import *  # noqa: F403
from authrelay_client.integrations.openai import __all__ as __all__
