"""Test support for the Red JUNTOS backend: real servers for pytest, and a Docker probe."""

from juntos_testing.docker import docker_available

__all__ = ["docker_available"]
