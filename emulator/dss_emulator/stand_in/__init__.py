"""The packages recipe code imports when the emulator runs it (a `dataiku` stand-in)."""
