"""Ray actors, the catalogue driver and object storage (arrives with the catalogue transfer job)."""
