"""The Streamlit pages app.py routes to; each is thin: read input, call the library, show the result."""

__all__: list[str] = []  # no face: app.py routes to each page by its file, and nothing imports a page
