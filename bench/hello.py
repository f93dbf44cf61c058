"""The bare Flask "hello" the benchmark compares every page with, served by the same gunicorn setup."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The smallest page Flask can serve."""
    return "Hello, World!"
