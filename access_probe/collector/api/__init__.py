"""HTTP routes, thin: each parses, calls the library (repo, aggregate, control), and answers."""
