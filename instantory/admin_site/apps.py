"""django.contrib.admin with InstantoryAdminSite as the default site: INSTALLED_APPS lists this config."""

from django.contrib.admin.apps import AdminConfig


class InstantoryAdminConfig(AdminConfig):
    default_site = "instantory.admin_site.sites.InstantoryAdminSite"
