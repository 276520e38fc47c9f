"""Mirror of `authrelay_client.integrations`: `authrelay.integrations.langchain` and
`authrelay.integrations.openai` re-export the client's modules of the same name (extras
`authrelay[langchain]` and `authrelay[openai]` pull `authrelay-client`'s). Importing this
package imports neither framework."""
