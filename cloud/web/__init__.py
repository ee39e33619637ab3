"""Server-rendered web apps of the cloud (Jinja2 templates, every asset served by the app)."""
