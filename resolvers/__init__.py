"""Resolvers: what each operation does, one module per area, taking the request context."""
