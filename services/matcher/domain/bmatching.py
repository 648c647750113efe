"""Maximum-weight b-matching (each node v in at most cap[v] edges) by reduction to ordinary
maximum-weight matching, solved exactly by rustworkx's blossom algorithm.

Reduction: node v becomes min(cap[v], degree[v]) copies. An edge with a capacity-1 end joins
every copy of one end to every copy of the other; it cannot be used twice because one end has a
single copy. An edge e = (u, v) with both capacities >= 2 becomes the gadget
u_i - e_u - e_v - v_j with weight w on every gadget edge: a maximum matching either takes the
middle edge (w, e unused) or both outer edges (2w, e used), so the matching's weight is
sum(gadget w) + the b-matching's weight, and optima correspond one to one. Weights must be
non-negative integers (scale floats first).

Connected components are independent, so each is solved on its own; that is still exact.
"""

import numpy as np
import rustworkx as rx
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def max_weight_bmatching(edges: np.ndarray, weights: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Indices into `edges` (m x 2 node ids) of a maximum-weight b-matching."""
    n = len(capacity)
    if len(edges) == 0:
        return np.zeros(0, dtype=np.int64)
    adjacency = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, label = connected_components(adjacency, directed=False)
    edge_label = label[edges[:, 0]]
    order = np.argsort(edge_label, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_label[order])) + 1
    chosen = []
    for part in np.split(order, bounds):
        nodes, local = np.unique(edges[part], return_inverse=True)
        chosen.append(part[_component(local.reshape(-1, 2), weights[part], capacity[nodes])])
    return np.sort(np.concatenate(chosen))


def _component(edges: np.ndarray, weights: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    m = len(edges)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    degree = np.bincount(edges.ravel(), minlength=len(capacity))
    cap = np.minimum(capacity, degree)
    base = np.concatenate([[0], np.cumsum(cap)])
    next_node = int(base[-1])
    graph_edges: list[tuple[int, int, int]] = []
    direct: dict[tuple[int, int], int] = {}
    gadgets: list[tuple[int, int, int]] = []  # (edge index, e_u node, e_v node)
    copies_of = {}
    for e in range(m):
        u, v = int(edges[e, 0]), int(edges[e, 1])
        w = int(weights[e])
        if cap[u] == 0 or cap[v] == 0 or w <= 0:
            continue
        cu = copies_of.get(u) or copies_of.setdefault(u, range(base[u], base[u + 1]))
        cv = copies_of.get(v) or copies_of.setdefault(v, range(base[v], base[v + 1]))
        if cap[u] == 1 or cap[v] == 1:
            for a in cu:
                for b in cv:
                    direct[(a, b) if a < b else (b, a)] = e
                    graph_edges.append((a, b, w))
        else:
            x, y = next_node, next_node + 1
            next_node += 2
            gadgets.append((e, x, y))
            graph_edges.extend((a, x, w) for a in cu)
            graph_edges.append((x, y, w))
            graph_edges.extend((y, b, w) for b in cv)
    graph = rx.PyGraph()
    graph.add_nodes_from(range(next_node))
    graph.add_edges_from(graph_edges)
    mate: dict[int, int] = {}
    for a, b in rx.max_weight_matching(graph, weight_fn=lambda w: w):
        mate[a], mate[b] = b, a
    chosen = [direct[(a, b)] for a, b in mate.items() if a < b and (a, b) in direct]
    top = int(base[-1])
    chosen.extend(e for e, x, y in gadgets if mate.get(x, top) < top and mate.get(y, top) < top)
    return np.array(sorted(set(chosen)), dtype=np.int64)
