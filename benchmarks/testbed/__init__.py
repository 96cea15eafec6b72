"""Emulated-cluster testbed: validates simsgp timing predictions against real TCP (see README.md)."""
