"""Thin request handlers: parse, ask the backend, encode, respond."""
