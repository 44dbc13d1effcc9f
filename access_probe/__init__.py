"""access-probe: measure reachability of social media and Knowledge Hub from council networks.

The library is usable on its own; the CLI, tray and collector are thin shells over it.
"""

import logging

__version__ = "0.1.0"
# Distinctive, so council IT can recognise (and allow-list) the probe in their proxy logs.
USER_AGENT = (
    f"access-probe/{__version__} (+https://www.local.gov.uk/access-probe; reachability study)"
)

logging.getLogger(__name__).addHandler(logging.NullHandler())
