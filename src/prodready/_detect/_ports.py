"""Which environment variable names hold the port the service itself listens on."""

from __future__ import annotations

import re

__all__ = ["listen_port_var"]

_PORT_VAR = re.compile(r"^(?:([A-Z][A-Z0-9]*)_)?PORT$")
# Ports of things the service connects to, not of the service.
_CLIENT_PREFIXES = frozenset(
    {
        "DB",
        "DATABASE",
        "PG",
        "POSTGRES",
        "POSTGRESQL",
        "MYSQL",
        "MARIADB",
        "MONGO",
        "MONGODB",
        "REDIS",
        "CACHE",
        "MEMCACHED",
        "SMTP",
        "MAIL",
        "EMAIL",
        "AMQP",
        "RABBITMQ",
        "RABBIT",
        "KAFKA",
        "NATS",
        "ELASTIC",
        "ELASTICSEARCH",
        "ES",
        "OTEL",
        "JAEGER",
        "STATSD",
        "LDAP",
    }
)


def listen_port_var(name: str) -> bool:
    """Whether an env var name looks like the service's own listen port (PORT, SERVER_PORT ...)."""
    match = _PORT_VAR.match(name)
    return bool(match) and match.group(1) not in _CLIENT_PREFIXES  # type: ignore[union-attr]
