"""Agent framework glue on the SDK: `authrelay_client.integrations.langchain` (LangChain
`StructuredTool`s, extra `authrelay-client[langchain]`) and `authrelay_client.integrations.openai`
(the OpenAI function-calling format and a runner for the model's tool calls, extra
`authrelay-client[openai]`). Importing this package imports neither framework."""
