"""Per-user notifications. The models arrive with the notifications feature."""
