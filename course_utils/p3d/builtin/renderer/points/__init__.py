"""Point-cloud rendering pieces of the built-in renderer."""
