"""Executors and code generators: the run-time helpers, the interpreter, codegen and the array devices.

Imports only from irgraph.ir, never from `passes`, `viz` or the top layer.
"""
