"""The HTTP API's request and response schemas (django-ninja), by area; api.schemas has
what they are built from."""
