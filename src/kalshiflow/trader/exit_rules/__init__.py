"""Exit rules: one module per rule, run in priority order by ``registry.evaluate_exits``."""
