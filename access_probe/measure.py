"""Measure one URL step by step (DNS, TCP, [proxy CONNECT], TLS, HTTP), recording every step.

Never raises for network conditions: they are recorded as `failure` names.
"""
