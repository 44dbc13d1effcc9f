"""The agent side: scheduled runs, the durable spool, anonymised submission, the tray.

It imports the engine and the report renderers, never the collector."""
