"""Accounts: API tokens (obtain, rotate, revoke) and the web sign-in pages' helpers."""
