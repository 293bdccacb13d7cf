"""Registry of teams, products, environments, customers and tag aliases."""
