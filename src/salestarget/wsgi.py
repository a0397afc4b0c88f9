import os

from django.core.wsgi import get_wsgi_application

from salestarget import config

# Before anything is opened: the SQLite file, its -wal/-shm and uploads are the owner's alone
# (settings.py does the same; this covers a deployment's own settings module too).
config.private_files()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
# The server is about to use the data directory: create it (reading settings writes nothing).
config.prepare(config.load())
application = get_wsgi_application()
