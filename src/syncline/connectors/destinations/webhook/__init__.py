"""The webhook destination: rows as JSON requests to an HTTP endpoint, signed and retried."""

from syncline.connectors.destinations.webhook.destination import WebhookDestination, describe
from syncline.connectors.destinations.webhook.signing import verify
from syncline.connectors.destinations.webhook.spec import WebhookConfig

__all__ = ["WebhookConfig", "WebhookDestination", "describe", "verify"]
