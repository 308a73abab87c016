"""The web fixtures (a signed-in site on each database) for the subject pages."""

from tests.web.conftest import _fast_password_hashing, site  # noqa: F401
