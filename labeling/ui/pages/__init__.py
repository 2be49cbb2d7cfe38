"""The Streamlit pages app.py routes to; each is thin: read input, call the library, show the result."""
