"""The web side: the Flask app, its pages and API, answer cache, OpenAPI description and diagrams."""
