"""One module per `fairshare` subcommand: add_arguments(parser), run(args)."""
