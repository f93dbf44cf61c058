"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi …`."""

import sys

from config import ConfigError
from legalaid import create_app

# Exit status of a configuration error. 4 is also what gunicorn's arbiter reads as "the application
# failed to load": it stops, instead of starting one worker after another that cannot start either.
CONFIG_ERROR_STATUS = 4

try:
    app = create_app()
except ConfigError as error:
    # A wrong or missing setting is the operator's to fix: one line saying which, not a traceback.
    print(f"legalaid: configuration error: {error}", file=sys.stderr)
    sys.exit(CONFIG_ERROR_STATUS)
