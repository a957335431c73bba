"""What gunicorn runs the app with: the worker class (see ``server.worker``)."""
