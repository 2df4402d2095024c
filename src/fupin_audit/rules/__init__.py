"""Built-in rule packs. Each module registers through the `fupin_audit.rules` entry-point group."""
