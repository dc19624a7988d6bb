"""The `turnflow` command: the local stack, migrations, keys."""
