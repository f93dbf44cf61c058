"""Flask extensions, created unbound and bound to an app in create_app()."""

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from legalaid.db import Base

db = SQLAlchemy(model_class=Base)
if TYPE_CHECKING:
    Model = Base  # what a type checker sees: the declarative base, with its typed columns
else:
    Model = db.Model  # at run time Flask-SQLAlchemy's subclass of it (binds, metadata, query)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
