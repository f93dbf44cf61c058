"""The audit log's words for swaps (registered in legalaid.audit.labels)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from legalaid.audit.labels import Choice, Detail, register, register_target, text
from legalaid.swaps.services import CHANGED_HANDS

register_target("swap_requests", _l("Swap"))
register(
    "swap.request",
    _l("Swap requested"),
    {"to": Detail(_l("Asked of"), Choice({"*": _l("any colleague")}))},
)
register("swap.accept", _l("Swap accepted by colleague"))
register("swap.decline", _l("Swap declined by colleague"))
register("swap.cancel", _l("Swap withdrawn"))
register(
    "swap.cancelled",
    _l("Swap cancelled (shift changed)"),
    {"why": Detail(_l("Why"), Choice({"shift changed": _l("the shift was changed by other means")}))},
)
register(
    "swap.approve",
    _l("Swap approved"),
    {
        "auto": Detail(
            _l("Approved by"),
            Choice(
                {
                    True: _l("the station itself (swaps are approved automatically)"),
                    False: _l("an administrator"),
                }
            ),
        )
    },
)
register("swap.reject", _l("Swap rejected"))
register(
    "swap.refuse",
    _l("Swap refused: the shift changed hands"),
    {
        "why": Detail(_l("Why"), Choice({CHANGED_HANDS: _l("the shift changed hands")})),
        "lawyer": Detail(_l("On duty now"), text),
    },
)
