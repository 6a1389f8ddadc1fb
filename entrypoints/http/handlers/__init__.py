"""Route handlers, one module per context, each with its route table (``routes``); the tables an app
serves are listed in ``entrypoints/http/routes.py``."""
