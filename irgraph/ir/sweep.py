"""The reverse sweep: reverse accumulation over a DAG, written once.

Its users differ only in what a node is and how pieces are made and added: expressions (partials of an
equation's right-hand side, printed and drawn), graph nodes (the adjoint pass builds the backward graph).
"""


def reverse_sweep(order, root, seed, pullback, combine):
    """{node: adjoint} for the nodes the root's gradient reaches, iteratively.

    order: the nodes in topological order (operands before their users), root among them;
    pullback(node, adjoint) -> [(operand, piece), ...]: what the node passes to each operand;
    combine(node, pieces) -> adjoint: the pieces a node received, added up (in the order they came).
    """
    received = {root: [seed]}
    adjoint = {}
    for v in reversed(order):
        pieces = received.pop(v, None)
        if pieces is None:
            continue
        adjoint[v] = combine(v, pieces)
        for u, piece in pullback(v, adjoint[v]):
            received.setdefault(u, []).append(piece)
    return adjoint
