"""manager.services package."""
