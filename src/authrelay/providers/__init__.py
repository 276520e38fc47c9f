"""Provider definitions: the model, validation, identifiers, the built-in catalog, the service."""
