"""Settings for the test suite: the real settings with test-only defaults set first.

The environment is still read by instantory.settings; these defaults only fill what the test
command does not set, and a developer's .env is ignored.
"""

import os

os.environ["INSTANTORY_IGNORE_DOTENV"] = "1"
os.environ.setdefault("SECRET_KEY", "instantory-test-only-secret-key")
os.environ.setdefault("STORAGE_BACKEND", "local")
# One copy per file unless a test asks for replicas (most tests count the objects on each backend).
os.environ.setdefault("STORAGE_REPLICAS", "1")
# No probe objects written by every worker a test starts; the start-up warning has its own test.
os.environ.setdefault("STORAGE_STARTUP_CHECK", "0")

from instantory.settings import *  # noqa: F403
from instantory.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# One test database per pytest process, so concurrent runs on the shared embedded server don't
# collide; worker processes started by the tests are pointed at it explicitly.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("INSTANTORY_TEST_DB", f"test_instantory_{os.getpid()}")}
