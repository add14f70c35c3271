"""mallforum: the GraphQL community backend of an online mall."""
