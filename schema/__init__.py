"""The GraphQL schema: Strawberry types, inputs, payloads and enums, one module per area."""
