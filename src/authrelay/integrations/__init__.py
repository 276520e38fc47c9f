"""Agent framework glue on the SDK: `authrelay.integrations.langchain` (LangChain
`StructuredTool`s, extra `authrelay[langchain]`) and `authrelay.integrations.openai` (the
OpenAI function-calling format and a runner for the model's tool calls, extra
`authrelay[openai]`). Importing this package imports neither framework."""
