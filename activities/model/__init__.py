"""Model providers behind one streaming interface: Anthropic over HTTP, and the offline scripted model."""
