"""callnos-gateway: a clean JSON gateway in front of Huawei AICC iSales' outbound-call interfaces.

The package is laid out by concern (docs/ARCHITECTURE.md draws the map):
``settings`` (every ``CALLNOS_*`` variable, validated once), ``upstream``
(the OBS interfaces, the transport and the token lifecycle), ``records``
(ieData and normalisation: pure, no Flask, no network), ``stores`` (the
shared token and idempotency stores), ``api`` (the Flask app's routes,
problems, metrics), ``telemetry`` (logs and their redaction), ``server``
(gunicorn's worker and config), ``cli`` and ``simulator``.
"""
