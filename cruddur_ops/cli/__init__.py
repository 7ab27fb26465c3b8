"""The Typer CLI: thin commands that parse options, call the library and hand results to render."""
