import os

from django.core.wsgi import get_wsgi_application

from salestarget.config import private_files

# Before anything is opened: the SQLite file, its -wal/-shm and uploads are the owner's alone
# (settings.py does the same; this covers a deployment's own settings module too).
private_files()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salestarget.settings")
application = get_wsgi_application()
