"""The per-app objects the views share, kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from callnos_gateway.upstream.api import UpstreamApi
from callnos_gateway.settings import Settings
from callnos_gateway.stores.dead_letters import DeadLetters
from callnos_gateway.stores.idempotency import IdempotencyStore, open_store
from callnos_gateway.stores.quotas import QuotaCounter
from callnos_gateway.api.schemas.center import CenterQuerySchema
from callnos_gateway.api.schemas.call_data import CallDataRequestSchema
from callnos_gateway.api.schemas.results import ResultRequestSchema
from callnos_gateway.api import metrics, protection_metrics
from callnos_gateway.api.protection_metrics import SharedStateCollector
from callnos_gateway.api.ledger_books import Books
from callnos_gateway.api.ledger_metrics import LedgerCollector
from callnos_gateway.api.inbound import KeyRing

EXTENSION = "callnos"


@dataclass
class Gateway:
    """Settings, the upstream API, inbound keys, the request schemas and the stores of one app."""

    settings: Settings
    upstream: UpstreamApi
    keys: KeyRing
    request_schema: CallDataRequestSchema
    center_schema: CenterQuerySchema
    result_schema: ResultRequestSchema
    idempotency: IdempotencyStore  # opens its file or connection on first use, after fork
    dead_letters: DeadLetters
    quotas: QuotaCounter  # opens its store on first use, after fork
    ledger: Books  # its store opens its file or connection on first use, after fork

    @classmethod
    def install(cls, app: Flask, settings: Settings) -> Gateway:
        """Build the objects once per app (no network, no thread)."""
        gateway = cls(
            settings=settings,
            upstream=UpstreamApi(settings, on_token_event=metrics.count_token_event,
                                 protection_events=protection_metrics.EVENTS),
            keys=KeyRing(settings.api_keys, settings.clients),
            request_schema=CallDataRequestSchema(
                max_batch=settings.max_batch, sub_cc_no=settings.sub_cc_no, vdn_id=settings.vdn_id
            ),
            center_schema=CenterQuerySchema(sub_cc_no=settings.sub_cc_no, vdn_id=settings.vdn_id),
            result_schema=ResultRequestSchema(
                sub_cc_no=settings.sub_cc_no, vdn_id=settings.vdn_id,
                time_format=settings.time_format, zone=settings.zone,
            ),
            idempotency=open_store(settings.idempotency_url),
            dead_letters=DeadLetters(settings.dead_letter_dir),
            quotas=QuotaCounter(settings.quota_url or "memory"),
            ledger=Books.from_settings(settings),
        )
        app.extensions[EXTENSION] = gateway
        scrape_time = app.extensions.setdefault(metrics.SCRAPE_TIME, [])  # deployment-wide gauges, read per scrape
        scrape_time.append(SharedStateCollector(gateway.upstream.guard.store))
        if gateway.ledger.store is not None:
            scrape_time.append(LedgerCollector(gateway.ledger.store, gateway.ledger.unknown_after))
        return gateway


def current_gateway() -> Gateway:
    """The gateway of the app handling this request."""
    return current_app.extensions[EXTENSION]
