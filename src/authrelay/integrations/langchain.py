"""Mirror of `authrelay_client.integrations.langchain`: the same objects, old import path."""

from authrelay_client.integrations.langchain import *  # noqa: F403
from authrelay_client.integrations.langchain import __all__ as __all__
