"""The test CAS server's routes: django-cas-server under /cas/."""

from django.urls import include, path

urlpatterns = [path("cas/", include("cas_server.urls", namespace="cas_server"))]
