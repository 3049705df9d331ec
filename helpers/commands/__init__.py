"""One module per `ogi` subcommand: each defines ORDER and register(subparsers)."""
