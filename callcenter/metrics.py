"""Prometheus metrics: one registry per application, `GET /metrics`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "contactdesk_http_requests",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "contactdesk_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.telegram_rejected_updates = Counter(
            "contactdesk_telegram_rejected_updates",
            "Telegram updates answered 200 and kept in telegram_rejected_updates: "
            "unreadable, or taken by no handler",
            registry=self.registry,
        )

    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def measure(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            # The route's pattern, never the raw path: ids and phone numbers stay out of labels.
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as error:
                status = error.status
                raise
            finally:
                self.requests.labels(request.method, route, str(status)).inc()
                self.latency.labels(route).observe(time.perf_counter() - started)

        return measure

    async def handle(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        response = web.Response(body=body)
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response
