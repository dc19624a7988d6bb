"""Per-session sandboxes: where the agent's commands run, isolated from the host and from other sessions."""
