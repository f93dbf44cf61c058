"""The contract: schemathesis calls every operation of /api/v1/openapi.json on the app itself (WSGI, no
network) with a key of every scope — valid and invalid inputs, no key, wrong methods — and checks that
nothing answers 5xx and every answer matches the document (status, media type, headers, schema)."""

from __future__ import annotations

import pytest
import schemathesis
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config import TestConfig
from legalaid.api import cursors
from legalaid.api import services as api
from legalaid.api.models import SCOPES
from legalaid.extensions import db
from tests.api.conftest import NOW, seed_station

# A cursor is opaque and signed: a valid one (the first page) for the positive cases; an unsigned one
# is refused with 400, as the negative cases expect.
schemathesis.openapi.format(
    "cursor", st.sampled_from(["", URLSafeSerializer(TestConfig.SECRET_KEY, salt=cursors.SALT).dumps([])])
)


@pytest.fixture
def api_app(app, app_factory, make_station, make_lawyer):
    """Two stations with their March duty days and a key of every scope, served by a second app on the
    same database: each call gets its own app context, as in a real server (not the test body's)."""
    with time_machine.travel(NOW, tick=False):
        seed_station(make_station, make_lawyer, "甲站")
        seed_station(make_station, make_lawyer, "乙站")
        _key, plain = api.create_key("契约测试", list(SCOPES), rate_per_minute=api.RATE_MAX)
        db.session.commit()
    served = app_factory()
    served.config["CONTRACT_KEY"] = plain
    return served


@pytest.fixture
def api_schema(request, api_app):
    """The document as the app serves it."""
    # schemathesis 4.32 renames the test's node through `_nodeid`, which pytest 9 no longer has.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_matches_its_document(case, api_app):
    # A write's rules that JSON Schema cannot say (a slot that exists and is open, a name's characters
    # once cleaned, a reason that is more than spaces) refuse some schema-valid bodies with 422 and the
    # field: that one check is left out for the writes; every other check runs on every operation.
    excluded = [positive_data_acceptance] if case.method == "POST" else []
    # The key goes with every case, except one whose headers schemathesis made invalid on purpose (the
    # Authorization header among them): sending our key over it would turn the case into a valid request
    # (answered 200) that schemathesis still counts as invalid data accepted.
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    negated = headers is not None and headers.mode.is_negative
    key = {} if negated else {"Authorization": f"Bearer {api_app.config['CONTRACT_KEY']}"}
    with time_machine.travel(NOW, tick=True):
        case.call_and_validate(headers=key, excluded_checks=excluded)
