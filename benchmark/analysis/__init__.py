"""Pure statistics: numbers and options in, named dataclasses out; imports no database, CLI or torch."""
