"""The gRPC gateway: Scalekit's `scalekit.v1` methods served by mapping each call onto the REST
operation its `google.api.http` rule names, called in-process (docs/grpc.md)."""
