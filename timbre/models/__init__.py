"""Model protocols, built-in models, their tiny twins and bundle loading."""
