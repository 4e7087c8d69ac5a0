"""The core: the op table, expressions and their algebra, the Graph, shapes, the parser and the Program.

Imports nothing from `passes`, `viz` or the top layer (irgraph/__init__.py, compiler.py, cli.py).
"""
