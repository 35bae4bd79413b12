"""Fake versions of the networks Guardian reads, served on loopback for the tests."""
