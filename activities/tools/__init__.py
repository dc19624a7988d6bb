"""Tools the model can call, each declared by a JSON schema and run as its own activity."""
