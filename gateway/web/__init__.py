"""Server-rendered German pages."""
