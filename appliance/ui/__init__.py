"""What the booth shows: view models from the flow, rendered by a display backend."""
