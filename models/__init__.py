"""Data that crosses boundaries: tables, wire types, settings. Imports nothing else of turnflow."""
