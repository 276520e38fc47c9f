"""The web dashboard (SPEC §11), served by the same process at `/dashboard`.

`mount.install(app)` adds it to the server; `users` (accounts, sessions, sign-in limits) is
also used by the `authrelay admin` commands, which is why this package imports nothing on
its own."""
