"""The embedded sandbox: a real Salt cluster in network namespaces."""
