"""The procedural task families, one module each."""
