"""Pre-trade risk gate: pure checks, one module each, run in order by ``gate.check_order``."""
