"""Fuzz harnesses and their runner (issue #11 item 26; docs/fuzzing.md)."""
