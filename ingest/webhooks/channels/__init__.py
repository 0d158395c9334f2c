"""One adapter module per provider, each with pure ``verify`` and ``parse`` functions."""
