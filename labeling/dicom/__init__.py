"""Pixels without a database: sources, header read/validate, frames, display pipeline, header rows."""
