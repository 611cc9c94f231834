"""manager.store package."""
