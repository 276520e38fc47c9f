"""The OpenAPI document (`/openapi.json`) and the interactive API docs (`/docs`)."""
