"""A real CAS 3.0 server (django-cas-server) for placemat's sign-in tests.

    python serve.py PORT USERS_JSON

USERS_JSON lists the people who may sign in: [{"username", "password", "email"}]. The
server keeps its tickets in a SQLite file of its own in a temporary folder, accepts every
service on 127.0.0.1 and releases the email attribute, and stops when its standard input
closes, so that it never outlives the test process that started it.
"""

import json
import os
import socketserver
import sys
import tempfile
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

folder = tempfile.mkdtemp(prefix="placemat-cas-")
port = int(sys.argv[1])
people = json.loads(sys.argv[2])

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="placemat-test-cas",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF="urls",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "cas_server",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.locale.LocaleMiddleware",
    ],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(folder, "cas.sqlite3"),
        }
    },
    STATIC_URL="/static/",
    USE_TZ=True,
    CAS_NEW_VERSION_HTML_WARNING=False,
    CAS_NEW_VERSION_EMAIL_WARNING=False,
    CAS_SHOW_POWERED=False,
    CAS_AUTH_CLASS="cas_server.auth.DjangoAuthUser",
)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
django.setup()

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

call_command("migrate", verbosity=0, interactive=False)

from cas_server.models import ReplaceAttributName, ServicePattern

pattern = ServicePattern.objects.create(
    pos=1, name="placemat", pattern=r"^http://127\.0\.0\.1(:\d+)?/.*$"
)
ReplaceAttributName.objects.create(name="email", service_pattern=pattern)
for person in people:
    User.objects.create_user(person["username"], person["email"], person["password"])


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


httpd = make_server(
    "127.0.0.1", port, get_wsgi_application(), server_class=Server, handler_class=QuietHandler
)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
