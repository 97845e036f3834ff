"""The reception agent's function tools and the per-call context they work in."""
