"""Tools: every provider becomes tools that agents call with a user's account.

model.py (shapes and validation), binding.py (turning inputs into an HTTP request),
naming.py and generate.py (OpenAPI → tools), service.py (store, list, search, sync),
execute.py (`execute_tool`, through the proxy core), upstream.py (the upstream's errors).
"""

#: tools one OpenAPI import may create unless told otherwise (here so the CLI need not import
#: the generator to show its default)
DEFAULT_MAX_TOOLS = 1000
