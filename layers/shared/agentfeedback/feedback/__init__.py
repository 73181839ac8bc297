"""The public feedback flow: one entry per (run, user), written atomically."""
