"""The only reader of ambient network state: proxy (explicit, environment, PAC/WPAD),
resolver, trust stores. Everything else receives a `NetEnv` and never looks at the
environment itself, so a result never depends on state that was not recorded.
"""
