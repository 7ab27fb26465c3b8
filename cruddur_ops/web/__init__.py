"""`cruddur web`: the live single table in a browser. Routes (server.py), views (views.py) and templates
(templates.py) only; the library (ddb/, doctor/) does the work. Imported only when `cruddur web` runs."""
