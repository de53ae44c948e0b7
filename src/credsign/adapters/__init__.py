"""Adapters: thin bridges from signers to HTTP clients (httpx, requests)."""
