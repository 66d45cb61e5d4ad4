"""Declared dependencies rendered into NetworkPolicies."""
