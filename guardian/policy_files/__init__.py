"""HR's policy files: read with every problem named by file and line (`loader`), and the
policy in force, watched and reloaded (`store`)."""
