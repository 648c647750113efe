"""The `reciprocal` command: run a service, the embedded stack, the demo and the contract tools."""
