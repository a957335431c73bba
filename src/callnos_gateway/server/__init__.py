"""What gunicorn runs the app with: the worker class (see ``callnos_gateway.server.worker``)."""
