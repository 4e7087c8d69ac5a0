def test_infra():
    import graphviz  # noqa: F401
    import networkx  # noqa: F401
    import numpy  # noqa: F401
