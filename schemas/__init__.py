"""Marshmallow schemas: the inbound request, the upstream's answers, the clean payload."""
