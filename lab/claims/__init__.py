"""Claims: each experiment beside the check(s) that judge it, one module per concept."""
