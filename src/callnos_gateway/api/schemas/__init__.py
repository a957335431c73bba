"""Marshmallow schemas of the HTTP API's edge: inbound requests and the answers' documented shapes."""
