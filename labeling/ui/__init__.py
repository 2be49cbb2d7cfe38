"""Streamlit only: the pages, their parts and the Label page's canvas geometry."""
