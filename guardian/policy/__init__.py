"""HR's duty policy: the model (pure) and the loader that reads `policies/*.yaml`."""
